"""Steps every task type shares, whatever its answers look like.

* **Grouping.** :func:`group_answers` gathers the answer records (:class:`AnswerRecord`) by
  item, in order of first appearance, and applies the duplicate policy; :class:`AnswerGroup`
  holds one item's answers and, when the input policies set the item aside, the reason.
* **Labels.** :func:`label_order` ranks the label vocabulary (declared order, else natural
  order of the labels seen) and :func:`unknown_label_reason` applies the unknown-label policy.
* **Validation.** :func:`check_choice` checks a policy value, :func:`check_input_policies` the
  duplicate and unknown-label policies, :func:`check_skill_smoothing` the hyperparameters of
  :func:`smoothed_skill`; :func:`is_finite_number` checks one number and :func:`numeric_rows`
  prepares coordinate rows for a float array that flags non-numbers.
* **Skill.** :func:`skill_weights` turns a ``prior`` into vote weights (the annotation-matching
  task types). The task types that estimate skill in two passes blend each worker's per-item
  agreement with a first consensus with ``initial_skill`` and their prior accuracy
  (:func:`smoothed_skill`, as vote weights :func:`smoothed_weights`) and report the agreement
  with the final consensus (:func:`agreement_skills`). :func:`prior_accuracy` is what a worker
  with nothing to compare reports.
* **Reporting.** :func:`run_diagnostics` counts items and no-consensus items next to the
  hyperparameters; :func:`round_half_up` rounds halves upwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, get_args

from consolidation._common import (
    ConsolidationError,
    Label,
    NoConsensus,
    Outcome,
    TaskId,
    WorkerId,
    WorkerSkill,
    clamp_unit,
)
from consolidation.answers import DuplicatePolicy, UnknownLabelPolicy, natural_sorted

__all__ = [
    "AnswerGroup",
    "AnswerRecord",
    "agreement_skills",
    "check_choice",
    "check_input_policies",
    "check_skill_smoothing",
    "fsum_mean",
    "group_answers",
    "is_finite_number",
    "label_order",
    "numeric_rows",
    "prior_accuracy",
    "round_half_up",
    "run_diagnostics",
    "skill_weights",
    "smoothed_skill",
    "smoothed_weights",
    "unknown_label_reason",
]

_MIN_WEIGHT = 0.01


class AnswerRecord(Protocol):
    """What every task type's answer record has: the item and the worker."""

    @property
    def task_id(self) -> TaskId: ...

    @property
    def worker_id(self) -> WorkerId: ...


A = TypeVar("A", bound=AnswerRecord)


@dataclass(frozen=True, slots=True)
class AnswerGroup(Generic[A]):
    """The answers to one item.

    Attributes:
        task_id: the item.
        answers: its answers in input order (one per worker once duplicates are handled).
        rejected: why the input policies set the item aside, or ``None``.
        repeated: how many of the item's answers were repeats of a worker's (not used).
    """

    task_id: TaskId
    answers: tuple[A, ...]
    rejected: str | None = None
    repeated: int = 0


def group_answers(
    answers: Iterable[A], *, on_duplicate: DuplicatePolicy = "keep_last"
) -> tuple[list[AnswerGroup[A]], tuple[WorkerId, ...]]:
    """Group answer records by item and apply the duplicate policy.

    Args:
        answers: records with ``task_id`` and ``worker_id``.
        on_duplicate: ``"keep_last"`` keeps each worker's last answer (one worker, one vote)
            and counts the repeats in :attr:`AnswerGroup.repeated`; ``"keep_first"`` keeps the
            first instead; ``"no_consensus"`` sets an item aside when a worker answered it more
            than once (the reason names the first such worker).

    Returns:
        The items in order of first appearance, and every worker in order of first appearance
        (including workers whose items were set aside).
    """
    by_item: dict[TaskId, list[A]] = {}
    workers: dict[WorkerId, None] = {}
    for answer in answers:
        by_item.setdefault(answer.task_id, []).append(answer)
        workers.setdefault(answer.worker_id, None)
    groups: list[AnswerGroup[A]] = []
    for task, rows in by_item.items():
        chosen: dict[WorkerId, A] = {}
        twice: WorkerId | None = None
        for row in rows:
            if row.worker_id in chosen and twice is None:
                twice = row.worker_id
            if on_duplicate == "keep_last" or row.worker_id not in chosen:
                chosen[row.worker_id] = row
        if twice is not None and on_duplicate == "no_consensus":
            reason = f"worker {twice!r} answered more than once"
            groups.append(AnswerGroup(task, tuple(rows), reason))
            continue
        # Input order of the kept answers (a worker's position is that of its kept answer).
        kept = tuple(row for row in rows if chosen[row.worker_id] is row)
        groups.append(AnswerGroup(task, kept, None, len(rows) - len(kept)))
    return groups, tuple(workers)


