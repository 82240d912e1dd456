"""Multi-label classification: each label is its own present/absent question.

A worker who selects ``{"person", "bicycle"}`` out of the vocabulary ``["bicycle", "car",
"person"]`` answers three binary questions: bicycle *present*, car *absent*, person *present*.
Every label's answers are consolidated separately with a single-label classification method
over the labels ``("absent", "present")`` (:mod:`consolidation.methods`; the default ``"auto"``
runs :class:`~consolidation.dawid_skene.DawidSkene` when some item has two or more answers and a
weighted vote when every item has one), so each label gets its own per-worker confusion matrix:
a worker may be careful about cars and careless about bicycles.

Per item:

* **Input policies.** A worker answering the item twice (``on_duplicate``) or a label outside
  the declared ``labels`` (``on_unknown_label``) make the item an explicit
  :class:`~consolidation._common.NoConsensus` with the reason.
* **Decision.** A label is chosen when its posterior ``P(present)`` is above 0.5 and left out
  when below. An exact tie (within 1e-9 of 0.5, as when two workers split under majority vote)
  follows ``tie_policy``: ``"absent"`` (default) leaves the label out, ``"present"`` chooses it,
  ``"no_consensus"`` refuses the item and names the tied labels.
* **Confidence.** The least certain decision: the minimum over the vocabulary of ``max(P,
  1 - P)``; 1.0 when the vocabulary is empty (nobody selected anything and no labels were
  declared).
* **Gold.** Items with known labels (``gold``) anchor every label's estimation and come back
  with the known labels and confidence 1.

The vocabulary is the declared ``labels`` in their order, or else the natural order of every
label selected (or named in ``gold``) in the run. Without declared labels no label is unknown.

Worker skill: ``accuracy`` is the method's estimate of the probability that one of the
worker's present/absent answers is right, averaged over the labels (1.0 when the vocabulary is
empty). Passed back in as ``prior``, it enters every label's method as pseudo-answers.
``metrics`` adds ``precision``, ``recall`` and ``f1`` of the labels the worker selected against
the consensus labels, over the worker's consensus items (each 1.0 when its denominator is 0).
A worker whose every item was set aside reports ``answers=0`` and their prior accuracy (0.0
without one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from consolidation._common import (
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    Label,
    NoConsensus,
    Outcome,
    TaskId,
    WorkerId,
    WorkerSkill,
    clamp_unit,
    round_confidence,
)
from consolidation._grouping import (
    check_choice,
    check_input_policies,
    group_answers,
    label_order,
    prior_accuracy,
    run_diagnostics,
    unknown_label_reason,
)
from consolidation._matching import precision_recall_f1
from consolidation.answers import ClassAnswers, DuplicatePolicy, UnknownLabelPolicy
from consolidation.methods import CLASSIFICATION_METHODS, classification_method

__all__ = ["BINARY_LABELS", "MultiLabelAnswer", "MultiLabelConsolidator", "MultiLabelTiePolicy"]

MultiLabelTiePolicy = Literal["absent", "present", "no_consensus"]
"""What an exact 0.5 posterior means for a label (see the module docstring)."""

BINARY_LABELS: tuple[Label, Label] = ("absent", "present")
"""The two answers each label's method sees, in this order."""

FloatArray = npt.NDArray[np.float64]

_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class MultiLabelAnswer:
    """The labels one worker selected for one item (possibly none)."""

    task_id: TaskId
    worker_id: WorkerId
    labels: frozenset[Label]


