"""LabelFlow projects: what a labeling job labels, and how a job finds its project.

The vocabulary (task types, label rules, workforce kinds, backends, limits) is defined once in
:mod:`gt_contracts.project_schema`, which the stage configuration checks against as well.

Both Ground Truth Lambdas read the ``LABELFLOW_PROJECTS`` environment variable, a JSON object
keyed by project name::

    {"pets": {"task_type": "bounding-box", "labels": ["dog", "cat"],
              "method": "auto", "method_params": {}, "short_instruction": "Box every pet",
              "full_instruction": "<p>Draw one tight box per visible animal.</p>"}}

Fields: ``task_type`` (required, one of :data:`TASK_TYPES`), ``labels`` (list of unique,
non-empty names; at least 2 for the classification types, at least 1 for boxes, segmentation,
entities and keypoints, optional for free text and numbers), ``method`` (default ``"auto"``;
single- and multi-label classification name a classification method, which multi-label runs
per label; the other task types have one consolidator each and take only ``"auto"``),
``method_params`` (object, default ``{}``: the classification method's hyperparameters, or
the consolidator's keyword arguments for the other task types), ``short_instruction`` and
``full_instruction`` (strings, default ``""``), ``answer_name`` (the ``name`` of the crowd
element whose answer is consolidated, default ``null``: the answer is then found by its shape,
which needs it to be the template's only answer of that shape; set it when the template has
several, e.g. a transcription ``crowd-text-area`` next to a comment field), ``workers_per_item``
(integer 1-9, default 1: how many workers label each item of a labeling job), ``workforce``
(``{"type": "private"|"vendor"|"public", "workteam_arn", "price_usd", "free_of_pii",
"free_of_adult_content"}``, default a private team), ``task_time_limit_seconds`` (default 600),
``task_availability_seconds`` (default 864000) and ``max_concurrent_tasks`` (default null:
Ground Truth's own default), ``backend`` (``"ground-truth"``, the default, or
``"labelstudio"``) and ``worker_alert`` (default ``null``, off: ``{"min_accuracy": 0.6,
"min_answers": 20, "removal": "none"}``, when to flag a worker mid-job, see
:mod:`job_contracts.worker_alerts`; ``removal`` is one of :data:`WORKER_REMOVALS`, other than
``"none"`` on Label Studio projects only). Unknown keys are
ignored, so the deployment may carry fields only other components read. Method names and
parameters are checked by the consolidation library when the first batch is consolidated.

A job belongs to the project whose name, followed by ``-``, starts the job name
(case-insensitive; the longest such name wins). When exactly one project is configured, every
job belongs to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gt_contracts.errors import ContractError
from gt_contracts.project_schema import (
    BACKENDS,
    CLASSIFICATION_TASK_TYPES,
    DEFAULT_MIN_WORKER_ANSWERS,
    DEFAULT_TASK_AVAILABILITY_SECONDS,
    DEFAULT_TASK_TIME_LIMIT_SECONDS,
    MAX_WORKERS_PER_ITEM,
    METHOD_TASK_TYPES,
    MULTILABEL_TASK_TYPES,
    SOURCE_KINDS,
    TASK_TYPES,
    WORKER_REMOVALS,
    WORKFORCE_KINDS,
    Backend,
    SourceKind,
    TaskType,
    WorkerRemoval,
    WorkforceKind,
    min_labels,
)

__all__ = [
    "CLASSIFICATION_TASK_TYPES",
    "MULTILABEL_TASK_TYPES",
    "PROJECTS_ENV",
    "SOURCE_KINDS",
    "TASK_TYPES",
    "ProjectConfig",
    "SourceKind",
    "TaskType",
    "WorkerAlert",
    "Workforce",
    "parse_projects",
    "resolve_project",
]

PROJECTS_ENV = "LABELFLOW_PROJECTS"
_DEFAULT_AVAILABILITY = DEFAULT_TASK_AVAILABILITY_SECONDS["private"]


@dataclass(frozen=True, kw_only=True)
class Workforce:
    """Who labels a project's jobs (checked in full by the deployment's configuration).

    ``price_usd`` is the public workforce's price per task as a decimal string ("0.036").
    """

    kind: WorkforceKind = "private"
    workteam_arn: str | None = None
    price_usd: str | None = None
    free_of_pii: bool = False
    free_of_adult_content: bool = False

    @classmethod
    def from_json(cls, raw: object, at: str) -> Workforce:
        """Parse ``{"type", "workteam_arn", "price_usd", "free_of_pii", ...}``.

        Raises:
            ContractError: a field of the wrong type or value, named.
        """
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ContractError(f"{at} must be an object")
        kind = raw.get("type", "private")
        if kind not in WORKFORCE_KINDS:
            raise ContractError(f"{at}.type {kind!r} is not one of {list(WORKFORCE_KINDS)}")
        arn = raw.get("workteam_arn")
        if arn is not None and (not isinstance(arn, str) or ":workteam/" not in arn):
            raise ContractError(f"{at}.workteam_arn must be a work team ARN, got {arn!r}")
        price = raw.get("price_usd")
        if price is not None and not isinstance(price, str):
            raise ContractError(f"{at}.price_usd must be a decimal string such as '0.036'")
        flags = {}
        for key in ("free_of_pii", "free_of_adult_content"):
            value = raw.get(key, False)
            if not isinstance(value, bool):
                raise ContractError(f"{at}.{key} must be true or false")
            flags[key] = value
        return cls(kind=kind, workteam_arn=arn, price_usd=price, **flags)


@dataclass(frozen=True, kw_only=True)
class WorkerAlert:
    """When a worker is flagged mid-job, and what else happens (:mod:`job_contracts.worker_alerts`).

    ``min_accuracy`` is the accuracy below which a worker is flagged, in (0, 1);
    ``min_answers`` the answers a worker needs before a flag; ``removal`` what is done on Label
    Studio besides the alert.
    """

    min_accuracy: float
    min_answers: int = DEFAULT_MIN_WORKER_ANSWERS
    removal: WorkerRemoval = "none"

    @classmethod
    def from_json(cls, raw: object, at: str) -> WorkerAlert | None:
        """Parse ``{"min_accuracy", "min_answers", "removal"}``; ``None`` (absent) is off.

        Raises:
            ContractError: a field of the wrong type or value, named.
        """
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise ContractError(f"{at} must be an object or null")
        accuracy = raw.get("min_accuracy")
        if (
            isinstance(accuracy, bool)
            or not isinstance(accuracy, int | float)
            or not 0.0 < accuracy < 1.0
        ):
            raise ContractError(f"{at}.min_accuracy must be a number between 0 and 1")
        answers = raw.get("min_answers", DEFAULT_MIN_WORKER_ANSWERS)
        if isinstance(answers, bool) or not isinstance(answers, int) or answers < 1:
            raise ContractError(f"{at}.min_answers must be a positive integer")
        removal = raw.get("removal", "none")
        if removal not in WORKER_REMOVALS:
            raise ContractError(f"{at}.removal {removal!r} is not one of {list(WORKER_REMOVALS)}")
        return cls(min_accuracy=float(accuracy), min_answers=answers, removal=removal)


@dataclass(frozen=True, kw_only=True)
class ProjectConfig:
    """One project's labeling setup (see the module docstring for the JSON form)."""

    name: str
    task_type: TaskType
    labels: tuple[str, ...] = ()
    method: str = "auto"
    method_params: Mapping[str, Any] = field(default_factory=dict)
    short_instruction: str = ""
    full_instruction: str = ""
    answer_name: str | None = None
    workers_per_item: int = 1
    workforce: Workforce = field(default_factory=Workforce)
    task_time_limit_seconds: int = DEFAULT_TASK_TIME_LIMIT_SECONDS
    task_availability_seconds: int = _DEFAULT_AVAILABILITY
    max_concurrent_tasks: int | None = None
    backend: Backend = "ground-truth"
    worker_alert: WorkerAlert | None = None

    @property
    def is_classification(self) -> bool:
        """Single-label classification (the task types with several methods to choose from)."""
        return self.task_type in CLASSIFICATION_TASK_TYPES

    @classmethod
    def from_json(cls, name: str, raw: object, *, where: str = PROJECTS_ENV) -> ProjectConfig:
        """Validate one project entry.

        Raises:
            ContractError: a missing or invalid field, named as ``LABELFLOW_PROJECTS["name"].x``.
        """
        at = f"{where}[{name!r}]"
        if not name:
            raise ContractError(f"{where}: project names must be non-empty")
        if not isinstance(raw, Mapping):
            raise ContractError(f"{at} must be an object, got {type(raw).__name__}")
        task_type = raw.get("task_type")
        if task_type is None:
            raise ContractError(f"{at}.task_type is missing")
        if task_type not in TASK_TYPES:
            raise ContractError(f"{at}.task_type {task_type!r} is not one of {list(TASK_TYPES)}")
        labels = _labels(raw.get("labels", []), f"{at}.labels")
        if len(labels) < min_labels(task_type):
            raise ContractError(
                f"{at}.labels: task type {task_type!r} needs at least "
                f"{min_labels(task_type)} labels, got {len(labels)}"
            )
        method = raw.get("method", "auto")
        if not isinstance(method, str) or not method:
            raise ContractError(f"{at}.method must be a non-empty string")
        if task_type not in METHOD_TASK_TYPES and method != "auto":
            raise ContractError(
                f"{at}.method: task type {task_type!r} has a single method; use 'auto' "
                f"and put its options in method_params (got {method!r})"
            )
        params = raw.get("method_params", {})
        if params is None:
            params = {}
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise ContractError(f"{at}.method_params must be an object")
        instructions = {}
        for key in ("short_instruction", "full_instruction"):
            value = raw.get(key, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise ContractError(f"{at}.{key} must be a string")
            instructions[key] = value
        answer_name = raw.get("answer_name")
        if answer_name is not None and (not isinstance(answer_name, str) or not answer_name):
            raise ContractError(f"{at}.answer_name must be a non-empty string or null")
        workers = raw.get("workers_per_item", 1)
        if (
            isinstance(workers, bool)
            or not isinstance(workers, int)
            or not 1 <= workers <= MAX_WORKERS_PER_ITEM
        ):
            raise ContractError(
                f"{at}.workers_per_item must be an integer from 1 to {MAX_WORKERS_PER_ITEM}"
            )
        limits = {
            key: _seconds(raw.get(key, default), f"{at}.{key}")
            for key, default in (
                ("task_time_limit_seconds", DEFAULT_TASK_TIME_LIMIT_SECONDS),
                ("task_availability_seconds", _DEFAULT_AVAILABILITY),
            )
        }
        backend = raw.get("backend", "ground-truth")
        if backend not in BACKENDS:
            raise ContractError(f"{at}.backend {backend!r} is not one of {list(BACKENDS)}")
        concurrent = raw.get("max_concurrent_tasks")
        if concurrent is not None:
            concurrent = _seconds(concurrent, f"{at}.max_concurrent_tasks")
        alert = WorkerAlert.from_json(raw.get("worker_alert"), f"{at}.worker_alert")
        if alert is not None and alert.removal != "none" and backend != "labelstudio":
            raise ContractError(
                f"{at}.worker_alert.removal {alert.removal!r} needs the labelstudio backend"
            )
        return cls(
            name=name,
            task_type=task_type,
            labels=labels,
            method=method,
            method_params=dict(params),
            short_instruction=instructions["short_instruction"],
            full_instruction=instructions["full_instruction"],
            answer_name=answer_name,
            workers_per_item=workers,
            workforce=Workforce.from_json(raw.get("workforce"), f"{at}.workforce"),
            max_concurrent_tasks=concurrent,
            backend=backend,
            worker_alert=alert,
            **limits,
        )


def _seconds(value: object, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContractError(f"{at} must be a positive integer, got {value!r}")
    return value


def _labels(raw: object, at: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ContractError(f"{at} must be a list of label names")
    for i, label in enumerate(raw):
        if not isinstance(label, str) or not label:
            raise ContractError(f"{at}[{i}] must be a non-empty string, got {label!r}")
    if len(set(raw)) != len(raw):
        duplicates = sorted({label for label in raw if raw.count(label) > 1})
        raise ContractError(f"{at} has duplicate names: {duplicates}")
    return tuple(raw)


def parse_projects(text: str | None, *, where: str = PROJECTS_ENV) -> dict[str, ProjectConfig]:
    """Parse the ``LABELFLOW_PROJECTS`` JSON object.

    Raises:
        ContractError: missing, not JSON, not an object, empty, or an invalid project entry.
    """
    if text is None or not text.strip():
        raise ContractError(f"{where} is missing or empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where} must be a JSON object keyed by project name")
    if not raw:
        raise ContractError(f"{where} configures no project")
    return {name: ProjectConfig.from_json(name, entry, where=where) for name, entry in raw.items()}


def resolve_project(projects: Mapping[str, ProjectConfig], job_name: str) -> ProjectConfig:
    """The project a labeling job belongs to.

    The longest project name that, followed by ``-``, prefixes ``job_name`` (case-insensitive)
    wins; when no name matches and exactly one project is configured, that project is used.

    Raises:
        ContractError: no project matches the job.

    Example:
        >>> pets = ProjectConfig(name="pets", task_type="bounding-box", labels=("dog",))
        >>> resolve_project({"pets": pets}, "Pets-2024-05").name
        'pets'
    """
    lowered = job_name.lower()
    matches = [p for name, p in projects.items() if lowered.startswith(name.lower() + "-")]
    if matches:
        return max(matches, key=lambda p: len(p.name))
    if len(projects) == 1:
        return next(iter(projects.values()))
    raise ContractError(
        f"labeling job {job_name!r} belongs to no configured project; its name must start "
        f"with '<project>-' for one of {sorted(projects)}"
    )
