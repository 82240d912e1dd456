"""Annotation-consolidation Lambda (``AnnotationConsolidationLambdaArn``).

Request: ``{"version", "labelingJobArn", "labelCategories", "labelAttributeName", "roleArn",
"payload": {"s3Uri"}}`` (other keys ignored). Response: a JSON array with exactly one
``{"datasetObjectId", "consolidatedAnnotation": {"content": {<labelAttributeName>: value}}}``
per data object of the batch. The work, its I/O and its error contract are
:func:`gt_consolidation.consolidate_request`'s (label values and the per-item no-consensus
contract: :mod:`gt_consolidation.batch`), shared with the Label Studio backend.

The Powertools Tracer is created on the first invocation rather than at import
(:func:`handler_support.traced`): building it imports the X-Ray SDK, which creates a botocore
client and costs about twice an ``import boto3``. boto3 and the consolidation library (numpy)
are imported on first use for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_consolidation import consolidate_request
from handler_support import traced
from post_annotation.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    logger.append_keys(labeling_job_arn=event.get("labelingJobArn"))
    settings = get_settings()
    return consolidate_request(
        event,
        projects=settings.labelflow_projects,
        artifacts_bucket=settings.artifacts_bucket,
        skills_table=settings.skills_table,
        topic_arn=settings.topic_arn,
    )


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))
