"""Hierarchical Dawid-Skene: the default classification method (``"auto"``).

Dawid-Skene learns a ``K x K`` confusion matrix per worker; majority vote assumes every worker
is the same. Real crowds sit in between, and how far depends on the evidence: a worker with
hundreds of answers has a confusion matrix of their own, a worker with three has mostly the
crowd's. This model says so directly. Each row of a worker's confusion matrix has a Dirichlet
prior centred on the *pool's* row (every worker's answers together) with ``s`` pseudo-answers::

    pi[w, t, :] = (counts[w, t, :] + s * pool[t, :]) / (sum(counts[w, t, :]) + s)

``counts`` are the worker's soft answer counts: this run's (posterior-weighted) plus the
*carried* counts of earlier batches and jobs (:attr:`WorkerSkill.counts`), which count as the
evidence they are, answer for answer. A worker new to the project starts from the pool. ``s``
moves the model along a continuum: near 0 it is Dawid-Skene, large it is one shared confusion
matrix (close to a vote weighted by the crowd's class-wise reliability).

Choosing ``s`` (``shrinkage=None``, the default): on the evidence of the run itself, the value
of :data:`SHRINKAGE_GRID` whose model, fitted on one half of the items, best predicts each
answer of the other half from the other answers of its item (two-fold cross-validation over
items, so no item judges a fit it shaped). No constant is tuned to a data set: with little evidence per worker the
held-out answers favour a large ``s``; with much evidence, a small one. When no item has two
answers there is nothing to hold out and nothing to iterate on (EM would drift to one class):
the largest ``s`` is used for one pass, each answer taken as right, so the confusion matrices are
the carried skill's and each item gets its worker's label.

Confidence: the EM posterior assumes workers err independently given the truth, which real
crowds do not, so it is over-confident. The scores are tempered by a factor ``tau`` in (0, 1]
(the winning label never changes), fitted out of sample:

* with at least :data:`MIN_GOLD_FOR_CALIBRATION` gold items among the answers, ``tau``
  maximises the likelihood of the gold labels under posteriors computed with each gold item's
  own answers removed from its workers' counts (``"calibration": "gold"``);
* otherwise ``tau`` maximises the same held-out-item predictive likelihood that chose ``s``
  (``"calibration": "held-out items"``). This is the best a run without known answers
  can do, and it remains over-confident where hard items fool several workers at once; a few
  gold items per job fix that (see ``docs/consolidation.md``).

Gold items keep their known label throughout and anchor the confusion matrices.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from consolidation._common import ConsolidationError, Label, TaskId, WorkerId, WorkerSkill
from consolidation.answers import ClassAnswers
from consolidation.classification import (
    ClassificationResult,
    TiePolicy,
    clamp_gold,
    gold_targets,
    log_normalise,
)

__all__ = [
    "MIN_GOLD_FOR_CALIBRATION",
    "SHRINKAGE_GRID",
    "HierarchicalDawidSkene",
    "carried_counts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

SHRINKAGE_GRID = (0.25, 1.0, 4.0, 16.0, 64.0)
TEMPERATURE_GRID = np.linspace(0.05, 1.0, 39)
MIN_GOLD_FOR_CALIBRATION = 20
_MAX_HELD_OUT = 20_000
_FLOOR = 1e-300

Calibration = Literal["auto", "none"]


def carried_counts(
    answers: ClassAnswers, prior: Mapping[WorkerId, WorkerSkill] | None
) -> tuple[FloatArray, FloatArray]:
    """Carried soft counts ``[worker, true, given]`` of this run's workers, and the pool's.

    A skill with ``counts`` contributes them as they are. An older skill with only a
    ``confusion`` matrix or an ``accuracy`` contributes its ``answers`` spread as that estimate
    says (evenly over the true classes). The pool sums every worker of ``prior``, in this run
    or not, so a new worker starts from the whole project's experience.
    """
    k = answers.n_labels
    workers = np.zeros((answers.n_workers, k, k))
    pool = np.zeros((k, k))
    if not prior:
        return workers, pool
    position = {worker: w for w, worker in enumerate(answers.workers)}
    for worker, skill in prior.items():
        counts = _skill_counts(skill, answers.labels)
        pool += counts
        w = position.get(worker)
        if w is not None:
            workers[w] = counts
    return workers, pool


def _skill_counts(skill: WorkerSkill, labels: tuple[Label, ...]) -> FloatArray:
    k = len(labels)
    out = np.zeros((k, k))
    if skill.counts is not None:
        for t, true_label in enumerate(labels):
            row = skill.counts.get(true_label, {})
            for g, given in enumerate(labels):
                out[t, g] = max(float(row.get(given, 0.0)), 0.0)
        return out
    per_row = max(skill.answers, 0) / max(k, 1)
    if per_row == 0:
        return out
    if skill.confusion is not None:
        for t, true_label in enumerate(labels):
            row = skill.confusion.get(true_label, {})
            values = np.asarray([max(float(row.get(g, 0.0)), 0.0) for g in labels])
            total = values.sum()
            out[t] = per_row * (values / total if total > 0 else np.full(k, 1.0 / k))
        return out
    acc = min(max(skill.accuracy, 0.0), 1.0)
    out[:] = per_row * (1.0 - acc) / max(k - 1, 1)
    out[np.diag_indices(k)] = per_row * acc
    return out


@dataclass(frozen=True)
class _Fit:
    """One EM fit: class-major posteriors and scores, and the counts behind them."""

    post: FloatArray  # [label, item]
    scores: FloatArray  # [label, item] log joint scores
    counts: FloatArray  # [worker, true, given], this run's soft counts plus carried
    run_counts: FloatArray  # [worker, true, given], this run's soft counts only
    pool: FloatArray  # [true, given], row-normalised
    confusion: FloatArray  # [worker, true, given]
    class_prior: FloatArray
    iterations: int
    converged: bool
    log_likelihood: float


@dataclass(frozen=True, kw_only=True)
class HierarchicalDawidSkene:
    """Dawid-Skene with worker confusion shrunk toward the pool's (see the module docstring).

    Attributes:
        shrinkage: pseudo-answers per confusion row drawn from the pool; ``None`` chooses it
            per run from :data:`SHRINKAGE_GRID` by held-out answer likelihood.
        calibration: ``"auto"`` tempers the posteriors out of sample (gold items when there are
            enough, held-out answers otherwise); ``"none"`` reports the raw EM posteriors.
        max_iter, tol: EM stops after ``max_iter`` iterations or when the log-likelihood
            changes by less than ``tol`` (relative).
        smoothing: pseudo-count added to every confusion cell, so an answer never has
            probability 0.
        initial_accuracy: the pool's prior accuracy, worth ``K`` pseudo-answers per class (so
            a run of a few answers, with nothing carried, reads its crowd as better than
            chance; a few dozen answers outweigh it).
        tie_policy: see :mod:`consolidation.classification`.
    """

    shrinkage: float | None = None
    calibration: Calibration = "auto"
    max_iter: int = 100
    tol: float = 1e-7
    smoothing: float = 0.01
    initial_accuracy: float = 0.7
    tie_policy: TiePolicy = "lowest_label"
    name: str = "hierarchical-dawid-skene"

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ConsolidationError(f"max_iter must be >= 1, got {self.max_iter}")
        values = [self.tol, self.smoothing] + ([self.shrinkage] if self.shrinkage is not None else [])
        if not all(np.isfinite(v) and v >= 0 for v in values):
            raise ConsolidationError("shrinkage, smoothing and tol must be finite and >= 0")
        if not 0.0 < self.initial_accuracy < 1.0:
            raise ConsolidationError(
                f"initial_accuracy must be in (0, 1), got {self.initial_accuracy}"
            )
        if self.calibration not in ("auto", "none"):
            raise ConsolidationError(
                f"calibration must be 'auto' or 'none', got {self.calibration!r}"
            )

    def aggregate(
        self,
        answers: ClassAnswers,
        *,
        gold: Mapping[TaskId, Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ClassificationResult:
        """Consolidate ``answers``; ``prior`` carries earlier soft counts (module docstring)."""
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
                counts=np.zeros((m, k, k)),
            )
        carried, pool_carried = carried_counts(answers, prior)
        per_item = np.bincount(answers.item_idx, minlength=n)
        overlap = bool((per_item >= 2).any())
        if self.shrinkage is not None:
            grid: tuple[float, ...] = (self.shrinkage,)
        elif not overlap:
            grid = (SHRINKAGE_GRID[-1],)
        else:
            grid = SHRINKAGE_GRID
        shrinkage, tau = grid[0], 1.0
        if overlap and (len(grid) > 1 or self.calibration == "auto"):
            shrinkage, tau = self._cross_validate(answers, grid, carried, pool_carried)
        fit = self._fit(
            answers, shrinkage, carried, pool_carried, gold_rows, gold_cols, None,
            max_iter=self.max_iter if overlap else 1,
        )
        source = "none"
        if self.calibration == "auto":
            if gold_rows.size >= MIN_GOLD_FOR_CALIBRATION:
                tau = _gold_temperature(fit, answers, gold_rows, gold_cols, shrinkage, self.smoothing)
                source = "gold"
            elif overlap:
                source = "held-out items"
            else:
                tau = 1.0
        else:
            tau = 1.0
        posteriors = log_normalise(tau * np.ascontiguousarray(fit.scores.T))
        clamp_gold(posteriors, gold_rows, gold_cols)
        accuracy = np.einsum("t,wtt->w", fit.class_prior, fit.confusion)
        return ClassificationResult(
            answers=answers,
            posteriors=posteriors,
            method=self.name,
            accuracy=accuracy,
            confusion=fit.confusion,
            tie_policy=self.tie_policy,
            gold=gold_rows,
            counts=fit.run_counts,
            diagnostics={
                "iterations": fit.iterations,
                "converged": fit.converged,
                "log_likelihood": fit.log_likelihood,
                "shrinkage": shrinkage,
                "temperature": float(tau),
                "calibration": source,
                "carried_answers": float(carried.sum()),
                "class_prior": {
                    label: float(p)
                    for label, p in zip(answers.labels, fit.class_prior, strict=True)
                },
            },
        )

    def _cross_validate(
        self,
        answers: ClassAnswers,
        grid: tuple[float, ...],
        carried: FloatArray,
        pool_carried: FloatArray,
    ) -> tuple[float, float]:
        """The shrinkage and temperature that best predict answers on items the fit never saw.

        Items are split in two halves (a shuffle fixed by their ids; at most :data:`_MAX_HELD_OUT` answers'
        worth of items on large runs). Each half is fitted alone, with the carried counts, and
        every answer of the other half is predicted from the other answers of its item under
        that fit. Held-out *items*, not answers: an item's own posterior never leaks into the
        confusion matrices that judge it, so a fit that explains a small batch too well is
        found out.
        """
        n = answers.n_items
        # A shuffle fixed by the item ids, so the answer order never changes the split.
        order = np.asarray(
            sorted(range(n), key=lambda i: (zlib.crc32(answers.items[i].encode()), answers.items[i])),
            dtype=np.intp,
        )
        per_item = np.bincount(answers.item_idx, minlength=n)
        if answers.n_answers > 2 * _MAX_HELD_OUT:
            keep = np.cumsum(per_item[order]) <= 2 * _MAX_HELD_OUT
            order = order[keep]
        fold = np.full(n, -1, dtype=np.intp)
        fold[order] = np.arange(order.size) % 2
        totals = np.zeros((len(grid), TEMPERATURE_GRID.size))
        for f in (0, 1):
            train = _subset(answers, fold[answers.item_idx] == 1 - f)
            tested = (fold[answers.item_idx] == f) & (per_item[answers.item_idx] >= 2)
            if train.n_items == 0 or not tested.any():
                continue
            none = np.empty(0, dtype=np.intp)
            for g, s in enumerate(grid):
                fit = self._fit(train, s, carried, pool_carried, none, none, None,
                                max_iter=self.max_iter)
                totals[g] += _predict_answers(fit, answers, tested)
        g, t = np.unravel_index(int(np.argmax(totals)), totals.shape)
        if not totals.any():
            return grid[-1], 1.0
        return grid[int(g)], float(TEMPERATURE_GRID[int(t)])

    def _fit(
        self,
        answers: ClassAnswers,
        s: float,
        carried: FloatArray,
        pool_carried: FloatArray,
        gold_rows: IntArray,
        gold_cols: IntArray,
        start: FloatArray | None,
        *,
        max_iter: int,
    ) -> _Fit:
        n, m, k = answers.n_items, answers.n_workers, answers.n_labels
        items, column = answers.item_idx, answers.worker_idx * k + answers.label_idx
        if start is None:
            votes = answers.votes
            posteriors = votes / votes.sum(axis=1, keepdims=True)
            clamp_gold(posteriors, gold_rows, gold_cols)
            post_t = np.ascontiguousarray(posteriors.T)
        else:
            post_t = start.copy()
        pool_prior = np.full((k, k), (1.0 - self.initial_accuracy) * k / max(k - 1, 1))
        pool_prior[np.diag_indices(k)] = self.initial_accuracy * k
        scores = np.empty((k, n))
        log_likelihood = -np.inf
        converged = False
        iterations = 0
        for _ in range(max_iter):
            iterations += 1
            run_counts = _soft_counts(post_t, items, column, m, k)
            counts = run_counts + carried
            # The pool: every answer of the run and of the project's history, plus K
            # pseudo-answers per row at the initial accuracy, so an unseen class has a
            # defined row and a tiny first batch is read as a crowd better than chance.
            pool = run_counts.sum(axis=0) + pool_carried + pool_prior
            pool /= pool.sum(axis=1, keepdims=True)
            confusion = counts + s * pool + self.smoothing
            confusion /= confusion.sum(axis=2, keepdims=True)
            class_prior = post_t.sum(axis=1) + 1.0
            class_prior /= class_prior.sum()

            log_conf = np.log(np.maximum(confusion, _FLOOR))
            log_prior = np.log(class_prior)
            for t in range(k):
                table = log_conf[:, t, :].ravel()
                scores[t] = np.bincount(items, weights=table[column], minlength=n) + log_prior[t]
            top = scores.max(axis=0)
            post_t = np.exp(scores - top)
            norm = post_t.sum(axis=0)
            post_t /= norm
            if gold_rows.size:
                post_t[:, gold_rows] = 0.0
                post_t[gold_cols, gold_rows] = 1.0
            new_ll = float((top + np.log(norm)).sum())
            if abs(new_ll - log_likelihood) <= self.tol * abs(new_ll):
                log_likelihood = new_ll
                converged = True
                break
            log_likelihood = new_ll
        run_counts = _soft_counts(post_t, items, column, m, k)
        return _Fit(
            post=post_t,
            scores=scores.copy(),
            counts=run_counts + carried,
            run_counts=run_counts,
            pool=pool,
            confusion=confusion,
            class_prior=class_prior,
            iterations=iterations,
            converged=converged,
            log_likelihood=log_likelihood,
        )


def _soft_counts(
    post_t: FloatArray, items: IntArray, column: IntArray, m: int, k: int
) -> FloatArray:
    """``counts[w, t, g]``: posterior mass of truth ``t`` over worker ``w``'s answers ``g``."""
    stacked = np.stack(
        [np.bincount(column, weights=post_t[t][items], minlength=m * k) for t in range(k)]
    )
    counts: FloatArray = stacked.reshape(k, m, k).transpose(1, 0, 2).copy()
    return counts


