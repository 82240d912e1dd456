"""Pre-annotation Lambda (``PreHumanTaskLambdaArn``): parse → decide → shape.

Request: ``{"version", "labelingJobArn", "dataObject": <manifest line>}``.
Response: ``{"taskInput": {...}, "isHumanAnnotationRequired": true}``; the ``taskInput`` keys
are listed in :mod:`pre_annotation.logic`. A malformed event, or a job that matches no
configured project, raises (see the failure contract in :mod:`pre_annotation.logic`).

The Powertools Tracer is created on the first invocation rather than at import
(:func:`handler_support.traced`): building it imports the X-Ray SDK, which creates a botocore
client and costs about twice an ``import boto3``. Tracing behaves the same; only importing this
module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, PreAnnotationEvent
from handler_support import traced
from pre_annotation.logic import prepare
from pre_annotation.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


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


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))
