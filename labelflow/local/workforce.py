"""Who answers the fake labeling jobs: simulated workers, or answers recorded earlier.

A workforce receives one :class:`WorkerTask` per data object (the manifest line, the
``taskInput`` the pre-annotation Lambda built, the task type and labels, how many workers
the job asked for) and returns one :class:`WorkerAnswer` per worker. Each answer's
``answer_content`` is the form submission Ground Truth would record: one JSON object keyed by
the crowd element's ``name`` (:attr:`WorkerTask.element_name`: the answer element of the job's
worker template, unless the workforce is given an ``element_name``), holding the answer shape
of the task type (``{"label": ...}`` for classification,
``{"labels": [...]}`` for multi-label, ``{"boundingBoxes": [...], "inputImageProperties":
{...}}`` for boxes, and so on; see ``gt_contracts.answers``).

* :class:`SimulatedWorkforce`: each :class:`SimulatedWorker` answers the truth with
  probability ``accuracy`` and a wrong answer otherwise. Random draws are seeded per
  ``(seed, job, data object)``, so results do not depend on the order items are processed.
* :class:`RecordedWorkforce`: replays a ``question,worker,answer`` CSV; an item's question
  id is read from its manifest line (``item-id``, ``id``, ``source-ref`` or ``source`` by
  default).
"""

from __future__ import annotations

import copy
import csv
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "RecordedWorkforce",
    "SimulatedWorker",
    "SimulatedWorkforce",
    "WorkerAnswer",
    "WorkerTask",
    "Workforce",
    "answer_shape",
]

_CLASSIFICATION = frozenset({"image-classification", "text-classification"})
_MULTI_LABEL = frozenset({"image-classification-multilabel", "text-classification-multilabel"})
_LISTS = {"bounding-box": "boundingBoxes", "named-entity": "entities", "keypoint": "keypoints"}


@dataclass(frozen=True)
class WorkerTask:
    """One data object as the workforce sees it."""

    job_name: str
    dataset_object_id: str
    line: Mapping[str, Any]
    task_input: Mapping[str, Any]
    task_type: str
    labels: tuple[str, ...]
    workers_per_object: int
    #: The ``name`` of the answer element of the job's worker template.
    element_name: str
    region: str = "us-east-1"


@dataclass(frozen=True)
class WorkerAnswer:
    """One worker's submission for one data object."""

    worker_id: str
    answer_content: dict[str, Any]
    acceptance_time: datetime
    submission_time: datetime

    @property
    def time_spent_seconds(self) -> float:
        return (self.submission_time - self.acceptance_time).total_seconds()


class Workforce(Protocol):
    """Answers the tasks of a fake labeling job."""

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]: ...


def answer_shape(task_type: str, value: Any) -> Any:
    """``value`` in the crowd-element answer shape of ``task_type``.

    A classification truth may be a plain label (``"cat"``) and a multi-label truth a list
    of labels; every other task type takes the answer shape itself (free text: a string;
    numeric: a number).
    """
    if task_type in _CLASSIFICATION and isinstance(value, str):
        return {"label": value}
    if task_type in _MULTI_LABEL and isinstance(value, list | tuple):
        return {"labels": list(value)}
    return copy.deepcopy(value)


def _wrong(task_type: str, answer: Any, labels: Sequence[str], rng: random.Random) -> Any:
    """A plausible wrong answer; the truth when no wrong answer can be made."""
    if task_type in _CLASSIFICATION:
        others = [label for label in labels if label != answer.get("label")]
        return {"label": rng.choice(others)} if others else answer
    if task_type in _MULTI_LABEL:
        if not labels:
            return answer
        flipped = rng.choice(list(labels))
        chosen = set(answer.get("labels", []))
        chosen.symmetric_difference_update({flipped})
        return {"labels": [label for label in labels if label in chosen]}
    if task_type == "numeric" and isinstance(answer, int | float):
        return answer + rng.choice([-1, 1]) * max(1.0, abs(answer) * 0.5)
    if task_type == "free-text" and isinstance(answer, str):
        return answer[::-1] if len(answer) > 1 else answer + "?"
    key = _LISTS.get(task_type)
    if key and isinstance(answer, dict) and answer.get(key):
        wrong = copy.deepcopy(answer)
        wrong[key].pop(rng.randrange(len(wrong[key])))
        return wrong
    return answer


