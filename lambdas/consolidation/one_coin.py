"""One-coin Dawid-Skene: EM where each worker has a single accuracy.

A worker is right with probability ``a[w]`` and otherwise picks any wrong label uniformly, so
only one number per worker is estimated. It needs far fewer answers per worker than the full
confusion matrix of :class:`~consolidation.dawid_skene.DawidSkene`, at the cost of ignoring
systematic confusions between particular classes.

Accuracies are smoothed with a Beta(``smoothing`` + 1, 1) style prior (``smoothing`` pseudo
answers at the pool's starting accuracy); skill from earlier jobs adds ``prior_strength``
pseudo-answers at the worker's earlier accuracy. Gold items keep their label throughout.
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

__all__ = ["OneCoinDawidSkene"]

_EPS = 1e-6


@dataclass(frozen=True, kw_only=True)
class OneCoinDawidSkene:
    """One accuracy per worker, estimated by EM.

    Attributes:
        max_iter: upper bound on EM iterations.
        tol: stop when the relative change of the log-likelihood falls below this.
        smoothing: pseudo-answers per worker at ``initial_accuracy``.
        initial_accuracy: the accuracy a worker is assumed to have before evidence.
        prior_strength: pseudo-answers contributed by a worker's prior skill.
        tie_policy: see :mod:`consolidation.classification`.
    """

    max_iter: int = 100
    tol: float = 1e-7
    smoothing: float = 2.0
    initial_accuracy: float = 0.7
    prior_strength: float = 10.0
    tie_policy: TiePolicy = "lowest_label"
    name: str = "one-coin-dawid-skene"

    def __post_init__(self) -> None:
        if not 0.0 < self.initial_accuracy < 1.0:
            raise ConsolidationError("initial_accuracy must be strictly between 0 and 1")
        if (
            not all_finite(self.smoothing, self.tol, self.prior_strength)
            or self.max_iter < 1
            or self.smoothing < 0
            or self.prior_strength < 0
        ):
            raise ConsolidationError(
                "need max_iter >= 1 and finite smoothing, tol, prior_strength >= 0"
            )

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
        if n == 0:
            return ClassificationResult(
                answers=answers,
                posteriors=np.zeros((0, k)),
                method=self.name,
                accuracy=pseudo_right / np.maximum(pseudo_total, _EPS),
                tie_policy=self.tie_policy,
            )
        cell = answers.item_idx * k + answers.label_idx
        counts = answers.worker_counts.astype(np.float64)
        votes = answers.votes
        posteriors = votes / votes.sum(axis=1, keepdims=True)
        clamp_gold(posteriors, gold_rows, gold_cols)
        log_likelihood = -np.inf
        converged = False
        iterations = 0
        accuracy = np.full(m, self.initial_accuracy)
        for _ in range(self.max_iter):
            iterations += 1
            right = np.bincount(
                answers.worker_idx,
                weights=posteriors[answers.item_idx, answers.label_idx],
                minlength=m,
            )
            accuracy = np.clip((right + pseudo_right) / (counts + pseudo_total), _EPS, 1 - _EPS)
            class_prior = (posteriors.sum(axis=0) + 1.0) / (n + k)
            wrong = np.log((1.0 - accuracy) / max(k - 1, 1))
            bonus = np.log(accuracy) - wrong
            scores = weighted_bincount(cell, bonus[answers.worker_idx], n * k).reshape(n, k)
            scores += np.log(class_prior)
            base = np.bincount(answers.item_idx, weights=wrong[answers.worker_idx], minlength=n)
            top = scores.max(axis=1, keepdims=True)
            new_ll = float((base + top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))).sum())
            posteriors = log_normalise(scores)
            clamp_gold(posteriors, gold_rows, gold_cols)
            if abs(new_ll - log_likelihood) <= self.tol * abs(new_ll):
                log_likelihood = new_ll
                converged = True
                break
            log_likelihood = new_ll
        return ClassificationResult(
            answers=answers,
            posteriors=posteriors,
            method=self.name,
            accuracy=accuracy,
            tie_policy=self.tie_policy,
            gold=gold_rows,
            diagnostics={
                "iterations": iterations,
                "converged": converged,
                "log_likelihood": log_likelihood,
            },
        )