def _leave_out(
    fit: _Fit, answers: ClassAnswers, positions: IntArray, weight: FloatArray, s: float,
    smoothing: float,
) -> tuple[FloatArray, FloatArray]:
    """For each answer: its item's scores without it, and its worker's confusion without it.

    ``weight[t, a]`` is the mass answer ``a`` put on truth ``t`` in the counts (the item's
    posterior, or its gold label), removed from the worker's row ``t``. Returns
    ``held[a, t]`` (log scores of the item without the answer) and ``pi[a, t]`` (probability of
    the answer's label under truth ``t`` for its worker, with the answer removed).
    """
    k = answers.n_labels
    ii = answers.item_idx[positions]
    ww = answers.worker_idx[positions]
    gg = answers.label_idx[positions]
    q = weight.T  # [answer, t]
    cell = fit.counts[ww, :, gg]
    row = fit.counts[ww].sum(axis=2)
    pi = (cell - q + s * fit.pool[:, gg].T + smoothing) / (row - q + s + k * smoothing)
    pi = np.maximum(pi, 1e-12)
    own = np.log(np.maximum(fit.confusion[ww, :, gg], _FLOOR))
    held = fit.scores[:, ii].T - own
    held -= held.max(axis=1, keepdims=True)
    return held, pi


def _gold_temperature(
    fit: _Fit,
    answers: ClassAnswers,
    gold_rows: IntArray,
    gold_cols: IntArray,
    s: float,
    smoothing: float,
) -> float:
    """The temperature under which gold items, scored without their own answers' counts, are
    most likely to get their known label."""
    k = answers.n_labels
    is_gold = np.zeros(answers.n_items, dtype=bool)
    is_gold[gold_rows] = True
    positions = np.flatnonzero(is_gold[answers.item_idx])
    weight = fit.post[:, answers.item_idx[positions]]
    _, pi = _leave_out(fit, answers, positions, weight, s, smoothing)
    # Scores of each gold item from its answers under the confusion without those answers.
    log_prior = np.log(fit.class_prior)
    scores = np.stack(
        [
            np.bincount(answers.item_idx[positions], weights=np.log(pi[:, t]),
                        minlength=answers.n_items)[gold_rows] + log_prior[t]
            for t in range(k)
        ],
        axis=1,
    )
    scores -= scores.max(axis=1, keepdims=True)
    best_ll, best_tau = -np.inf, 1.0
    for tau in TEMPERATURE_GRID:
        post = log_normalise(tau * scores)
        ll = float(np.log(np.maximum(post[np.arange(gold_rows.size), gold_cols], _FLOOR)).sum())
        if ll > best_ll:
            best_ll, best_tau = ll, float(tau)
    return best_tau


