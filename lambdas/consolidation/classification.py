"""The result of single-label classification and the pieces all classification methods share.

Every method produces a posterior ``P(true label = k | answers)`` per item. The consolidated
label is the most probable class and its confidence is that probability. Ties are resolved by
``tie_policy``: ``"lowest_label"`` takes the first label in vocabulary order;
``"no_consensus"`` refuses the item and names the tied labels.

Gold items (known answers) are anchors: methods clamp their posterior to the known label, so
worker skill is learned from them, and their outcome reports the known label with confidence 1.
Skill from earlier jobs (``prior``) enters each method as pseudo-answers; see the methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    round_confidence,
)
from consolidation.answers import ClassAnswers

__all__ = [
    "ClassificationResult",
    "TiePolicy",
    "clamp_gold",
    "gold_targets",
    "log_normalise",
    "prior_accuracy_counts",
    "prior_confusion_counts",
    "weighted_bincount",
]

TiePolicy = Literal["lowest_label", "no_consensus"]
FloatArray = npt.NDArray[np.float64]

_TIE_TOLERANCE = 1e-9


def weighted_bincount(index: npt.NDArray[np.intp], weights: FloatArray, size: int) -> FloatArray:
    """``out[i]`` = sum of ``weights`` where ``index == i``, for ``i < size``."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def log_normalise(log_scores: FloatArray) -> FloatArray:
    """Row-wise softmax of log scores (in place safe), returning probabilities."""
    shifted = log_scores - log_scores.max(axis=1, keepdims=True)
    probs: FloatArray = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def gold_targets(
    answers: ClassAnswers, gold: Mapping[TaskId, Label] | None
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Indices of gold items present in ``answers`` and their label indices.

    Raises:
        ConsolidationError: a gold label outside the vocabulary.
    """
    if not gold:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    position = {label: k for k, label in enumerate(answers.labels)}
    item_pos = {task: i for i, task in enumerate(answers.items)}
    rows: list[int] = []
    cols: list[int] = []
    for task, label in gold.items():
        if task not in item_pos:
            continue
        if label not in position:
            raise ConsolidationError(
                f"gold label {label!r} is not one of {list(answers.labels)}", task_id=task
            )
        rows.append(item_pos[task])
        cols.append(position[label])
    return np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)


def prior_confusion_counts(
    answers: ClassAnswers,
    prior: Mapping[WorkerId, WorkerSkill] | None,
    strength: float,
) -> FloatArray | None:
    """Pseudo-counts ``[worker, true, given]`` from earlier skill estimates, or ``None``.

    A worker with a prior confusion matrix contributes ``strength`` pseudo-answers per true class
    spread as that matrix says; a worker with only an accuracy spreads the error evenly.
    """
    if not prior or strength <= 0:
        return None
    k = answers.n_labels
    counts = np.zeros((answers.n_workers, k, k))
    found = False
    for w, worker in enumerate(answers.workers):
        skill = prior.get(worker)
        if skill is None:
            continue
        found = True
        if skill.confusion is not None:
            for t, true_label in enumerate(answers.labels):
                row = skill.confusion.get(true_label, {})
                for g, given in enumerate(answers.labels):
                    counts[w, t, g] = float(row.get(given, 0.0))
                total = counts[w, t].sum()
                if total > 0:
                    counts[w, t] *= strength / total
                else:
                    counts[w, t] = strength / k
        else:
            acc = min(max(skill.accuracy, 0.0), 1.0)
            off = (1.0 - acc) / max(k - 1, 1)
            counts[w] = strength * np.full((k, k), off)
            counts[w][np.diag_indices(k)] = strength * acc
    return counts if found else None


def prior_accuracy_counts(
    answers: ClassAnswers,
    prior: Mapping[WorkerId, WorkerSkill] | None,
    *,
    smoothing: float,
    initial_accuracy: float,
    strength: float,
) -> tuple[FloatArray, FloatArray]:
    """Pseudo-answers per worker for one-accuracy models: (right, total).

    Every worker starts with ``smoothing`` pseudo-answers at ``initial_accuracy``; a worker with
    earlier skill adds ``strength`` pseudo-answers at that accuracy.
    """
    right = np.full(answers.n_workers, smoothing * initial_accuracy)
    total = np.full(answers.n_workers, float(smoothing))
    if prior:
        for w, worker in enumerate(answers.workers):
            skill = prior.get(worker)
            if skill is not None:
                right[w] += strength * min(max(skill.accuracy, 0.0), 1.0)
                total[w] += strength
    return right, total


@dataclass(frozen=True)
class ClassificationResult:
    """Posteriors for every item, skill for every worker.

    Attributes:
        answers: the encoded input (its ``rejected`` items become no-consensus outcomes).
        posteriors: ``[item, label]`` probabilities; each row sums to 1.
        method: the method's name as written to outputs.
        confusion: ``[worker, true, given]`` per-worker confusion, when the method estimates it.
        accuracy: per-worker probability of a right answer.
        tie_policy: how an exact tie between the top labels is resolved.
        gold: indices of gold items (clamped during estimation).
        diagnostics: iterations, convergence, log-likelihood, as the method reports them.
        counts: ``[worker, true, given]`` soft answer counts of this run alone (posterior mass
            of each true class over each worker's answers), when the method keeps them: the
            additive evidence carried to later batches as :attr:`WorkerSkill.counts`.
    """

    answers: ClassAnswers
    posteriors: FloatArray
    method: str
    accuracy: FloatArray
    confusion: FloatArray | None = None
    tie_policy: TiePolicy = "lowest_label"
    gold: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    counts: FloatArray | None = None

    @property
    def label_index(self) -> npt.NDArray[np.intp]:
        """Winning label per item; ``-1`` for an unresolved tie under ``"no_consensus"``.

        Labels within ``_TIE_TOLERANCE`` of the top posterior are tied under both policies, so
        rounding noise (which depends on answer order) never picks the winner of an exact tie.
        """
        if not self.posteriors.size:
            return np.zeros(self.posteriors.shape[0], dtype=np.intp)
        top = self.posteriors.max(axis=1, keepdims=True)
        near_top = self.posteriors >= top - _TIE_TOLERANCE
        # The first tied label in vocabulary order.
        winner: npt.NDArray[np.intp] = near_top.argmax(axis=1).astype(np.intp)
        if self.tie_policy == "no_consensus":
            winner[near_top.sum(axis=1) > 1] = -1
        return winner

    @property
    def confidence(self) -> FloatArray:
        """Posterior probability of the winning label (0 for unresolved ties)."""
        conf = self.posteriors.max(axis=1) if self.posteriors.size else np.empty(0)
        return np.where(self.label_index >= 0, conf, 0.0)

    def outcomes(self) -> list[Outcome]:
        """One outcome per item, including the items the input policies set aside."""
        answers = self.answers
        labels = answers.labels
        votes = answers.votes
        winners = self.label_index
        confidence = self.confidence
        gold = set(self.gold.tolist())
        out: list[Outcome] = []
        for i, task in enumerate(answers.items):
            split = {labels[k]: int(n) for k, n in enumerate(votes[i]) if n}
            evidence: dict[str, Any] = {"workers": int(votes[i].sum()), "votes": split}
            if task in answers.repeated:
                evidence["repeated"] = answers.repeated[task]
            if i in gold:
                evidence["gold"] = True
            k = int(winners[i])
            if k < 0:
                top = self.posteriors[i].max()
                tied = [
                    labels[j] for j, p in enumerate(self.posteriors[i]) if p >= top - _TIE_TOLERANCE
                ]
                out.append(NoConsensus(task, f"tie between {tied}", evidence))
            else:
                out.append(Consensus(task, labels[k], round_confidence(confidence[i]), evidence))
        for task, reason in answers.rejected.items():
            out.append(NoConsensus(task, reason, {}))
        return out

    def worker_skills(self) -> list[WorkerSkill]:
        """Skill of every worker, with the confusion matrix when the method estimates one."""
        labels = self.answers.labels
        counts = self.answers.worker_counts
        skills: list[WorkerSkill] = []
        for w, worker in enumerate(self.answers.workers):
            confusion = None if self.confusion is None else _by_label(self.confusion[w], labels)
            soft = None if self.counts is None else _by_label(self.counts[w], labels)
            skills.append(
                WorkerSkill(worker, int(counts[w]), float(self.accuracy[w]), confusion, counts=soft)
            )
        return skills

    def to_run(self) -> ConsolidationRun:
        return ConsolidationRun(
            outcomes=self.outcomes(),
            workers=self.worker_skills(),
            method=self.method,
            diagnostics=dict(self.diagnostics),
        )


def _by_label(matrix: FloatArray, labels: Sequence[Label]) -> dict[Label, dict[Label, float]]:
    return {
        t: {g: float(matrix[ti, gi]) for gi, g in enumerate(labels)} for ti, t in enumerate(labels)
    }


def clamp_gold(
    posteriors: FloatArray,
    rows: Sequence[int] | npt.NDArray[np.intp],
    cols: Sequence[int] | npt.NDArray[np.intp],
) -> None:
    """Set the posterior of gold items to their known label, in place."""
    if len(rows):
        posteriors[rows] = 0.0
        posteriors[rows, cols] = 1.0