@dataclass(frozen=True)
class SimulatedWorker:
    """A worker who answers the truth with probability ``accuracy``."""

    worker_id: str
    accuracy: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.accuracy <= 1.0:
            raise ValueError(f"accuracy {self.accuracy} of {self.worker_id} is not in [0, 1]")


@dataclass
class SimulatedWorkforce:
    """Simulated workers answering from a truth function.

    Args:
        workers: The work team; each item goes to ``NumberOfHumanWorkersPerDataObject`` of
            them, drawn at random (all of them when the team is smaller).
        truth: The correct answer of a manifest line (see :func:`answer_shape`).
        seed: Seed of every random draw.
        element_name: Crowd-element name of the answers (default: the task's, the answer
            element of the job's worker template).
        labels: Labels to draw wrong answers from when neither the job's label categories
            nor the task input list them.
        seconds_per_task: Time each simulated worker spends on a task.
    """

    workers: Sequence[SimulatedWorker]
    truth: Callable[[Mapping[str, Any]], Any]
    seed: int = 0
    element_name: str | None = None
    labels: Sequence[str] = ()
    seconds_per_task: float = 12.5
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        if not self.workers:
            raise ValueError("a simulated workforce needs at least one worker")
        ids = [worker.worker_id for worker in self.workers]
        if len(set(ids)) != len(ids):
            raise ValueError(f"worker ids must be unique: {ids}")

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]:
        rng = random.Random(f"{self.seed}:{task.job_name}:{task.dataset_object_id}")
        count = min(task.workers_per_object, len(self.workers))
        chosen = sorted(rng.sample(range(len(self.workers)), count))
        truth = answer_shape(task.task_type, self.truth(task.line))
        labels = task.labels or tuple(self.labels)
        name = self.element_name or task.element_name
        accepted = self.start + timedelta(seconds=int(task.dataset_object_id or 0) * 60)
        answers = []
        for slot, index in enumerate(chosen):
            worker = self.workers[index]
            right = rng.random() < worker.accuracy
            value = truth if right else _wrong(task.task_type, truth, labels, rng)
            began = accepted + timedelta(seconds=slot)
            answers.append(
                WorkerAnswer(
                    worker_id=worker.worker_id,
                    answer_content={name: value},
                    acceptance_time=began,
                    submission_time=began + timedelta(seconds=self.seconds_per_task),
                )
            )
        return answers


def _default_question(line: Mapping[str, Any]) -> str:
    for key in ("item-id", "id", "source-ref", "source"):
        if key in line:
            return str(line[key])
    raise KeyError("manifest line has none of item-id, id, source-ref, source")


@dataclass
class RecordedWorkforce:
    """Answers replayed from a ``question,worker,answer`` CSV file.

    An answer cell holding a JSON object or array is decoded; any other cell is a label (or
    free text, or a number for numeric tasks). Items without recorded answers get none, and
    every recorded worker of an item answers, whatever the job's workers per object.
    """

    rows: Mapping[str, Sequence[tuple[str, str]]]
    question_of: Callable[[Mapping[str, Any]], str] = _default_question
    element_name: str | None = None
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    @classmethod
    def from_csv(
        cls,
        path: Path,
        *,
        question_of: Callable[[Mapping[str, Any]], str] = _default_question,
        element_name: str | None = None,
    ) -> RecordedWorkforce:
        rows: dict[str, list[tuple[str, str]]] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"question", "worker", "answer"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: missing columns {sorted(missing)}")
            for row in reader:
                rows.setdefault(row["question"], []).append((row["worker"], row["answer"]))
        return cls(rows=rows, question_of=question_of, element_name=element_name)

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]:
        recorded = self.rows.get(self.question_of(task.line), ())
        name = self.element_name or task.element_name
        accepted = self.start + timedelta(seconds=int(task.dataset_object_id or 0) * 60)
        answers = []
        for slot, (worker, cell) in enumerate(recorded):
            value: Any = cell
            if cell[:1] in ("{", "["):
                value = json.loads(cell)
            elif task.task_type == "numeric":
                value = float(cell)
            began = accepted + timedelta(seconds=slot)
            answers.append(
                WorkerAnswer(
                    worker_id=worker,
                    answer_content={name: answer_shape(task.task_type, value)},
                    acceptance_time=began,
                    submission_time=began + timedelta(seconds=10),
                )
            )
        return answers