def _subset(answers: ClassAnswers, keep: npt.NDArray[np.bool_]) -> ClassAnswers:
    """The answers where ``keep``, items re-indexed, workers and labels as they were."""
    kept_items, item_idx = np.unique(answers.item_idx[keep], return_inverse=True)
    return ClassAnswers(
        items=tuple(answers.items[i] for i in kept_items),
        workers=answers.workers,
        labels=answers.labels,
        item_idx=item_idx.astype(np.intp),
        worker_idx=answers.worker_idx[keep],
        label_idx=answers.label_idx[keep],
    )


def _predict_answers(fit: _Fit, answers: ClassAnswers, tested: npt.NDArray[np.bool_]) -> FloatArray:
    """Summed log-probability of each tested answer given its item's other answers, per
    temperature of :data:`TEMPERATURE_GRID`, under a fit made without those items."""
    k = answers.n_labels
    ii, ww, gg = answers.item_idx[tested], answers.worker_idx[tested], answers.label_idx[tested]
    log_conf = np.log(np.maximum(fit.confusion, _FLOOR))
    own = log_conf[ww, :, gg]  # [answer, t]
    scores = np.stack(
        [np.bincount(ii, weights=own[:, t], minlength=answers.n_items) for t in range(k)], axis=1
    ) + np.log(fit.class_prior)
    held = scores[ii] - own
    held -= held.max(axis=1, keepdims=True)
    pi = fit.confusion[ww, :, gg]
    out = np.empty(TEMPERATURE_GRID.size)
    for j, tau in enumerate(TEMPERATURE_GRID):
        post = np.exp(tau * held)
        predicted = (post * pi).sum(axis=1) / post.sum(axis=1)
        out[j] = float(np.log(np.maximum(predicted, _FLOOR)).sum())
    return out
