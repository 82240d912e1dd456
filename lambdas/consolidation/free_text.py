"""Free text: the answer closest to all the others.

Workers answer each item with a string (``crowd-input``, ``crowd-text-area``: transcriptions,
short answers, corrections). Answers are compared after normalisation:

* ``"casefold-whitespace"`` (default): Unicode NFKC, case folding, every run of whitespace
  collapsed to one space, leading and trailing whitespace removed; so ``"Main  St."`` and
  ``"main st."`` are the same answer;
* ``"exact"``: the text as given.

The similarity of two normalised answers is ``1 - d / max(len(a), len(b))`` where ``d`` is
their Levenshtein distance (insertions, deletions and substitutions of code points, each costing
1), and two empty strings are identical (similarity 1). The distance is computed with the
bit-parallel algorithm of Myers (1999) in Hyyrö's formulation (2001), with Python integers as
bit vectors: ``O(len(a) * len(b) / 64)`` word operations, about 5 ms for two 2,000-character
answers. ``difflib.SequenceMatcher.ratio`` was not used: its result can depend on the order of
its arguments, and on texts of 200 characters or more its "autojunk" heuristic ignores frequent
characters, which distorts exactly the long transcriptions this module compares.

Each answer's *agreement* is its skill-weighted mean similarity to the other answers. The
answer with the highest agreement wins and its original text is the consensus value; its
agreement is the confidence. Ties (within ``1e-9``) go to the smallest normalised form, then the
smallest original text (code-point order), so the result does not depend on answer order.

Skill is estimated in two passes: unweighted agreement first; then each worker's skill is their
mean similarity to that consensus over the items they shared with at least one other worker,
smoothed towards ``initial_skill`` and their ``prior`` accuracy::

    skill = (sum of similarities + skill_smoothing * initial_skill + prior_strength * prior)
            / (items compared + skill_smoothing + prior_strength)

(the prior terms only for workers in ``prior``), and agreement is recomputed with the skills
(floored at 0.01) as weights (``weighting="skill"``). Only *decided* items feed the skill
estimate: items where the first pass reached ``min_agreement`` without a tie between different
answers. A tie is settled by the tie rule, and crediting the worker who happens to match it
would let them win every later disagreement (two workers who disagree therefore stay equal).

Empty answers (empty or whitespace-only text; ``crowd-input`` omits an empty field, which the
adapter passes as ``""``) follow ``empty_answers``: ``"vote"`` (default) counts them as the
answer ``""`` (workers may agree that there is nothing to write, giving the consensus ``""``),
``"ignore"`` leaves them out and reports how many there were; an item with only empty answers
is then a no-consensus.

When the best agreement is below ``min_agreement`` the item is a no-consensus ("answers
disagree") with the normalised answers in the evidence. An item answered by a single worker has
nothing to agree with: its value is that answer, its confidence the worker's ``prior``
accuracy, or 0.0 without a prior, and ``min_agreement`` does not apply.

References: G. Myers, "A fast bit-vector algorithm for approximate string matching based on
dynamic programming", J. ACM 46(3), 1999; H. Hyyrö, "Explaining and extending the bit-parallel
approximate string matching algorithm of Myers", 2001.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from consolidation._common import (
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    NoConsensus,
    Outcome,
    TaskId,
    WorkerId,
    WorkerSkill,
    clamp_unit,
    round_confidence,
)
from consolidation._grouping import (
    agreement_skills,
    check_choice,
    check_skill_smoothing,
    group_answers,
    prior_accuracy,
    smoothed_weights,
)

__all__ = [
    "EmptyAnswerPolicy",
    "FreeTextConsolidator",
    "Normalisation",
    "SkillWeighting",
    "TextAnswer",
    "levenshtein",
    "normalise_text",
    "similarity",
]

Normalisation = Literal["casefold-whitespace", "exact"]
EmptyAnswerPolicy = Literal["vote", "ignore"]
SkillWeighting = Literal["skill", "equal"]

_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class TextAnswer:
    """One worker's text for one item."""

    task_id: TaskId
    worker_id: WorkerId
    text: str