@dataclass(frozen=True, kw_only=True)
class MultiLabelConsolidator:
    """Per-label binary consolidation of multi-select answers (see the module docstring).

    Attributes:
        method: the classification method each label runs, by name
            (:data:`consolidation.methods.CLASSIFICATION_METHODS`).
        method_params: that method's hyperparameters.
        tie_policy: ``"absent"``, ``"present"`` or ``"no_consensus"`` for an exact 0.5.
        on_duplicate: policy for a worker answering an item twice.
        on_unknown_label: policy for a label outside the declared ``labels``.

    Example:
        >>> answers = [
        ...     MultiLabelAnswer("i1", "w1", frozenset({"cat", "dog"})),
        ...     MultiLabelAnswer("i1", "w2", frozenset({"cat"})),
        ...     MultiLabelAnswer("i1", "w3", frozenset({"cat", "dog"})),
        ... ]
        >>> run = MultiLabelConsolidator(method="majority-vote").aggregate(answers)
        >>> run.outcomes[0].value, run.outcomes[0].confidence
        (['cat', 'dog'], 0.6667)
    """

    method: str = "auto"
    method_params: Mapping[str, Any] = field(default_factory=dict)
    tie_policy: MultiLabelTiePolicy = "absent"
    on_duplicate: DuplicatePolicy = "keep_last"
    on_unknown_label: UnknownLabelPolicy = "no_consensus"
    name: str = "multi-label"

    def __post_init__(self) -> None:
        check_choice("method", self.method, tuple(CLASSIFICATION_METHODS))
        classification_method(self.method, self.method_params)  # raises on bad parameters
        check_choice("tie_policy", self.tie_policy, ("absent", "present", "no_consensus"))
        check_input_policies(self.on_duplicate, self.on_unknown_label)

    def aggregate(
        self,
        answers: Iterable[MultiLabelAnswer],
        *,
        labels: Sequence[Label] | None = None,
        gold: Mapping[TaskId, frozenset[Label]] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate multi-select answers into one outcome per item and one skill per worker.

        Args:
            answers: one record per worker and item.
            labels: the declared label vocabulary; ``None`` learns it from the answers.
            gold: known label sets of some items.
            prior: skill from earlier jobs (binary answer accuracy), passed to every label's
                method.

        Returns:
            Outcomes in order of first appearance. A consensus value is the list of chosen
            labels in vocabulary order (possibly empty); every outcome's evidence has
            ``"workers"`` and ``"votes"`` (label -> workers who selected it, selected labels
            only), and a consensus adds ``"confidence-map"`` (chosen label -> ``P(present)``)
            and ``"gold": True`` on gold items.

        Raises:
            ConsolidationError: a gold label outside the declared labels, or an unknown label
                under ``on_unknown_label="error"``; the message names the item.
        """
        groups, workers = group_answers(answers, on_duplicate=self.on_duplicate)
        gold = gold or {}
        seen = [lab for g in groups for a in g.answers for lab in a.labels]
        seen += [lab for g in groups if g.task_id in gold for lab in gold[g.task_id]]
        rank = label_order(labels, seen)
        vocab = sorted(rank, key=rank.__getitem__)
        declared = rank if labels is not None else None

        reasons: dict[TaskId, str] = {}
        for group in groups:
            reason = group.rejected or unknown_label_reason(
                group.task_id,
                sorted(lab for a in group.answers for lab in a.labels),
                declared,
                self.on_unknown_label,
            )
            if reason is not None:
                reasons[group.task_id] = reason
            elif group.task_id in gold:
                unknown = sorted(set(gold[group.task_id]) - set(rank))
                if unknown:
                    raise ConsolidationError(
                        f"gold labels {unknown} are not among {vocab}", task_id=group.task_id
                    )

        kept = [g for g in groups if g.task_id not in reasons]
        items = tuple(g.task_id for g in kept)
        kept_workers = tuple(dict.fromkeys(a.worker_id for g in kept for a in g.answers))
        worker_pos = {w: k for k, w in enumerate(kept_workers)}
        rows = [
            (i, worker_pos[a.worker_id], a.labels) for i, g in enumerate(kept) for a in g.answers
        ]
        item_idx = np.asarray([r[0] for r in rows], dtype=np.intp)
        worker_idx = np.asarray([r[1] for r in rows], dtype=np.intp)
        selected = np.zeros((len(rows), len(vocab)), dtype=bool)
        for k, (_, _, picked) in enumerate(rows):
            for lab in picked:
                selected[k, rank[lab]] = True

        p_present, accuracy, methods = self._posteriors(
            items=items,
            workers=kept_workers,
            item_idx=item_idx,
            worker_idx=worker_idx,
            selected=selected,
            vocab=vocab,
            gold=gold,
            prior=prior,
        )
        decided = p_present > 0.5 + _TIE_TOLERANCE
        tied = np.abs(p_present - 0.5) <= _TIE_TOLERANCE
        if self.tie_policy == "present":
            decided |= tied
        certainty = np.maximum(p_present, 1.0 - p_present)
        confidence = certainty.min(axis=1) if vocab else np.ones(len(items))
        votes = np.zeros((len(items), len(vocab)), dtype=np.intp)
        np.add.at(votes, item_idx, selected.astype(np.intp))

        index = {task: i for i, task in enumerate(items)}
        reached = np.ones(len(items), dtype=bool)
        outcomes: list[Outcome] = []
        for group in groups:
            task = group.task_id
            evidence: dict[str, Any] = {"workers": len(group.answers)}
            if task in reasons:
                evidence["votes"] = _votes_of(group.answers, rank)
                outcomes.append(NoConsensus(task, reasons[task], evidence))
                continue
            i = index[task]
            evidence["votes"] = {vocab[k]: int(votes[i, k]) for k in np.flatnonzero(votes[i])}
            if self.tie_policy == "no_consensus" and tied[i].any():
                names = [vocab[k] for k in np.flatnonzero(tied[i])]
                reached[i] = False
                outcomes.append(NoConsensus(task, f"tie on labels {names}", evidence))
                continue
            chosen = np.flatnonzero(decided[i])
            evidence["confidence-map"] = {
                vocab[k]: round_confidence(p_present[i, k]) for k in chosen
            }
            if task in gold:
                evidence["gold"] = True
            outcomes.append(
                Consensus(
                    task, [vocab[k] for k in chosen], round_confidence(confidence[i]), evidence
                )
            )

        return ConsolidationRun(
            outcomes=outcomes,
            workers=_skills(
                workers,
                kept_workers,
                worker_idx=worker_idx,
                selected=selected,
                truth=decided[item_idx],
                counted=reached[item_idx],
                accuracy=accuracy,
                prior=prior,
            ),
            method=self.name,
            diagnostics={
                **run_diagnostics(outcomes),
                "labels": list(vocab),
                "label_method": methods,
            },
        )

    def _posteriors(
        self,
        *,
        items: tuple[TaskId, ...],
        workers: tuple[WorkerId, ...],
        item_idx: npt.NDArray[np.intp],
        worker_idx: npt.NDArray[np.intp],
        selected: npt.NDArray[np.bool_],
        vocab: Sequence[Label],
        gold: Mapping[TaskId, frozenset[Label]],
        prior: Mapping[WorkerId, WorkerSkill] | None,
    ) -> tuple[FloatArray, FloatArray, str]:
        """``P(present)`` per item and label, per-worker accuracy, and the method that ran."""
        n, m, k = len(items), len(workers), len(vocab)
        p_present = np.zeros((n, k))
        accuracy = np.zeros((m, k))
        method = classification_method(self.method, self.method_params)
        ran = method.name
        if n == 0 or k == 0:
            return p_present, accuracy.mean(axis=1) if k else np.ones(m), ran
        gold_items = [t for t in items if t in gold]
        for j, label in enumerate(vocab):
            encoded = ClassAnswers.from_codes(
                items=items,
                workers=workers,
                labels_seen=BINARY_LABELS,
                item_idx=item_idx,
                worker_idx=worker_idx,
                label_idx=selected[:, j].astype(np.intp),
                labels=BINARY_LABELS,
            )
            label_gold = {t: BINARY_LABELS[int(label in gold[t])] for t in gold_items}
            result = method.aggregate(encoded, gold=label_gold, prior=prior)
            p_present[:, j] = result.posteriors[:, 1]
            accuracy[:, j] = result.accuracy
            ran = str(result.diagnostics.get("auto", result.method))
        return p_present, accuracy.mean(axis=1), ran


def _skills(
    workers: Sequence[WorkerId],
    kept_workers: Sequence[WorkerId],
    *,
    worker_idx: npt.NDArray[np.intp],
    selected: npt.NDArray[np.bool_],
    truth: npt.NDArray[np.bool_],
    counted: npt.NDArray[np.bool_],
    accuracy: FloatArray,
    prior: Mapping[WorkerId, WorkerSkill] | None,
) -> list[WorkerSkill]:
    """One skill per worker (see the module docstring).

    Args:
        workers: every worker of the run, in order of first appearance.
        kept_workers: the workers with answers on items past the input policies;
            ``worker_idx`` indexes this sequence.
        worker_idx, selected: the answers and the labels each selected (``[answer, label]``).
        truth: ``[answer, label]`` the consensus decision on the answer's item.
        counted: ``[answer]`` whether the answer's item reached consensus.
        accuracy: ``[kept worker]`` the method's binary accuracy estimate.
        prior: earlier skill, reported for workers without a usable answer.
    """
    m = len(kept_workers)
    answered = np.bincount(worker_idx, minlength=m)
    hits = (selected & truth).sum(axis=1) * counted
    matched = np.bincount(worker_idx, weights=hits, minlength=m)
    drawn = np.bincount(worker_idx, weights=selected.sum(axis=1) * counted, minlength=m)
    expected = np.bincount(worker_idx, weights=truth.sum(axis=1) * counted, minlength=m)
    position = {w: k for k, w in enumerate(kept_workers)}
    skills: list[WorkerSkill] = []
    for worker in workers:
        w = position.get(worker)
        if w is None:
            skills.append(WorkerSkill(worker, 0, prior_accuracy(prior, worker)))
            continue
        precision, recall, f1 = precision_recall_f1(
            int(matched[w]), int(drawn[w]), int(expected[w])
        )
        skills.append(
            WorkerSkill(
                worker,
                int(answered[w]),
                clamp_unit(float(accuracy[w])),
                metrics={"precision": precision, "recall": recall, "f1": f1},
            )
        )
    return skills


def _votes_of(answers: Iterable[MultiLabelAnswer], rank: Mapping[Label, int]) -> dict[Label, int]:
    """Workers per selected label; declared labels first in order, unknown ones after."""
    counts: dict[Label, int] = {}
    for answer in answers:
        for label in answer.labels:
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
