"""What the worker template receives for one manifest line (pure; no I/O).

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
metadata         every other key of the manifest line, untouched
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

The response always asks for human annotation (``"isHumanAnnotationRequired": true``).

Failure contract: this Lambda raises rather than degrade. A line with neither ``source-ref`` nor
``source`` (or both), a line whose kind the task type cannot label (text for an image task), and
a job that matches no project all raise: a malformed event fails the invocation loudly, and
lines are validated before a job starts, so such a line means a broken pipeline, not bad data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gt_contracts import (
    SOURCE_KINDS,
    ContractError,
    PreAnnotationEvent,
    PreAnnotationResponse,
    ProjectConfig,
    resolve_project,
)

__all__ = [
    "REVIEW_TASK_INPUT_KEYS",
    "TASK_INPUT_KEYS",
    "build_review_input",
    "build_task_input",
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


def build_task_input(event: PreAnnotationEvent, project: ProjectConfig) -> dict[str, Any]:
    """The ``taskInput`` object for one manifest line of ``project``.

    Raises:
        ContractError: the line's kind (``source-ref``/``source``) is not one the task type
            labels.
    """
    accepted = SOURCE_KINDS[project.task_type]
    if event.source_kind not in accepted:
        wanted = " or ".join("'source-ref'" if k == "s3" else "'source'" for k in sorted(accepted))
        got = "'source-ref'" if event.source_kind == "s3" else "'source'"
        raise ContractError(
            f"project {project.name!r} ({project.task_type}) labels {wanted} lines; "
            f"job {event.job_name!r} sent a {got} line"
        )
    return {
        "taskObject": event.task_object,
        "sourceKind": event.source_kind,
        "taskType": project.task_type,
        "labels": list(project.labels),
        "shortInstruction": project.short_instruction,
        "fullInstruction": project.full_instruction,
        "metadata": dict(event.metadata),
    }


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


def prepare(
    event: PreAnnotationEvent, projects: Mapping[str, ProjectConfig]
) -> tuple[ProjectConfig, PreAnnotationResponse]:
    """Resolve the job's project and build the response.

    Raises:
        ContractError: no project matches the job name, or the line cannot be labeled.
    """
    project = resolve_project(projects, event.job_name)
    return project, PreAnnotationResponse(build_task_input(event, project))
