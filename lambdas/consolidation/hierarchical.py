"""Hierarchical Dawid-Skene: the default classification method (``"auto"``).

Dawid-Skene learns a ``K x K`` confusion matrix per worker; majority vote treats every worker
alike. Real crowds sit in between, and where depends on the evidence: a worker with hundreds of
answers has a confusion matrix of their own, a worker with three has mostly the crowd's. This
model says so directly. Each row of a worker's confusion matrix has a Dirichlet prior centred
on the *pool's* row with ``s`` pseudo-answers, and each row of the pool one centred on a single
accuracy for every class, with the same ``s``::

    pi[w, t, :] = (counts[w, t, :] + s * pool[t, :]) / (sum(counts[w, t, :]) + s)

``s`` moves the model along a continuum: near 0 it is Dawid-Skene, large it is one confusion
matrix with one accuracy for everybody, which is majority vote. ``counts`` are the worker's
soft answer counts: this run's (posterior-weighted) plus those *carried* from earlier batches
and jobs (:attr:`WorkerSkill.counts`), which count as the answers they are. A worker new to the
project starts from the pool, which holds every carried answer of the project.

Choosing ``s`` (``shrinkage=None``, the default), by empirical Bayes: the value of
:data:`SHRINKAGE_GRID` under which the workers' count rows are most likely as draws from
Dirichlet-multinomials centred on the pool (alternated twice with EM, whose counts depend on
it). Homogeneous workers, or workers with few answers each, give a large ``s``; workers who
differ, with the answers to show it, a small one. Nothing is tuned to a data set, and carried
counts take part, so a batch whose workers have long records treats them as individuals.

Confidence: the EM posterior assumes workers err independently given the truth, which real
crowds do not, so it is over-confident. The scores are tempered by a factor ``tau`` in (0, 1]
(the winning label never changes), chosen out of sample by five-fold cross-validation over
items: each fold's items are held out, the model is fitted on the rest (with the carried
counts, and its gold items clamped), and each held-out answer is predicted from the other
answers of its item. With at least :data:`MIN_GOLD_FOR_CALIBRATION` gold items, only the
held-out gold labels judge ``tau`` (``"calibration": "gold"``); otherwise the held-out answers
do (``"calibration": "held-out items"``). ``tau`` stays 1 unless another value predicts better
by more than one standard error (taken over items), so a batch too small to tell keeps the
model's own posterior. Without gold this remains over-confident where hard items fool several
workers at once, which no method can see in the answers alone; a few gold items per job
correct it (``docs/consolidation.md``).

When no item has two answers there is nothing to hold out and nothing to iterate on (EM would
drift to one class): one pass takes each answer as given, so the confusion matrices are the
carried skill's and each item gets its worker's label. Gold items keep their known label
throughout and anchor the confusion matrices.
"""

from __future__ import annotations

import math
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

SHRINKAGE_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
TEMPERATURE_GRID = np.linspace(0.05, 1.0, 39)
MIN_GOLD_FOR_CALIBRATION = 20
_MAX_HELD_OUT = 20_000
_FOLDS = 5
_FLOOR = 1e-300

Calibration = Literal["auto", "none"]

_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


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
    """One EM fit: class-major scores, and the counts behind them."""

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
            per run from :data:`SHRINKAGE_GRID` by empirical Bayes.
        calibration: ``"auto"`` tempers the posteriors out of sample (by held-out gold labels
            when there are enough, held-out answers otherwise); ``"none"`` reports the raw EM
            posteriors.
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
        values = [self.tol, self.smoothing] + (
            [self.shrinkage] if self.shrinkage is not None else []
        )
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
            empty = np.zeros((m, k, k))
            return ClassificationResult(
                answers=answers,
                posteriors=np.zeros((0, k)),
                method=self.name,
                accuracy=np.zeros(m),
                confusion=empty,
                tie_policy=self.tie_policy,
                counts=empty,
            )
        carried, pool_carried = carried_counts(answers, prior)
        overlap = bool((np.bincount(answers.item_idx, minlength=n) >= 2).any())
        model = _Model(self, carried, pool_carried, max_iter=self.max_iter if overlap else 1)

        shrinkage = self.shrinkage
        fit: _Fit | None = None
        if shrinkage is None:
            # Empirical Bayes alternated with EM (the counts depend on the shrinkage).
            shrinkage = SHRINKAGE_GRID[len(SHRINKAGE_GRID) // 2]
            for _ in range(2):
                fit = model.fit(answers, shrinkage, gold_rows, gold_cols)
                chosen = _empirical_bayes(fit.counts, fit.pool)
                if chosen == shrinkage:
                    break
                shrinkage, fit = chosen, None
        if fit is None:
            fit = model.fit(answers, shrinkage, gold_rows, gold_cols)

        tau, source = 1.0, "none"
        if self.calibration == "auto" and overlap:
            held_out = model.cross_validate(answers, shrinkage, gold_rows, gold_cols)
            use_gold = int(held_out.is_gold.sum()) >= MIN_GOLD_FOR_CALIBRATION
            judged = held_out.is_gold if use_gold else ~held_out.is_gold
            tau = _temperature(held_out.log_likelihood[judged], held_out.item[judged])
            source = "gold" if use_gold else "held-out items"
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
                "temperature": tau,
                "calibration": source,
                "carried_answers": float(carried.sum()),
                "class_prior": {
                    label: float(p)
                    for label, p in zip(answers.labels, fit.class_prior, strict=True)
                },
            },
        )