def label_order(declared: Sequence[Label] | None, seen: Iterable[Label]) -> dict[Label, int]:
    """Rank of each label: declared order, else the natural order of the labels seen.

    Raises:
        ConsolidationError: the declared labels contain duplicates.
    """
    if declared is None:
        return {label: k for k, label in enumerate(natural_sorted(set(seen)))}
    if len(set(declared)) != len(declared):
        raise ConsolidationError(f"declared labels contain duplicates: {list(declared)}")
    return {label: k for k, label in enumerate(declared)}


def unknown_label_reason(
    task_id: TaskId,
    labels: Iterable[Label],
    declared: Mapping[Label, int] | None,
    policy: UnknownLabelPolicy,
) -> str | None:
    """The reason to set an item aside for a label outside ``declared``, or ``None``.

    Raises:
        ConsolidationError: an unknown label under ``policy="error"``.
    """
    if declared is None:
        return None
    for label in labels:
        if label not in declared:
            if policy == "error":
                raise ConsolidationError(
                    f"unknown label {label!r} (declared: {list(declared)})", task_id=task_id
                )
            return f"unknown label {label!r}"
    return None


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise :class:`ConsolidationError` unless the policy ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConsolidationError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_input_policies(on_duplicate: str, on_unknown_label: str) -> None:
    """Raise :class:`ConsolidationError` unless ``on_duplicate`` is a
    :data:`~consolidation.answers.DuplicatePolicy` and ``on_unknown_label`` an
    :data:`~consolidation.answers.UnknownLabelPolicy`."""
    check_choice("on_duplicate", on_duplicate, get_args(DuplicatePolicy))
    check_choice("on_unknown_label", on_unknown_label, get_args(UnknownLabelPolicy))


def check_skill_smoothing(
    *, prior_strength: float, skill_smoothing: float, initial_skill: float
) -> None:
    """Raise :class:`ConsolidationError` unless the :func:`smoothed_skill` hyperparameters are
    valid: ``prior_strength`` and ``skill_smoothing`` >= 0, ``initial_skill`` in [0, 1]."""
    if not (prior_strength >= 0.0 and skill_smoothing >= 0.0):
        raise ConsolidationError(
            "prior_strength and skill_smoothing must be >= 0, got "
            f"{prior_strength} and {skill_smoothing}"
        )
    if not 0.0 <= initial_skill <= 1.0:
        raise ConsolidationError(f"initial_skill must be in [0, 1], got {initial_skill}")


def is_finite_number(x: object) -> bool:
    """Whether ``x`` is a finite int or float (booleans excluded)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def numeric_rows(rows: Sequence[tuple[object, ...]]) -> Sequence[tuple[object, ...]]:
    """``rows`` with every non-number (string, ``None``, boolean) replaced by NaN.

    A float array built from the result then flags those values as invalid.
    """
    if all(type(x) is float or type(x) is int for row in rows for x in row):
        return rows
    return [
        tuple(
            x if isinstance(x, int | float) and not isinstance(x, bool) else math.nan for x in row
        )
        for row in rows
    ]


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves upwards (2.5 -> 3, -2.5 -> -2)."""
    return math.floor(x + 0.5)


def skill_weights(
    workers: Iterable[WorkerId], prior: Mapping[WorkerId, WorkerSkill] | None
) -> dict[WorkerId, float]:
    """Vote and coordinate weight of each worker.

    Without a prior every worker weighs 1. With one, a worker weighs their earlier accuracy
    (at least 0.01, so a cluster never has zero weight) and a worker missing from the prior
    weighs the mean accuracy of the prior.
    """
    if not prior:
        return dict.fromkeys(workers, 1.0)
    known = [clamp_unit(skill.accuracy) for skill in prior.values()]
    default = max(sum(known) / len(known), _MIN_WEIGHT)
    return {
        w: max(clamp_unit(prior[w].accuracy), _MIN_WEIGHT) if w in prior else default
        for w in workers
    }


