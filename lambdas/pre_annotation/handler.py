"""Pre-annotation Lambda (``PreHumanTaskLambdaArn``): parse → decide → shape.

Request: ``{"version", "labelingJobArn", "dataObject": <manifest line>}``.
Response: ``{"taskInput": {...}, "isHumanAnnotationRequired": true}``; the ``taskInput`` keys
are listed in :mod:`pre_annotation.logic`. A malformed event, or a job that matches no
configured project, raises (see the failure contract in :mod:`pre_annotation.logic`).

The Powertools Tracer is created on the first invocation rather than at import: building it
imports the X-Ray SDK, which creates a botocore client and costs about twice an ``import
boto3``. Tracing behaves the same; only importing this module stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, PreAnnotationEvent
from pre_annotation.logic import prepare
from pre_annotation.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point; traced with ``capture_lambda_handler(capture_response=False)``."""
    return _traced_handler()(event, context)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    logger.append_keys(labeling_job_arn=event.get("labelingJobArn"))
    try:
        request = PreAnnotationEvent.from_event(event)
        project, response = prepare(request, settings.labelflow_projects)
    except ContractError as exc:
        logger.error("pre-annotation event rejected", extra={"reason": str(exc)})
        raise
    logger.debug(
        "task input prepared",
        extra={
            "project": project.name,
            "task_type": project.task_type,
            "source_kind": request.source_kind,
        },
    )
    return response.to_json()


@functools.cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - deferred: imports the X-Ray SDK

    return Tracer()


@functools.cache
def _traced_handler() -> Handler:
    traced: Handler = _tracer().capture_lambda_handler(_handle, capture_response=False)
    return traced
