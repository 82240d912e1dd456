"""StartLabelingJob step of the job workflow: parse → fetch → decide → shape.

Invoked by a ``.waitForTaskToken`` task, once per manifest chunk::

    {"taskToken": "...", "jobId": "<job id>", "project": "<project>",
     "chunk": {"index": 0, "manifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/chunks/0.manifest"}}

It stores ``{jobName -> taskToken}`` in ``TOKENS_TABLE`` first, then creates the labeling job
(:func:`start_labeling_job.logic.build_request`), and returns ``{"jobName", "reused"}`` (the
state machine ignores it: the step's output is what ``job_events`` sends with the token when
the job ends).

Retries do not create a second job. The token is written with a conditional put
(``attribute_not_exists(jobName)``); when the item exists, this is a retry of the step, and
the item's token is replaced by the new one, the one the state machine now waits for. A job
that already exists (``ResourceInUse``) is reused rather than created again. A job that had
already ended before the retry stored its token is not reported again: the step's timeout
ends that wait.

Errors: a malformed event or an unknown project raises ``ContractError``; AWS errors other
than an existing job propagate for the state machine to retry or fail on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from start_labeling_job.logic import TOKEN_TTL_SECONDS, StartRequest, build_request
from start_labeling_job.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = ["TOKEN_TTL_SECONDS", "lambda_handler"]

logger = Logger()

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]

_JOB_EXISTS = {"ResourceInUse", "ResourceInUseException"}


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point; traced with ``capture_lambda_handler(capture_response=False)``."""
    return _traced_handler()(event, context)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = StartRequest.from_event(event)
        project = settings.labelflow_projects.get(request.project)
        if project is None:
            raise ContractError(f"project {request.project!r} is not configured")
        params = build_request(request, project, settings.job)
    except ContractError as exc:
        logger.error("start event rejected", extra={"reason": str(exc)})
        raise
    name = params["LabelingJobName"]
    logger.append_keys(job_id=request.job_id, project=request.project, labeling_job=name)
    retried = not _store_token(settings.tokens_table, name, request)
    reused = not _create_job(params)
    logger.info("labeling job started", extra={"retried_step": retried, "reused_job": reused})
    return {"jobName": name, "reused": reused}


def _store_token(table: str, name: str, request: StartRequest) -> bool:
    """Write the token; ``False`` when an earlier attempt had written one (now replaced)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    expires = str(int(time.time()) + TOKEN_TTL_SECONDS)
    try:
        _dynamodb().put_item(
            TableName=table,
            Item={
                "jobName": {"S": name},
                "taskToken": {"S": request.task_token},
                "jobId": {"S": request.job_id},
                "project": {"S": request.project},
                "expiresAt": {"N": expires},
            },
            ConditionExpression="attribute_not_exists(jobName)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        _dynamodb().update_item(
            TableName=table,
            Key={"jobName": {"S": name}},
            UpdateExpression="SET taskToken = :token, expiresAt = :expires",
            ExpressionAttributeValues={
                ":token": {"S": request.task_token},
                ":expires": {"N": expires},
            },
        )
        return False
    return True


def _create_job(params: dict[str, Any]) -> bool:
    """Create the job; ``False`` when a job of that name already exists (it is reused)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        _sagemaker().create_labeling_job(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _JOB_EXISTS:
            raise
        return False
    return True


@functools.cache
def _dynamodb() -> Any:  # no DynamoDB stubs are installed
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("dynamodb")


@functools.cache
def _sagemaker() -> SageMakerClient:
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client("sagemaker")


@functools.cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - deferred: imports the X-Ray SDK

    return Tracer()


@functools.cache
def _traced_handler() -> Handler:
    traced: Handler = _tracer().capture_lambda_handler(_handle, capture_response=False)
    return traced
