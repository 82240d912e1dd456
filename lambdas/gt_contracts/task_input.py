"""What the worker template receives for one manifest line: the pre-annotation contract (pure).

``taskInput`` keys (the worker templates in ``worker_ui/`` read exactly these, as
``task.input.<key>``):

================ ========================================================================
key              value
================ ========================================================================
taskObject       the object to label: the S3 URI of a ``source-ref`` line (templates pass
                 it through ``grant_read_access``) or the text of a ``source`` line
sourceKind       ``"s3"`` (``source-ref`` line) or ``"text"`` (``source`` line)
taskType         the project's task type, e.g. ``"bounding-box"``
labels           the project's label names, in order (``[]`` for free text and numbers)
shortInstruction the project's short instruction (may be ``""``)
fullInstruction  the project's full instruction (may be ``""``)
metadata         every other key of the manifest line, untouched, but for the line's gold
                 answer (``<project>-gold``, :func:`gold_key`), which workers never see
================ ========================================================================

A review of a model prediction (A2I's ``InputContent``, read by ``worker_ui.review_template``)
carries the same keys plus two (``REVIEW_TASK_INPUT_KEYS``, built by
:func:`build_review_input`):

================ ========================================================================
prediction       the model's answer, in the shape the task type's answer element submits
                 (``{"label"}``, ``{"labels"}``, ``{"boundingBoxes"}``, ``{"entities"}``,
                 ``{"keypoints"}``, a string, a number); for segmentation
                 ``{"labelMappings", "src"}`` with ``src`` the S3 URI of the mask PNG
confidence       the model's confidence, from 0 to 1
================ ========================================================================

Per-line failures (:func:`prepare`): one line must never fail a whole labeling job. A line
with neither ``source-ref`` nor ``source`` (or both), a line of a kind the task type cannot
label (text for an image task), and a job that matches no configured project give a response
with ``"isHumanAnnotationRequired": false`` (Ground Truth then leaves the item out) and the
reason in :attr:`Prepared.skipped`; the job's report lists the item as excluded with the
reason :func:`line_problem` gives. Only an event without a labeling-job ARN raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gt_contracts.errors import ContractError
from gt_contracts.events import PreAnnotationEvent
from gt_contracts.projects import SOURCE_KINDS, ProjectConfig, SourceKind, resolve_project
from gt_contracts.responses import PreAnnotationResponse
from gt_contracts.uris import job_name_from_arn

__all__ = [
    "REVIEW_TASK_INPUT_KEYS",
    "TASK_INPUT_KEYS",
    "Prepared",
    "build_review_input",
    "build_task_input",
    "gold_key",
    "line_problem",
    "prepare",
]

TASK_INPUT_KEYS: tuple[str, ...] = (
    "taskObject",
    "sourceKind",
    "taskType",
    "labels",
    "shortInstruction",
    "fullInstruction",
    "metadata",
)
REVIEW_TASK_INPUT_KEYS: tuple[str, ...] = (*TASK_INPUT_KEYS, "prediction", "confidence")
_KEYS: Mapping[SourceKind, str] = {"s3": "'source-ref'", "text": "'source'"}


def _kind_problem(project: ProjectConfig, kind: SourceKind) -> str | None:
    accepted = SOURCE_KINDS[project.task_type]
    if kind in accepted:
        return None
    wanted = " or ".join(_KEYS[k] for k in sorted(accepted))
    return (
        f"project {project.name!r} ({project.task_type}) labels {wanted} lines; "
        f"this is a {_KEYS[kind]} line"
    )


def line_problem(project: ProjectConfig, line: Mapping[str, Any]) -> str | None:
    """Why ``project``'s labeling jobs cannot show ``line`` to workers, or ``None``."""
    has_ref, has_text = "source-ref" in line, "source" in line
    if has_ref == has_text:
        return "the line needs exactly one of 'source-ref' and 'source'"
    return _kind_problem(project, "s3" if has_ref else "text")


def build_task_input(event: PreAnnotationEvent, project: ProjectConfig) -> dict[str, Any]:
    """The ``taskInput`` object for one manifest line of ``project``.

    Raises:
        ContractError: the line's kind (``source-ref``/``source``) is not one the task type
            labels.
    """
    problem = _kind_problem(project, event.source_kind)
    if problem is not None:
        raise ContractError(problem)
    return {
        "taskObject": event.task_object,
        "sourceKind": event.source_kind,
        "taskType": project.task_type,
        "labels": list(project.labels),
        "shortInstruction": project.short_instruction,
        "fullInstruction": project.full_instruction,
        "metadata": {k: v for k, v in event.metadata.items() if k != gold_key(project.name)},
    }


def gold_key(label_attribute: str) -> str:
    """The manifest key of a line's known answer, for the label attribute (project) given:
    ``<label attribute>-gold``. Workers never see it; the report measures confidence on it."""
    return f"{label_attribute}-gold"


def build_review_input(
    task_input: Mapping[str, Any], *, prediction: Any, confidence: float
) -> dict[str, Any]:
    """The ``taskInput`` of a review: a line's ``taskInput`` plus the model's prediction.

    Raises:
        ContractError: a confidence outside 0..1 (or not a number), or a missing prediction.
    """
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ContractError(f"confidence must be a number from 0 to 1, got {confidence!r}")
    if not 0 <= confidence <= 1:
        raise ContractError(f"confidence must be from 0 to 1, got {confidence}")
    if prediction is None:
        raise ContractError("a review needs the model's prediction")
    return {**task_input, "prediction": prediction, "confidence": confidence}


@dataclass(frozen=True, slots=True)
class Prepared:
    """The pre-annotation response of one line, and why the line was left out (if it was).

    Attributes:
        job_name: the labeling job, as its ARN names it.
        project: the job's project (``None`` when no project matches the job).
        response: what the Lambda returns.
        skipped: why the item goes to no worker, or ``None``.
    """

    job_name: str
    project: ProjectConfig | None
    response: PreAnnotationResponse
    skipped: str | None = None


def prepare(event: Mapping[str, Any], projects: Mapping[str, ProjectConfig]) -> Prepared:
    """The pre-annotation response for ``event`` (see the module docstring).

    Raises:
        ContractError: the event is not an object or names no labeling job.
    """
    if not isinstance(event, Mapping):
        raise ContractError("event must be an object")
    job_name = job_name_from_arn(event.get("labelingJobArn"))
    project: ProjectConfig | None = None
    try:
        project = resolve_project(projects, job_name)
        request = PreAnnotationEvent.from_event(event)
        task_input = build_task_input(request, project)
    except ContractError as exc:
        reason = str(exc)
        response = PreAnnotationResponse({"skipReason": reason}, is_human_annotation_required=False)
        return Prepared(job_name, project, response, reason)
    return Prepared(job_name, project, PreAnnotationResponse(task_input))
