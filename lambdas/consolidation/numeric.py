"""Numbers and ratings: a skill-weighted robust estimate per item.

Workers answer each item with a number (a ``crowd-slider`` position, a ``crowd-input
type=number`` value, a 1-5 star rating). The consolidated value is an ``estimator`` of the
answers, each answer weighted by its worker's skill:

* ``"median"`` (default): the weighted median: the smallest value at which the cumulative weight
  reaches half the total; when it lands exactly on half, the mean of that value and the next
  (so with equal weights it is the ordinary median);
* ``"mean"``: the weighted mean;
* ``"trimmed-mean"``: the weighted mean after cutting ``trim`` of the total weight from each
  end of the sorted answers (an answer straddling a cut keeps its remaining weight).

Skill is estimated in two passes: an unweighted estimate first; then each worker's skill is the
share of their answers within tolerance of it over the items they shared with at least one other
worker, smoothed towards ``initial_skill`` and their ``prior`` accuracy::

    skill = (answers within tolerance + skill_smoothing * initial_skill + prior_strength * prior)
            / (items compared + skill_smoothing + prior_strength)

(the prior terms only for workers in ``prior``); the estimate is repeated with the skills
(floored at 0.01) as weights (``weighting="skill"``). The estimators sort the answers, so the
result does not depend on their order, and equal values need no tie-break.

*Tolerance* decides when an answer agrees with the consensus ``c``: ``|answer - c| <=
tolerance``. With ``tolerance=None`` it is ``relative_tolerance * |c|`` (5 % by default), which
means exact agreement for small integers (star ratings below 20) and for ``c = 0``; pass an
absolute ``tolerance`` (``1`` to accept adjacent stars) when that is too strict.

``Consensus.confidence`` is the (weighted) share of answers within tolerance of the consensus.
An item answered by a single worker has nothing to agree with: its confidence is the worker's
``prior`` accuracy, or 0.0 without a prior (as Ground Truth reports for one worker).
"""

from __future__ import annotations

import math
import numbers
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
    "Estimator",
    "NumericAnswer",
    "NumericConsolidator",
    "SkillWeighting",
    "weighted_estimate",
]

