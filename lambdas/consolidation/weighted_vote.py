"""Weighted vote: each worker's vote counts by how often they agree with their peers.

A worker's accuracy is estimated by comparing each of their answers with the weighted vote of
the *other* workers on that item (leave-one-out, so a worker cannot vouch for themselves), with
``smoothing`` pseudo-answers at ``initial_accuracy``. The vote weight is the log-odds
``log((K - 1) * a / (1 - a))``, which makes the weighted vote the most probable label if
workers err uniformly. Weights and votes are refined ``rounds`` times. Skill from earlier jobs
(``prior``) adds ``prior_strength`` pseudo-answers at the worker's earlier accuracy.

Confidence is the softmax of the weighted scores: the posterior under that uniform-error model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from consolidation._common import (
    ConsolidationError,
    Label,
    TaskId,
    WorkerId,
    WorkerSkill,
    all_finite,
)
from consolidation.answers import ClassAnswers
from consolidation.classification import (
    ClassificationResult,
    TiePolicy,
    clamp_gold,
    gold_targets,
    log_normalise,
    prior_accuracy_counts,
    weighted_bincount,
)

__all__ = ["WeightedVote"]

_EPS = 1e-3
_TIE = 1e-9


@dataclass(frozen=True, kw_only=True)
class WeightedVote:
    """Leave-one-out agreement weights (see the module docstring)."""

    rounds: int = 5
    smoothing: float = 2.0
    initial_accuracy: float = 0.7
    prior_strength: float = 10.0
    tie_policy: TiePolicy = "lowest_label"
    name: str = "weighted-vote"

    def __post_init__(self) -> None:
        if self.rounds < 1 or not 0.0 < self.initial_accuracy < 1.0:
            raise ConsolidationError("rounds must be >= 1 and initial_accuracy in (0, 1)")
        if (
            not all_finite(self.smoothing, self.prior_strength)
            or min(self.smoothing, self.prior_strength) < 0
        ):
            raise ConsolidationError("smoothing and prior_strength must be finite and >= 0")

    def aggregate(
        self,
        answers: ClassAnswers,
        *,
        gold: Mapping[TaskId, Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ClassificationResult:
        """Consolidate ``answers`` (see the module docstring)."""
        n, m, k = answers.n_items, answers.n_workers, answers.n_labels
        gold_rows, gold_cols = gold_targets(answers, gold)
        pseudo_right, pseudo_total = prior_accuracy_counts(
            answers,
            prior,
            smoothing=self.smoothing,
            initial_accuracy=self.initial_accuracy,
            strength=self.prior_strength,
        )
        accuracy = self._accuracy(pseudo_right, pseudo_total)
        if n == 0:
            return ClassificationResult(
                answers=answers,
                posteriors=np.zeros((0, k)),
                method=self.name,
                accuracy=accuracy,
                tie_policy=self.tie_policy,
            )
        ii, ww, ll = answers.item_idx, answers.worker_idx, answers.label_idx
        cell = ii * k + ll
        is_gold = np.zeros(n, dtype=bool)
        is_gold[gold_rows] = True
        gold_label = np.full(n, -1, dtype=np.intp)
        gold_label[gold_rows] = gold_cols
        answer = np.arange(ii.shape[0])
        on_gold = np.flatnonzero(is_gold[ii])
        scores = np.zeros((n, k))
        for _ in range(self.rounds):
            weight = self._weight(np.clip(accuracy, _EPS, 1 - _EPS), k)
            scores = weighted_bincount(cell, weight[ww], n * k).reshape(n, k)
            # Leave-one-out: the other workers' verdict on each answer's item.
            others = scores[ii].copy()
            others[answer, ll] -= weight[ww]
            top = others.max(axis=1)
            # The peers' verdict is their top label; labels tied at the top share the credit,
            # so neither label order nor rounding noise decides whether a worker agreed.
            verdict = others >= top[:, None] - _TIE
            verdict[on_gold] = False
            verdict[on_gold, gold_label[ii[on_gold]]] = True
            share = verdict[answer, ll] / verdict.sum(axis=1)
            alone = (top <= _TIE) & ~is_gold[ii]
            agree = np.where(alone, 0.0, share)
            judged = np.where(alone, 0.0, 1.0)
            right = np.bincount(ww, weights=agree, minlength=m)
            total = np.bincount(ww, weights=judged, minlength=m)
            accuracy = self._accuracy(right + pseudo_right, total + pseudo_total)
        weight = self._weight(np.clip(accuracy, _EPS, 1 - _EPS), k)
        scores = weighted_bincount(cell, weight[ww], n * k).reshape(n, k)
        posteriors = log_normalise(scores)
        clamp_gold(posteriors, gold_rows, gold_cols)
        return ClassificationResult(
            answers=answers,
            posteriors=posteriors,
            method=self.name,
            accuracy=accuracy,
            tie_policy=self.tie_policy,
            gold=gold_rows,
            diagnostics={"rounds": self.rounds},
        )

    def _accuracy(self, right: np.ndarray, total: np.ndarray) -> np.ndarray:
        """Share of right answers; ``initial_accuracy`` for a worker with no evidence at all
        (``smoothing=0`` and no prior), who would otherwise count as always wrong."""
        return np.where(total > 0, right / np.maximum(total, 1e-12), self.initial_accuracy)

    @staticmethod
    def _weight(accuracy: np.ndarray, k: int) -> np.ndarray:
        return np.log(max(k - 1, 1) * accuracy / (1.0 - accuracy))
