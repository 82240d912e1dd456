"""Publish step of the job workflow: parse → fetch → decide → shape.

Invoked after the Map with the execution state (see :mod:`publish_job.logic`). It reads each
chunk's output manifest and the worker-skill documents of each chunk's labeling job
(``s3://$ARTIFACTS_BUCKET/skills/<project>/<jobName>/*.json``), writes what
:func:`publish_job.logic.build_publication` returns under ``jobs/<jobId>/output/`` of
``RESULTS_BUCKET``, marks the job ``SUCCEEDED`` with its counts in ``JOBS_TABLE``, publishes
the summary to ``TOPIC_ARN`` and puts the event ``LabelFlow Job Completed``
(``source: labelflow``, detail = the summary) on the default event bus. It returns the
summary.

Every write is an overwrite of the same keys, so a retried step publishes the same result.
Errors: a malformed event raises ``ContractError``; AWS errors (a missing manifest, say)
propagate, and the state machine retries the Lambda service's own errors only.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, parse_s3_uri
from publish_job.logic import PublishRequest, build_publication, skills_prefix
from publish_job.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client

__all__ = ["DETAIL_TYPE", "EVENT_SOURCE", "lambda_handler"]

logger = Logger()

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]

EVENT_SOURCE = "labelflow"
DETAIL_TYPE = "LabelFlow Job Completed"


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point; traced with ``capture_lambda_handler(capture_response=False)``."""
    return _traced_handler()(event, context)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = PublishRequest.from_event(event)
    except ContractError as exc:
        logger.error("publish event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(job_id=request.job_id, project=request.project)
    manifests = [_get(*parse_s3_uri(c.output_manifest_uri)) for c in request.chunks]
    skills = [
        _get(settings.artifacts_bucket, key)
        for chunk in request.chunks
        for key in _json_keys(
            settings.artifacts_bucket, skills_prefix(request.project, chunk.job_name)
        )
    ]
    publication = build_publication(
        request, manifests, skills, results_bucket=settings.results_bucket
    )
    for key, (body, content_type) in publication.objects.items():
        _s3().put_object(
            Bucket=settings.results_bucket, Key=key, Body=body, ContentType=content_type
        )
    summary = publication.summary
    _announce(settings, summary)
    logger.info("job published", extra={"objects": len(publication.objects), **summary})
    return summary


def _announce(settings: Settings, summary: dict[str, Any]) -> None:
    _dynamodb().update_item(
        TableName=settings.jobs_table,
        Key={"jobId": {"S": summary["jobId"]}},
        UpdateExpression=(
            "SET #status = :status, #items = :items, labeled = :labeled, excluded = :excluded, "
            "outputUri = :output, reportUri = :report, finishedAt = :finished"
        ),
        ExpressionAttributeNames={"#status": "status", "#items": "items"},
        ExpressionAttributeValues={
            ":status": {"S": "SUCCEEDED"},
            ":items": {"N": str(summary["items"])},
            ":labeled": {"N": str(summary["labeled"])},
            ":excluded": {"N": str(summary["excluded"])},
            ":output": {"S": summary["outputUri"]},
            ":report": {"S": summary["reportUri"]},
            ":finished": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        },
    )
    _sns().publish(
        TopicArn=settings.topic_arn,
        Subject="LabelFlow job completed",
        Message=json.dumps(summary),
    )
    response = _events().put_events(
        Entries=[{"Source": EVENT_SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(summary)}]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the event: {response.get('Entries')}")


def _get(bucket: str, key: str) -> bytes:
    body: bytes = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _json_keys(bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
    return sorted(keys)


@functools.cache
def _dynamodb() -> Any:  # no DynamoDB stubs are installed
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("dynamodb")


@functools.cache
def _s3() -> S3Client:
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("s3")


@functools.cache
def _sns() -> Any:  # no SNS stubs are installed
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("sns")


@functools.cache
def _events() -> Any:  # no EventBridge stubs are installed
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("events")


@functools.cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - deferred: imports the X-Ray SDK

    return Tracer()


@functools.cache
def _traced_handler() -> Handler:
    traced: Handler = _tracer().capture_lambda_handler(_handle, capture_response=False)
    return traced
