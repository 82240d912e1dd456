"""Dawid-Skene: expectation-maximisation over per-worker confusion matrices.

Each worker ``w`` has a confusion matrix ``pi[w, t, g] = P(w answers g | truth is t)``; items
have a class prior ``p``. Starting from the majority-vote posteriors, the method alternates

* M-step: ``pi`` and ``p`` from the current posteriors (plus ``smoothing`` pseudo-counts per
  cell and any prior skill as pseudo-answers), and
* E-step: item posteriors from ``pi`` and ``p``,

until the log-likelihood changes by less than ``tol`` (relative) or ``max_iter`` is reached.
Gold items keep their known label throughout. The confidence of an item is its posterior.

Each iteration is ``2 K`` vectorised passes (a gather and a bincount) over the answers, so a
million answers take tens of milliseconds per iteration.

Reference: A. P. Dawid and A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates
Using the EM Algorithm", Applied Statistics 28(1), 1979.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from consolidation._common import (
    ConsolidationError,
    Label,
    TaskId,
    WorkerId,
    WorkerSkill,
    all_finite,
)
from consolidation.answers import ClassAnswers
from consolidation.calibration import fit_temperature
from consolidation.classification import (
    ClassificationResult,
    TiePolicy,
    clamp_gold,
    gold_targets,
    log_normalise,
    prior_confusion_counts,
)

__all__ = ["Calibration", "DawidSkene"]

Calibration = Literal["loo-temperature", "none"]

FloatArray = npt.NDArray[np.float64]
_FLOOR = 1e-300


@dataclass(frozen=True, kw_only=True)
class DawidSkene:
    """Dawid-Skene EM with light Dirichlet smoothing.

    Attributes:
        max_iter: upper bound on EM iterations.
        tol: stop when the relative change of the log-likelihood falls below this.
        smoothing: pseudo-count added to every confusion-matrix cell (keeps rarely seen
            answers from getting probability 0; 0 gives the textbook estimator).
        prior_strength: pseudo-answers per true class contributed by a worker's prior skill.
        calibration: ``"loo-temperature"`` tempers the posteriors by the temperature that best
            predicts held-out answers (:mod:`consolidation.calibration`; labels never change),
            ``"none"`` reports the raw EM posteriors.
        tie_policy: see :mod:`consolidation.classification`.
    """

    max_iter: int = 100
    tol: float = 1e-7
    smoothing: float = 0.01
    prior_strength: float = 10.0
    calibration: Calibration = "loo-temperature"
    tie_policy: TiePolicy = "lowest_label"
    name: str = "dawid-skene"

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ConsolidationError(f"max_iter must be >= 1, got {self.max_iter}")
        if (
            not all_finite(self.smoothing, self.tol, self.prior_strength)
            or self.smoothing < 0
            or self.tol < 0
            or self.prior_strength < 0
        ):
            raise ConsolidationError("smoothing, tol and prior_strength must be finite and >= 0")

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
        if n == 0:
            return ClassificationResult(
                answers=answers,
                posteriors=np.zeros((0, k)),
                method=self.name,
                accuracy=np.zeros(m),
                confusion=np.zeros((m, k, k)),
                tie_policy=self.tie_policy,
            )
        pseudo = prior_confusion_counts(answers, prior, self.prior_strength)

        # Column = (worker, given label). Posteriors are kept class-major ([label, item]) so
        # every step is a 1-D gather plus a bincount: the fastest reductions numpy offers.
        items, column = answers.item_idx, answers.worker_idx * k + answers.label_idx
        votes = answers.votes
        posteriors = votes / votes.sum(axis=1, keepdims=True)
        clamp_gold(posteriors, gold_rows, gold_cols)
        post_t = np.ascontiguousarray(posteriors.T)

        log_likelihood = -np.inf
        converged = False
        iterations = 0
        confusion = np.zeros((m, k, k))
        class_prior = np.full(k, 1.0 / k)
        scores = np.empty((k, n))
        for _ in range(self.max_iter):
            iterations += 1
            # M-step: counts[w, t, g] = sum of P(truth=t) over w's answers g.
            counts = (
                np.stack(
                    [
                        np.bincount(column, weights=post_t[t][items], minlength=m * k)
                        for t in range(k)
                    ]
                )
                .reshape(k, m, k)
                .transpose(1, 0, 2)
                + self.smoothing
            )
            if pseudo is not None:
                counts += pseudo
            confusion = counts / np.maximum(counts.sum(axis=2, keepdims=True), _FLOOR)
            class_prior = (post_t.sum(axis=1) + self.smoothing) / (n + k * self.smoothing)

            # E-step: log P(truth=t, answers of item) summed over the item's answers.
            log_conf = np.log(np.maximum(confusion, _FLOOR))  # [w, t, g]
            log_prior = np.log(np.maximum(class_prior, _FLOOR))
            for t in range(k):
                table = log_conf[:, t, :].ravel()
                scores[t] = np.bincount(items, weights=table[column], minlength=n) + log_prior[t]
            top = scores.max(axis=0)
            post_t = np.exp(scores - top)
            norm = post_t.sum(axis=0)
            post_t /= norm
            new_ll = float((top + np.log(norm)).sum())
            if gold_rows.size:
                post_t[:, gold_rows] = 0.0
                post_t[gold_cols, gold_rows] = 1.0
            if abs(new_ll - log_likelihood) <= self.tol * abs(new_ll):
                log_likelihood = new_ll
                converged = True
                break
            log_likelihood = new_ll
        temperature = 1.0
        if self.calibration == "loo-temperature":
            score_rows = np.ascontiguousarray(scores.T)
            temperature = fit_temperature(
                score_rows,
                np.log(np.maximum(confusion, _FLOOR)),
                confusion,
                item_idx=items,
                worker_idx=answers.worker_idx,
                label_idx=answers.label_idx,
            )
            posteriors = log_normalise(temperature * score_rows)
            clamp_gold(posteriors, gold_rows, gold_cols)
        else:
            posteriors = np.ascontiguousarray(post_t.T)

        accuracy = np.einsum("t,wtt->w", class_prior, confusion)
        return ClassificationResult(
            answers=answers,
            posteriors=posteriors,
            method=self.name,
            accuracy=accuracy,
            confusion=confusion,
            tie_policy=self.tie_policy,
            gold=gold_rows,
            diagnostics={
                "iterations": iterations,
                "converged": converged,
                "log_likelihood": log_likelihood,
                "temperature": temperature,
                "class_prior": {
                    label: float(p) for label, p in zip(answers.labels, class_prior, strict=True)
                },
            },
        )