def normalise_text(text: str, normalisation: Normalisation = "casefold-whitespace") -> str:
    """The form in which answers are compared (see the module docstring).

    Whitespace-only text is empty (``""``) under both normalisations.

    Example:
        >>> normalise_text("  \\uff2dain\\tSt. ")
        'main st.'
    """
    if not text.strip():
        return ""
    if normalisation == "exact":
        return text
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def levenshtein(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b`` in code points.

    Example:
        >>> levenshtein("kitten", "sitting")
        3
    """
    if a == b:
        return 0
    # Common prefix and suffix never change the distance.
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    # Bit-parallel dynamic programming: bit i of pv/mv says the DP column steps by +1/-1 at row i.
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def similarity(a: str, b: str) -> float:
    """``1 - levenshtein(a, b) / max(len(a), len(b))``; 1.0 for two empty strings."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(a, b) / longest


@dataclass(frozen=True, slots=True)
class _Item:
    """One item's answers: ``workers``/``texts``/``forms`` are the voting answers, ``answered``
    maps every answering worker (empty answers included) to their normalised text."""

    task_id: TaskId
    workers: list[WorkerId]
    texts: list[str]
    forms: list[str]
    answered: dict[WorkerId, str]
    rejected: str | None = None

    @property
    def empty(self) -> int:
        return sum(1 for form in self.answered.values() if not form)


@dataclass(frozen=True, slots=True)
class _Choice:
    index: int
    agreement: float
    tied: bool = False


@dataclass(frozen=True, kw_only=True)
class FreeTextConsolidator:
    """Closest-to-consensus free text (see the module docstring).

    Attributes:
        normalisation: how answers are compared: ``"casefold-whitespace"`` or ``"exact"``.
        min_agreement: the lowest agreement accepted as consensus, in [0, 1].
        empty_answers: ``"vote"`` (empty answers take part as ``""``) or ``"ignore"``.
        weighting: ``"skill"`` weights workers by estimated skill in the second pass;
            ``"equal"`` keeps every answer at weight 1 (``prior`` then only sets the
            confidence of single-worker items).
        prior_strength: how many items' worth of evidence a worker's ``prior`` accuracy counts
            for when blended with this run's similarity.
        skill_smoothing: pseudo-items at ``initial_skill`` added to every worker's skill.
        initial_skill: the skill assumed before any evidence, in [0, 1].
        name: the method name written to outputs.

    Example:
        >>> run = FreeTextConsolidator().aggregate(
        ...     [TextAnswer("q", "w1", "Main St."), TextAnswer("q", "w2", "main st."),
        ...      TextAnswer("q", "w3", "Main Street")])
        >>> run.outcomes[0].value
        'Main St.'
    """

    normalisation: Normalisation = "casefold-whitespace"
    min_agreement: float = 0.5
    empty_answers: EmptyAnswerPolicy = "vote"
    weighting: SkillWeighting = "skill"
    prior_strength: float = 2.0
    skill_smoothing: float = 2.0
    initial_skill: float = 0.7
    name: str = "closest-text"

    def __post_init__(self) -> None:
        check_choice("normalisation", self.normalisation, get_args(Normalisation))
        check_choice("empty_answers", self.empty_answers, get_args(EmptyAnswerPolicy))
        check_choice("weighting", self.weighting, get_args(SkillWeighting))
        if not 0.0 <= self.min_agreement <= 1.0:
            raise ConsolidationError(f"min_agreement must be in [0, 1], got {self.min_agreement}")
        check_skill_smoothing(
            prior_strength=self.prior_strength,
            skill_smoothing=self.skill_smoothing,
            initial_skill=self.initial_skill,
        )

    def aggregate(
        self,
        answers: Iterable[TextAnswer],
        *,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate text answers into one text per item.

        Args:
            answers: one record per worker answer.
            prior: skill from earlier jobs, blended into the weights and used as the
                confidence of single-worker items.

        Returns:
            One outcome per item, in order of first appearance. A :class:`Consensus` has
            ``value`` = the chosen answer's original text (``""`` when the consensus is an
            empty answer) and ``evidence = {"workers": int, "answers": {worker: normalised
            text, "" for an empty answer}, "empty": int}`` (plus ``"single_answer": True``
            when only one answer votes); a :class:`NoConsensus` for disagreement or for only
            empty answers carries the same evidence. An item where a worker answered twice is
            a :class:`NoConsensus` naming the worker. Every worker gets a :class:`WorkerSkill`
            whose ``accuracy`` is their mean similarity to the consensus over the items they
            shared with others that reached consensus (the prior accuracy, or 0.0, when there
            are none); ``metrics`` holds ``"compared"`` and, when compared > 0,
            ``"mean_similarity"``.

        Raises:
            ConsolidationError: an answer whose text is not a string, naming the item.
        """
        items, worker_order = self._collect(answers)
        shared = [it for it in items if it.rejected is None and len(it.forms) > 1]
        cache: dict[tuple[str, str], float] = {}
        weights = dict.fromkeys(worker_order, 1.0)
        choices = {it.task_id: _choose(it, weights, cache) for it in shared}
        if self.weighting == "skill" and shared:
            decided = [
                it
                for it in shared
                if not choices[it.task_id].tied
                and choices[it.task_id].agreement >= self.min_agreement - _TIE_TOLERANCE
            ]
            observed = self._agreement(decided, choices, cache)
            weights = smoothed_weights(
                worker_order,
                observed,
                prior,
                smoothing=self.skill_smoothing,
                initial=self.initial_skill,
                prior_strength=self.prior_strength,
            )
            choices = {it.task_id: _choose(it, weights, cache) for it in shared}

        accepted = {
            task: choice
            for task, choice in choices.items()
            if choice.agreement >= self.min_agreement - _TIE_TOLERANCE
        }
        outcomes: list[Outcome] = []
        used = dict.fromkeys(worker_order, 0)
        for item in items:
            if item.rejected is None:
                for worker in item.workers:
                    used[worker] += 1
            outcomes.append(self._outcome(item, accepted, choices, prior))
        compared = [it for it in shared if it.task_id in accepted]
        return ConsolidationRun(
            outcomes=outcomes,
            workers=agreement_skills(
                worker_order,
                used,
                self._agreement(compared, accepted, cache),
                prior,
                metric="mean_similarity",
            ),
            method=self.name,
            diagnostics={
                "normalisation": self.normalisation,
                "min_agreement": self.min_agreement,
                "empty_answers": self.empty_answers,
                "weighting": self.weighting,
                "weights": weights,
            },
        )

    # -- steps ------------------------------------------------------------------------------

    def _collect(self, answers: Iterable[TextAnswer]) -> tuple[list[_Item], list[WorkerId]]:
        groups, worker_order = group_answers(answers)
        items: list[_Item] = []
        for group in groups:
            item = _Item(group.task_id, [], [], [], {}, group.rejected)
            for answer in group.answers:
                if not isinstance(answer.text, str):
                    raise ConsolidationError(
                        f"worker {answer.worker_id!r}: answer must be text, got "
                        f"{type(answer.text).__name__}",
                        task_id=answer.task_id,
                    )
                form = normalise_text(answer.text, self.normalisation)
                item.answered.setdefault(answer.worker_id, form)
                if form or self.empty_answers == "vote":
                    item.workers.append(answer.worker_id)
                    item.texts.append(answer.text if form else "")
                    item.forms.append(form)
            items.append(item)
        return items, list(worker_order)

    def _agreement(
        self,
        items: Sequence[_Item],
        choices: Mapping[TaskId, _Choice],
        cache: dict[tuple[str, str], float],
    ) -> dict[WorkerId, list[float]]:
        table: dict[WorkerId, list[float]] = {}
        for item in items:
            chosen = item.forms[choices[item.task_id].index]
            for worker, form in zip(item.workers, item.forms, strict=True):
                table.setdefault(worker, []).append(_similar(form, chosen, cache))
        return table

    def _outcome(
        self,
        item: _Item,
        accepted: Mapping[TaskId, _Choice],
        choices: Mapping[TaskId, _Choice],
        prior: Mapping[WorkerId, WorkerSkill] | None,
    ) -> Outcome:
        task = item.task_id
        if item.rejected is not None:
            return NoConsensus(task, item.rejected, {"workers": len(item.answered)})
        evidence: dict[str, Any] = {
            "workers": len(item.answered),
            "answers": dict(item.answered),
            "empty": item.empty,
        }
        if not item.forms:
            return NoConsensus(task, "all answers are empty", evidence)
        if len(item.forms) == 1:
            evidence["single_answer"] = True
            confidence = prior_accuracy(prior, item.workers[0])
            return Consensus(task, item.texts[0], round_confidence(confidence), evidence)
        choice = accepted.get(task)
        if choice is None:
            best = choices[task].agreement
            return NoConsensus(
                task,
                f"answers disagree (best agreement {best:.2f} < min_agreement "
                f"{self.min_agreement:.2f})",
                evidence,
            )
        return Consensus(
            task, item.texts[choice.index], round_confidence(choice.agreement), evidence
        )


# -- helpers ----------------------------------------------------------------------------------


def _similar(a: str, b: str, cache: dict[tuple[str, str], float]) -> float:
    key = (a, b) if a <= b else (b, a)
    value = cache.get(key)
    if value is None:
        value = cache[key] = similarity(a, b)
    return value


def _choose(
    item: _Item, weights: Mapping[WorkerId, float], cache: dict[tuple[str, str], float]
) -> _Choice:
    """The answer with the highest weighted mean similarity to the other answers."""
    w = [weights[worker] for worker in item.workers]
    total = math.fsum(w)
    agreements = [
        math.fsum(
            wj * _similar(form, other, cache)
            for j, (wj, other) in enumerate(zip(w, item.forms, strict=True))
            if j != i
        )
        / (total - w[i])
        for i, form in enumerate(item.forms)
    ]
    top = max(agreements)
    candidates = [i for i, a in enumerate(agreements) if a >= top - _TIE_TOLERANCE]
    best = min(candidates, key=lambda i: (item.forms[i], item.texts[i]))
    tied = any(item.forms[i] != item.forms[best] for i in candidates)
    return _Choice(best, clamp_unit(agreements[best]), tied)