Estimator = Literal["median", "mean", "trimmed-mean"]
SkillWeighting = Literal["skill", "equal"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class NumericAnswer:
    """One worker's number for one item (``int`` or ``float``; booleans are rejected)."""

    task_id: TaskId
    worker_id: WorkerId
    value: float


@dataclass(frozen=True, slots=True)
class _Item:
    task_id: TaskId
    workers: list[WorkerId]
    values: list[float]
    rejected: str | None


@dataclass(frozen=True, kw_only=True)
class NumericConsolidator:
    """Skill-weighted median, mean or trimmed mean (see the module docstring).

    Attributes:
        estimator: ``"median"``, ``"mean"`` or ``"trimmed-mean"``.
        tolerance: absolute distance within which an answer agrees with the consensus;
            ``None`` uses ``relative_tolerance * |consensus|``.
        relative_tolerance: the tolerance as a share of ``|consensus|`` when ``tolerance`` is
            ``None``.
        trim: share of the total weight cut from each end by ``"trimmed-mean"``, in [0, 0.5).
        weighting: ``"skill"`` weights workers by estimated skill in the second pass;
            ``"equal"`` keeps every answer at weight 1 (``prior`` then only sets the
            confidence of single-worker items).
        prior_strength: how many items' worth of evidence a worker's ``prior`` accuracy counts
            for when blended with this run's agreement.
        skill_smoothing: pseudo-items at ``initial_skill`` added to every worker's skill.
        initial_skill: the skill assumed before any evidence, in [0, 1].
        name: the method name written to outputs (the estimator is appended).

    Example:
        >>> run = NumericConsolidator().aggregate(
        ...     [NumericAnswer("q", "w1", 4), NumericAnswer("q", "w2", 4),
        ...      NumericAnswer("q", "w3", 2)])
        >>> run.outcomes[0].value, run.outcomes[0].evidence["spread"]
        (4, 2)
    """

    estimator: Estimator = "median"
    tolerance: float | None = None
    relative_tolerance: float = 0.05
    trim: float = 0.2
    weighting: SkillWeighting = "skill"
    prior_strength: float = 2.0
    skill_smoothing: float = 2.0
    initial_skill: float = 0.7
    name: str = "numeric"

    def __post_init__(self) -> None:
        check_choice("estimator", self.estimator, get_args(Estimator))
        check_choice("weighting", self.weighting, get_args(SkillWeighting))
        if self.tolerance is not None and not (
            math.isfinite(self.tolerance) and self.tolerance >= 0
        ):
            raise ConsolidationError(f"tolerance must be finite and >= 0, got {self.tolerance}")
        if not (math.isfinite(self.relative_tolerance) and self.relative_tolerance >= 0):
            raise ConsolidationError(
                f"relative_tolerance must be finite and >= 0, got {self.relative_tolerance}"
            )
        if not 0.0 <= self.trim < 0.5:
            raise ConsolidationError(f"trim must be in [0, 0.5), got {self.trim}")
        check_skill_smoothing(
            prior_strength=self.prior_strength,
            skill_smoothing=self.skill_smoothing,
            initial_skill=self.initial_skill,
        )

    def aggregate(
        self,
        answers: Iterable[NumericAnswer],
        *,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate numeric answers into one number per item.

        Args:
            answers: one record per worker answer.
            prior: skill from earlier jobs, blended into the weights and used as the
                confidence of single-worker items.

        Returns:
            One outcome per item, in order of first appearance. A :class:`Consensus` has
            ``value`` = the estimate (an ``int`` when every answer is an ``int`` and the
            estimate is a whole number, else a ``float``) and ``evidence = {"workers": int,
            "values": {worker: answer}, "spread": max - min, "tolerance": float}`` (plus
            ``"single_answer": True`` for one worker). An item where a worker answered twice is
            a :class:`NoConsensus` naming the worker. Every worker gets a :class:`WorkerSkill`
            whose ``accuracy`` is the share of their answers within tolerance of the consensus,
            over the items they shared with others (the prior accuracy, or 0.0, when they
            shared none); ``metrics`` holds ``"compared"`` and, when compared > 0,
            ``"mean_absolute_error"``.

        Raises:
            ConsolidationError: an answer that is not a finite real number (NaN, infinity, a
                boolean, a string), naming the item and the worker.
        """
        groups, worker_order = group_answers(answers)
        items = [
            _Item(
                group.task_id,
                [a.worker_id for a in group.answers],
                [_checked_value(a) for a in group.answers],
                group.rejected,
            )
            for group in groups
        ]
        shared = [it for it in items if it.rejected is None and len(it.values) > 1]
        weights = dict.fromkeys(worker_order, 1.0)
        estimates = {it.task_id: self._estimate(it, weights) for it in shared}
        if self.weighting == "skill" and shared:
            agreement = self._agreement(shared, estimates)
            weights = smoothed_weights(
                worker_order,
                agreement,
                prior,
                smoothing=self.skill_smoothing,
                initial=self.initial_skill,
                prior_strength=self.prior_strength,
            )
            estimates = {it.task_id: self._estimate(it, weights) for it in shared}

        outcomes: list[Outcome] = []
        used = dict.fromkeys(worker_order, 0)
        for item in items:
            if item.rejected is not None:
                outcomes.append(
                    NoConsensus(item.task_id, item.rejected, {"workers": len(set(item.workers))})
                )
                continue
            for worker in item.workers:
                used[worker] += 1
            outcomes.append(self._outcome(item, estimates, weights, prior))
        return ConsolidationRun(
            outcomes=outcomes,
            workers=self._skills(worker_order, used, shared, estimates, prior),
            method=f"{self.name}-{self.estimator}",
            diagnostics={
                "estimator": self.estimator,
                "tolerance": self.tolerance,
                "relative_tolerance": self.relative_tolerance,
                "weighting": self.weighting,
                "weights": weights,
            },
        )

    # -- steps ------------------------------------------------------------------------------

    def _estimate(self, item: _Item, weights: Mapping[WorkerId, float]) -> float:
        return weighted_estimate(
            item.values, [weights[w] for w in item.workers], self.estimator, trim=self.trim
        )

    def _tolerance(self, consensus: float) -> float:
        if self.tolerance is not None:
            return float(self.tolerance)
        return self.relative_tolerance * abs(consensus)

    def _within(self, value: float, consensus: float) -> bool:
        slack = _EPS * max(1.0, abs(consensus))
        return abs(value - consensus) <= self._tolerance(consensus) + slack

    def _agreement(
        self, shared: Sequence[_Item], estimates: Mapping[TaskId, float]
    ) -> dict[WorkerId, list[float]]:
        table: dict[WorkerId, list[float]] = {}
        for item in shared:
            c = estimates[item.task_id]
            for worker, value in zip(item.workers, item.values, strict=True):
                table.setdefault(worker, []).append(1.0 if self._within(value, c) else 0.0)
        return table

    def _outcome(
        self,
        item: _Item,
        estimates: Mapping[TaskId, float],
        weights: Mapping[WorkerId, float],
        prior: Mapping[WorkerId, WorkerSkill] | None,
    ) -> Consensus:
        values = item.values
        evidence: dict[str, Any] = {
            "workers": len(values),
            "values": dict(zip(item.workers, values, strict=True)),
            "spread": max(values) - min(values),
        }
        if len(values) == 1:
            estimate: float = values[0]
            confidence = prior_accuracy(prior, item.workers[0])
            evidence["single_answer"] = True
        else:
            estimate = estimates[item.task_id]
            w = [weights[worker] for worker in item.workers]
            agree = math.fsum(
                wi for wi, v in zip(w, values, strict=True) if self._within(v, estimate)
            )
            confidence = agree / math.fsum(w)
        evidence["tolerance"] = self._tolerance(estimate)
        return Consensus(
            item.task_id, _typed(estimate, values), round_confidence(confidence), evidence
        )

    def _skills(
        self,
        workers: Sequence[WorkerId],
        used: Mapping[WorkerId, int],
        shared: Sequence[_Item],
        estimates: Mapping[TaskId, float],
        prior: Mapping[WorkerId, WorkerSkill] | None,
    ) -> list[WorkerSkill]:
        agreement = self._agreement(shared, estimates)
        errors: dict[WorkerId, list[float]] = {}
        for item in shared:
            c = estimates[item.task_id]
            for worker, value in zip(item.workers, item.values, strict=True):
                errors.setdefault(worker, []).append(abs(value - c))
        return agreement_skills(
            workers, used, agreement, prior, metric="mean_absolute_error", metric_values=errors
        )


def weighted_estimate(
    values: Sequence[float],
    weights: Sequence[float],
    estimator: Estimator,
    *,
    trim: float = 0.2,
) -> float:
    """The weighted median, mean or trimmed mean of ``values`` (definitions in the module).

    Args:
        values: finite numbers, at least one.
        weights: one positive weight per value.
        estimator: ``"median"``, ``"mean"`` or ``"trimmed-mean"``.
        trim: share of the total weight cut from each end by ``"trimmed-mean"``.

    Raises:
        ConsolidationError: no values, a weight per value missing, a weight that is not
            positive and finite, or an unknown estimator.

    Example:
        >>> weighted_estimate([1, 2, 3, 10], [1, 1, 1, 1], "median")
        2.5
        >>> weighted_estimate([1, 2, 10], [1, 1, 3], "median")
        10.0
    """
    if not values or len(values) != len(weights):
        raise ConsolidationError("weighted_estimate needs one weight per value, at least one")
    if not all(w > 0 and math.isfinite(w) for w in weights):
        raise ConsolidationError(f"weights must be positive and finite, got {list(weights)}")
    check_choice("estimator", estimator, get_args(Estimator))
    total = math.fsum(weights)
    if estimator == "mean":
        return math.fsum(v * w for v, w in zip(values, weights, strict=True)) / total
    pairs = sorted(zip(values, weights, strict=True))
    if estimator == "median":
        half = total / 2.0
        cumulative = 0.0
        for k, (value, weight) in enumerate(pairs):
            cumulative += weight
            if cumulative >= half - _EPS * total:
                if abs(cumulative - half) <= _EPS * total and k + 1 < len(pairs):
                    return (float(value) + float(pairs[k + 1][0])) / 2.0
                return float(value)
        return float(pairs[-1][0])
    low, high = trim * total, (1.0 - trim) * total
    kept_sum = kept_weight = 0.0
    cumulative = 0.0
    for value, weight in pairs:
        start, cumulative = cumulative, cumulative + weight
        kept = min(cumulative, high) - max(start, low)
        if kept > 0:
            kept_sum += kept * value
            kept_weight += kept
    return kept_sum / kept_weight


# -- helpers ----------------------------------------------------------------------------------


def _checked_value(answer: NumericAnswer) -> float:
    value: Any = answer.value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConsolidationError(
            f"worker {answer.worker_id!r}: answer {value!r} is not a number",
            task_id=answer.task_id,
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ConsolidationError(
            f"worker {answer.worker_id!r}: answer {value!r} is not a finite number",
            task_id=answer.task_id,
        )
    return number


def _typed(estimate: float, values: Sequence[float]) -> float:
    """The estimate as an ``int`` when every answer is an ``int`` and it is a whole number."""
    if all(isinstance(v, int) for v in values) and float(estimate).is_integer():
        return int(estimate)
    return float(estimate)