def prior_accuracy(prior: Mapping[WorkerId, WorkerSkill] | None, worker: WorkerId) -> float:
    """The worker's accuracy in ``prior``, clamped to [0, 1]; 0.0 when they are not in it."""
    skill = prior.get(worker) if prior else None
    return clamp_unit(skill.accuracy) if skill is not None else 0.0


def smoothed_skill(
    observed: Sequence[float],
    prior: Mapping[WorkerId, WorkerSkill] | None,
    worker: WorkerId,
    *,
    smoothing: float,
    initial: float,
    prior_strength: float,
) -> float:
    """A worker's agreement per item, smoothed towards ``initial`` and their prior accuracy::

        (sum(observed) + smoothing * initial + prior_strength * prior accuracy)
        / (len(observed) + smoothing + prior_strength)

    The prior terms only count for a worker in ``prior``; with nothing to average (a zero
    denominator) the skill is ``initial``.
    """
    total = math.fsum(observed) + smoothing * initial
    count = len(observed) + smoothing
    if prior and worker in prior:
        total += prior_strength * clamp_unit(prior[worker].accuracy)
        count += prior_strength
    return total / count if count > 0 else initial


def smoothed_weights(
    workers: Iterable[WorkerId],
    observed: Mapping[WorkerId, Sequence[float]],
    prior: Mapping[WorkerId, WorkerSkill] | None,
    *,
    smoothing: float,
    initial: float,
    prior_strength: float,
) -> dict[WorkerId, float]:
    """Vote weight of each worker: their :func:`smoothed_skill` (no observations for a worker
    missing from ``observed``), at least 0.01."""
    return {
        w: max(
            smoothed_skill(
                observed.get(w, []),
                prior,
                w,
                smoothing=smoothing,
                initial=initial,
                prior_strength=prior_strength,
            ),
            _MIN_WEIGHT,
        )
        for w in workers
    }


def fsum_mean(values: Sequence[float]) -> float:
    """The mean of ``values`` (at least one), summed with :func:`math.fsum`."""
    return math.fsum(values) / len(values)


def agreement_skills(
    workers: Sequence[WorkerId],
    answer_counts: Mapping[WorkerId, int],
    observed: Mapping[WorkerId, Sequence[float]],
    prior: Mapping[WorkerId, WorkerSkill] | None,
    *,
    metric: str,
    metric_values: Mapping[WorkerId, Sequence[float]] | None = None,
    mean: Callable[[Sequence[float]], float] = fsum_mean,
) -> list[WorkerSkill]:
    """One skill per worker from their per-item agreement with the consensus.

    A worker's ``accuracy`` is the mean of their ``observed`` agreement, or their
    :func:`prior_accuracy` when nothing was observed. ``metrics`` holds ``"compared"`` (how many
    items were observed) and, when that is above 0, ``metric``: the mean of the worker's
    ``metric_values`` (by default the ``observed`` agreement itself).

    Args:
        workers: every worker of the run, in the order to report them.
        answer_counts: answers of each worker the run used.
        observed: each worker's agreement per compared item.
        prior: earlier skill, reported for workers with nothing observed.
        metric: the name under which ``metrics`` reports the mean of ``metric_values``.
        metric_values: per-item figures of each observed worker, as many as their
            ``observed`` entries; ``None`` reports the mean agreement.
        mean: how a non-empty list of figures is averaged.
    """
    skills: list[WorkerSkill] = []
    for worker in workers:
        seen = observed.get(worker, [])
        metrics: dict[str, float] = {"compared": float(len(seen))}
        if seen:
            accuracy = mean(seen)
            metrics[metric] = accuracy if metric_values is None else mean(metric_values[worker])
        else:
            accuracy = prior_accuracy(prior, worker)
        skills.append(
            WorkerSkill(worker, answer_counts[worker], clamp_unit(accuracy), None, metrics)
        )
    return skills


def run_diagnostics(outcomes: Sequence[Outcome], **params: float) -> dict[str, Any]:
    """Run diagnostics: how many items, how many without consensus, and the hyperparameters."""
    return {
        "items": len(outcomes),
        "no_consensus": sum(1 for o in outcomes if isinstance(o, NoConsensus)),
        **params,
    }
