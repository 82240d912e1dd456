"""Pre-annotation Lambda (``PreHumanTaskLambdaArn``): parse → decide → shape.

Request: ``{"version", "labelingJobArn", "dataObject": <manifest line>}``.
Response: ``{"taskInput": {...}, "isHumanAnnotationRequired": true}``; the ``taskInput`` keys
are listed in :mod:`gt_contracts.task_input`.

One line never fails the labeling job: a line that cannot be labeled (neither or both of
``source-ref`` and ``source``, a kind the project's task type cannot label) or a job that
matches no configured project is logged with its reason and answered with
``"isHumanAnnotationRequired": false``, so Ground Truth leaves that item out and the job's
report lists it as excluded. An event without a labeling-job ARN raises.

The Powertools Tracer is created on the first invocation rather than at import
(:func:`handler_support.traced`): building it imports the X-Ray SDK, which creates a botocore
client and costs about twice an ``import boto3``. Tracing behaves the same; only importing this
module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, prepare
from handler_support import traced
from pre_annotation.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    logger.append_keys(labeling_job_arn=event.get("labelingJobArn"))
    try:
        prepared = prepare(event, settings.labelflow_projects)
    except ContractError as exc:
        logger.error("pre-annotation event rejected", extra={"reason": str(exc)})
        raise
    project = prepared.project
    if prepared.skipped is not None:
        # The reason names the project and the line's kind only: no item content.
        logger.warning(
            "item left out: no human annotation",
            extra={"project": project and project.name, "reason": prepared.skipped},
        )
    return prepared.response.to_json()


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))