@dataclass(frozen=True)
class _HeldOut:
    """Held-out log-likelihoods ``[observation, temperature]``, each observation's item and
    whether it is a gold label (else a worker's answer)."""

    log_likelihood: FloatArray
    item: IntArray
    is_gold: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Model:
    """The method's settings with one run's carried counts: fits and cross-validates."""

    method: HierarchicalDawidSkene
    carried: FloatArray
    pool_carried: FloatArray
    max_iter: int

    def cross_validate(
        self, answers: ClassAnswers, s: float, gold_rows: IntArray, gold_cols: IntArray
    ) -> _HeldOut:
        """How well each temperature predicts what the fit never saw.

        Items are split in five folds by a shuffle fixed by their ids (so answer order never
        changes the split; at most :data:`_MAX_HELD_OUT` answers' worth of items on large runs).
        Each fold's complement is fitted alone, with the carried counts and its gold items
        clamped; every answer of the fold is predicted from the other answers of its item, and
        every gold item of the fold has its known label predicted from all its answers. Held-out
        *items*, not answers: an item's own posterior never shapes the confusion matrices that
        judge it.
        """
        n = answers.n_items
        order = np.asarray(
            sorted(
                range(n), key=lambda i: (zlib.crc32(answers.items[i].encode()), answers.items[i])
            ),
            dtype=np.intp,
        )
        per_item = np.bincount(answers.item_idx, minlength=n)
        if answers.n_answers > _MAX_HELD_OUT:
            order = order[np.cumsum(per_item[order]) <= _MAX_HELD_OUT]
        fold = np.full(n, -1, dtype=np.intp)
        fold[order] = np.arange(order.size) % _FOLDS
        answer_fold = fold[answers.item_idx]
        parts: list[_HeldOut] = []
        for f in range(_FOLDS):
            train, kept = _subset(answers, (answer_fold != f) & (answer_fold >= 0))
            tested = (answer_fold == f) & (per_item[answers.item_idx] >= 2)
            if train.n_items == 0 or not tested.any():
                continue
            in_train = np.isin(gold_rows, kept)
            fit = self.fit(
                train, s, np.searchsorted(kept, gold_rows[in_train]), gold_cols[in_train]
            )
            gold_tested = fold[gold_rows] == f
            rows, cols = gold_rows[gold_tested], gold_cols[gold_tested]
            parts.append(
                _HeldOut(
                    np.concatenate(
                        [
                            _predict_answers(fit, answers, tested),
                            _predict_gold(fit, answers, rows, cols),
                        ]
                    ),
                    np.concatenate([answers.item_idx[tested], rows]),
                    np.concatenate(
                        [np.zeros(int(tested.sum()), dtype=bool), np.ones(rows.size, dtype=bool)]
                    ),
                )
            )
        if not parts:
            return _HeldOut(
                np.zeros((0, TEMPERATURE_GRID.size)),
                np.zeros(0, dtype=np.intp),
                np.zeros(0, dtype=bool),
            )
        return _HeldOut(
            np.concatenate([p.log_likelihood for p in parts]),
            np.concatenate([p.item for p in parts]),
            np.concatenate([p.is_gold for p in parts]),
        )

    def fit(
        self, answers: ClassAnswers, s: float, gold_rows: IntArray, gold_cols: IntArray
    ) -> _Fit:
        """EM at shrinkage ``s``, from the vote shares, gold items clamped."""
        n, m, k = answers.n_items, answers.n_workers, answers.n_labels
        method, carried, pool_carried = self.method, self.carried, self.pool_carried
        items, column = answers.item_idx, answers.worker_idx * k + answers.label_idx
        votes = answers.votes
        posteriors = votes / votes.sum(axis=1, keepdims=True)
        clamp_gold(posteriors, gold_rows, gold_cols)
        post_t = np.ascontiguousarray(posteriors.T)
        pool_prior = np.full((k, k), (1.0 - method.initial_accuracy) * k / max(k - 1, 1))
        pool_prior[np.diag_indices(k)] = method.initial_accuracy * k
        scores = np.empty((k, n))
        log_likelihood = -np.inf
        converged = False
        iterations = 0
        for _ in range(self.max_iter):
            iterations += 1
            run_counts = _soft_counts(post_t, items, column, m, k)
            counts = run_counts + carried
            # The pool: every answer of the run and of the project's history, plus K
            # pseudo-answers per row at the initial accuracy (an unseen class has a defined
            # row, and a tiny first batch is read as a crowd better than chance). Its rows
            # shrink in turn toward one accuracy for every class, with the same strength.
            pool_counts = run_counts.sum(axis=0) + pool_carried + pool_prior
            accuracy = np.trace(pool_counts) / pool_counts.sum()
            one_coin = np.full((k, k), (1.0 - accuracy) / max(k - 1, 1))
            one_coin[np.diag_indices(k)] = accuracy
            pool = pool_counts + s * one_coin
            pool /= pool.sum(axis=1, keepdims=True)
            confusion = counts + s * pool + method.smoothing
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
            if abs(new_ll - log_likelihood) <= method.tol * abs(new_ll):
                log_likelihood = new_ll
                converged = True
                break
            log_likelihood = new_ll
        run_counts = _soft_counts(post_t, items, column, m, k)
        return _Fit(
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
    counts: FloatArray = stacked.reshape(k, m, k).transpose(1, 0, 2).astype(np.float64)
    return counts


def _subset(answers: ClassAnswers, keep: npt.NDArray[np.bool_]) -> tuple[ClassAnswers, IntArray]:
    """The answers where ``keep``, items re-indexed (and the kept items' old indices, sorted),
    workers and labels as they were."""
    kept_items, item_idx = np.unique(answers.item_idx[keep], return_inverse=True)
    subset = ClassAnswers(
        items=tuple(answers.items[i] for i in kept_items),
        workers=answers.workers,
        labels=answers.labels,
        item_idx=item_idx.astype(np.intp),
        worker_idx=answers.worker_idx[keep],
        label_idx=answers.label_idx[keep],
    )
    return subset, kept_items.astype(np.intp)


def _predict_answers(fit: _Fit, answers: ClassAnswers, tested: npt.NDArray[np.bool_]) -> FloatArray:
    """Log-probability of each tested answer given its item's other answers, ``[answer,
    temperature]`` over :data:`TEMPERATURE_GRID`, under a fit made without those items."""
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
    out = np.empty((ii.size, TEMPERATURE_GRID.size))
    for j, tau in enumerate(TEMPERATURE_GRID):
        post = np.exp(tau * held)
        predicted = (post * pi).sum(axis=1) / post.sum(axis=1)
        out[:, j] = np.log(np.maximum(predicted, _FLOOR))
    return out


def _predict_gold(fit: _Fit, answers: ClassAnswers, rows: IntArray, cols: IntArray) -> FloatArray:
    """Log-probability of the known label ``cols`` of each gold item ``rows`` given its
    answers, ``[item, temperature]``, under a fit made without those items."""
    on_gold = np.isin(answers.item_idx, rows)
    ii, ww, gg = answers.item_idx[on_gold], answers.worker_idx[on_gold], answers.label_idx[on_gold]
    own = np.log(np.maximum(fit.confusion[ww, :, gg], _FLOOR))
    scores = np.stack(
        [
            np.bincount(ii, weights=own[:, t], minlength=answers.n_items)[rows]
            for t in range(answers.n_labels)
        ],
        axis=1,
    ) + np.log(fit.class_prior)
    scores -= scores.max(axis=1, keepdims=True)
    out = np.empty((rows.size, TEMPERATURE_GRID.size))
    for j, tau in enumerate(TEMPERATURE_GRID):
        post = log_normalise(tau * scores)
        out[:, j] = np.log(np.maximum(post[np.arange(rows.size), cols], _FLOOR))
    return out


def _temperature(log_likelihood: FloatArray, item: IntArray) -> float:
    """The temperature to use, from held-out log-likelihoods ``[observation, temperature]``.

    1 (the model's own posterior) unless another temperature predicts the held-out
    observations better by more than one standard error of the paired difference, taken over
    items (the observations of one item share its truth), so a batch too small to tell keeps
    the model's posterior instead of whichever temperature its noise favours.
    """
    items, per_observation = np.unique(item, return_inverse=True)
    if items.size < 2:
        return 1.0
    best = int(np.argmax(log_likelihood.sum(axis=0)))
    gain = np.bincount(per_observation, weights=log_likelihood[:, best] - log_likelihood[:, -1])
    if gain.mean() <= gain.std(ddof=1) / np.sqrt(items.size):
        return 1.0
    return float(TEMPERATURE_GRID[best])


def _empirical_bayes(counts: FloatArray, pool: FloatArray) -> float:
    """The shrinkage under which the workers' count rows are most likely as draws from a
    Dirichlet-multinomial centred on the pool (marginal likelihood, over :data:`SHRINKAGE_GRID`)."""
    rows = counts.reshape(-1, counts.shape[2])
    centre = np.tile(pool, (counts.shape[0], 1))
    used = rows.sum(axis=1) > 1e-9
    rows, centre = rows[used], centre[used]
    if not rows.size:
        return SHRINKAGE_GRID[-1]
    n = rows.sum(axis=1)
    best, best_ll = SHRINKAGE_GRID[-1], -np.inf
    for s in SHRINKAGE_GRID:
        alpha = s * centre
        ll = float(
            (_lgamma(s) - _lgamma(s + n)).sum() + (_lgamma(rows + alpha) - _lgamma(alpha)).sum()
        )
        if ll > best_ll:
            best, best_ll = s, ll
    return best
