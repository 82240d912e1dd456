"""Shared vocabulary of the consolidation library.

Every task type turns several workers' answers into one *outcome* per item:

* :class:`Consensus`: a consolidated value, a confidence in [0, 1] and the evidence
  (how many workers answered, how their answers split);
* :class:`NoConsensus`: an explicit refusal with a human-readable reason and the same evidence.

An item is never dropped: whatever happens to its answers, it comes back as one of the two.
Alongside the outcomes every run reports one :class:`WorkerSkill` per worker, so skill can be
tracked across jobs and passed back in as a prior.

The library is pure: no I/O, no logging, no AWS clients. Bad input raises
:class:`ConsolidationError` naming the offending item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "Annotation",
    "Consensus",
    "ConsolidationError",
    "ConsolidationRun",
    "Label",
    "NoConsensus",
    "Outcome",
    "TaskId",
    "WorkerId",
    "WorkerSkill",
    "all_finite",
    "clamp_unit",
    "round_confidence",
]

TaskId: TypeAlias = str
WorkerId: TypeAlias = str
Label: TypeAlias = str


class ConsolidationError(ValueError):
    """Input the library cannot consolidate; names the item (``task_id``) when there is one."""

    def __init__(self, message: str, *, task_id: TaskId | None = None) -> None:
        self.task_id = task_id
        super().__init__(f"item {task_id!r}: {message}" if task_id is not None else message)


@dataclass(frozen=True, slots=True)
class Annotation:
    """One worker's answer to one item, in long format.

    ``label`` is a class name for classification; other task types carry their own answer
    records (see each task-type module) but keep the same ``task_id``/``worker_id`` pair.
    """

    task_id: TaskId
    worker_id: WorkerId
    label: Label


@dataclass(frozen=True, slots=True)
class Consensus:
    """A consolidated value for one item.

    Attributes:
        task_id: the item.
        value: the consolidated label, JSON-serialisable, shaped by the task type.
        confidence: probability-like score in [0, 1] that ``value`` is right.
        evidence: how many workers answered and how their answers split.
    """

    task_id: TaskId
    value: Any
    confidence: float
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def consensus(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class NoConsensus:
    """An item that could not be consolidated, with the reason (never silent)."""

    task_id: TaskId
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    value: Any = None

    @property
    def consensus(self) -> bool:
        return False


Outcome: TypeAlias = Consensus | NoConsensus


@dataclass(frozen=True, slots=True)
class WorkerSkill:
    """What one run learned about one worker.

    Attributes:
        worker_id: the worker.
        answers: how many answers of this worker the run used.
        accuracy: estimated probability that this worker's answer is right (classification), or
            the task type's agreement score with the consensus (boxes: matched-box precision,
            spans: F1, text: similarity, numbers: closeness); always in [0, 1].
        confusion: for classification, ``confusion[true][given]`` = P(worker says *given* | truth
            is *true*); ``None`` where the task type has no confusion matrix.
        metrics: extra task-type specific figures (mean IoU, mean absolute error, ...).
        counts: for classification, ``counts[true][given]``: the soft answer counts behind the
            estimate (posterior mass of each true class over the worker's answers). They are
            additive: skill carried across batches and jobs is the sum of their counts, and a
            method given them as a prior treats them as the answers they are.
    """

    worker_id: WorkerId
    answers: int
    accuracy: float
    confusion: Mapping[Label, Mapping[Label, float]] | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[Label, Mapping[Label, float]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "worker": self.worker_id,
            "answers": self.answers,
            "accuracy": round_confidence(self.accuracy, 4),
        }
        if self.confusion is not None:
            out["confusion"] = {
                t: {g: round(p, 4) for g, p in row.items()} for t, row in self.confusion.items()
            }
        if self.metrics:
            out["metrics"] = {k: round(v, 4) for k, v in self.metrics.items()}
        if self.counts is not None:
            out["counts"] = {
                t: {g: round(n, 4) for g, n in row.items() if n} for t, row in self.counts.items()
            }
        return out


@dataclass(frozen=True, slots=True)
class ConsolidationRun:
    """The result of consolidating one batch: an outcome per item and a skill per worker."""

    outcomes: Sequence[Outcome]
    workers: Sequence[WorkerSkill]
    method: str
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def no_consensus(self) -> int:
        return sum(1 for o in self.outcomes if isinstance(o, NoConsensus))


def all_finite(*values: float) -> bool:
    """Whether every value is a finite number (hyperparameter checks: NaN compares false)."""
    return all(math.isfinite(v) for v in values)


def clamp_unit(x: float) -> float:
    """Clamp ``x`` into [0, 1]; NaN becomes 0."""
    if math.isnan(x):
        return 0.0
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def round_confidence(x: float, digits: int = 4) -> float:
    """A confidence as written to manifests: clamped to [0, 1] and rounded."""
    return round(clamp_unit(float(x)), digits)
