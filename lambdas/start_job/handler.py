"""Intake trigger of the job workflow: parse → fetch → decide → shape.

Target of the EventBridge rule on the intake bucket's ``Object Created`` events for keys
ending ``.jsonl`` or ``.manifest``. The event's key is decoded when S3 URL-encoded it
(:func:`job_contracts.ids.event_object_key`; a ``HeadObject`` settles a key that decodes to
something else, so a key that really holds ``+`` or ``%`` still names its object).
:func:`start_job.logic.decide` either rejects the object
(the record ``{"bucket", "key", "reason"}`` goes to ``s3://$RESULTS_BUCKET/rejected/<key>.json``
and to ``TOPIC_ARN`` with the message attributes ``kind: manifest-rejected`` and ``project``,
the key's first segment, when it has one; nothing starts) or names the job to start.

Starting is idempotent. The job item is put into ``JOBS_TABLE`` with the condition
``attribute_not_exists(jobId)`` and status ``PENDING``, then the execution is started with
the job id as its name and the item moves to ``RUNNING``. A repeated event finds the item:
when it is past ``PENDING`` nothing is started; when it is still ``PENDING`` (an earlier
attempt failed between the two calls) the start is tried again, and ``ExecutionAlreadyExists``
counts as started, since executions are named after the job.

Returns ``{"status", "jobId"?, "reason"?}`` with status ``rejected``, ``started`` or
``duplicate``.

Errors: an event that is not an S3 ``Object Created`` event raises ``ContractError``; AWS
errors propagate, and EventBridge's asynchronous invocation retries them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, notify, traced
from job_contracts.ids import event_object_key
from job_contracts.layout import rejection_key
from job_contracts.tokens import error_code
from start_job.logic import ManifestDrop, Reject, Start, decide
from start_job.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_handler"]

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        drop = ManifestDrop.from_event(event)
    except ContractError as exc:
        logger.error("intake event rejected", extra={"reason": str(exc)})
        raise
    drop = replace(drop, key=event_object_key(drop.key, functools.partial(_exists, drop.bucket)))
    decision = decide(drop, settings.labelflow_projects)
    if isinstance(decision, Reject):
        _reject(settings, decision)
        logger.warning("manifest rejected", extra={"key": drop.key, "reason": decision.reason})
        return {"status": "rejected", "reason": decision.reason}
    logger.append_keys(job_id=decision.job_id, project=decision.project)
    started = _start(settings, decision)
    logger.info("job started" if started else "duplicate event; nothing started")
    return {"status": "started" if started else "duplicate", "jobId": decision.job_id}


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _reject(settings: Settings, decision: Reject) -> None:
    record = decision.record()
    client("s3").put_object(
        Bucket=settings.results_bucket,
        Key=rejection_key(decision.key),
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )
    notify(
        settings.topic_arn,
        subject="LabelFlow manifest rejected",
        message=record,
        project=decision.project,
        kind="manifest-rejected",
    )


def _start(settings: Settings, decision: Start) -> bool:
    """Start the job; ``False`` when an earlier event already started it."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    table, key = settings.jobs_table, {"jobId": {"S": decision.job_id}}
    request = decision.execution_input
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={
                **key,
                "status": {"S": "PENDING"},
                "project": {"S": decision.project},
                "bucket": {"S": request["bucket"]},
                "key": {"S": request["key"]},
                "createdAt": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
            },
            ConditionExpression="attribute_not_exists(jobId)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        found = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
        item = found.get("Item")
        if item is not None and item.get("status", {}).get("S") != "PENDING":
            return False
    try:
        arn = client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=decision.job_id,
            input=json.dumps(request),
        )["executionArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        arn = _execution_arn(settings.state_machine_arn, decision.job_id)
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #status = :running, executionArn = :arn",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "RUNNING"},
                ":pending": {"S": "PENDING"},
                ":arn": {"S": arn},
            },
        )
    except ClientError as exc:
        # The execution already moved the item on (it may even have published by now).
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
    return True


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def _exists(bucket: str, key: str) -> bool:
    """Whether ``key`` names an object (asked only when an event's key decodes differently)."""
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True
