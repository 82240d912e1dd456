"""StartLabelingJob step of the job workflow: parse → fetch → decide → shape.

Invoked by a ``.waitForTaskToken`` task, once per manifest chunk::

    {"taskToken": "...", "jobId": "<job id>", "project": "<project>",
     "chunk": {"index": 0, "manifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/chunks/0.manifest"}}

It stores ``{jobName -> taskToken}`` in ``TOKENS_TABLE`` first (the item expires two days
after the project's tasks stop being offered), writes the job's label-category file to
``RESULTS_BUCKET``, then creates the labeling job
(:func:`start_labeling_job.logic.build_request`), and returns ``{"jobName", "reused"}`` (the
state machine ignores it: the step's output is what ``job_events`` sends with the token when
the job ends).

Retries do not create a second job. The token is written with a conditional put
(``attribute_not_exists(jobName)``); when the item exists, this is a retry of the step, and
the item's token is replaced by the new one, the one the state machine now waits for. A job
that already exists (``ResourceInUse``) is reused rather than created again. A job that had
already ended before the retry stored its token is not reported again: the step's timeout
ends that wait.

Errors: a malformed event or an unknown project raises ``ContractError``. Throttling (and
SageMaker's ``ResourceLimitExceeded``) raises :class:`Throttled`, which the workflow retries
with growing, jittered waits; other AWS errors than an existing job propagate for the state
machine to fail on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, traced
from start_labeling_job.logic import (
    StartRequest,
    build_request,
    label_categories,
    label_categories_key,
)
from start_labeling_job.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["TOKEN_GRACE_SECONDS", "Throttled", "lambda_handler"]

logger = Logger()

#: Token items (the table's TTL attribute ``expiresAt``) outlive the project's task
#: availability by this much, time enough for the job to be consolidated and reported.
TOKEN_GRACE_SECONDS = 2 * 24 * 3600
_JOB_EXISTS = {"ResourceInUse", "ResourceInUseException"}
_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ResourceLimitExceeded",
    "ProvisionedThroughputExceededException",
}


class Throttled(RuntimeError):
    """SageMaker or DynamoDB asked to slow down; the workflow retries the step with back-off."""


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
    ttl = project.task_availability_seconds + TOKEN_GRACE_SECONDS
    with _throttling_named():
        retried = not _store_token(settings.tokens_table, name, request, ttl)
        client("s3").put_object(
            Bucket=settings.results_bucket,
            Key=label_categories_key(request.job_id),
            Body=label_categories(project),
            ContentType="application/json",
        )
        reused = not _create_job(params)
    logger.info("labeling job started", extra={"retried_step": retried, "reused_job": reused})
    return {"jobName": name, "reused": reused}


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


@contextmanager
def _throttling_named() -> Iterator[None]:
    """Raise throttling as :class:`Throttled`, the error name the workflow retries on."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _THROTTLED:
            logger.warning("throttled", extra={"code": code})
            raise Throttled(f"{code}: {exc}") from exc
        raise


def _store_token(table: str, name: str, request: StartRequest, ttl: int) -> bool:
    """Write the token; ``False`` when an earlier attempt had written one (now replaced)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    now = int(time.time())
    expires = str(now + ttl)
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={
                "jobName": {"S": name},
                "taskToken": {"S": request.task_token},
                "jobId": {"S": request.job_id},
                "project": {"S": request.project},
                "expiresAt": {"N": expires},
                "storedAt": {"N": str(now)},
            },
            ConditionExpression="attribute_not_exists(jobName)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        client("dynamodb").update_item(
            TableName=table,
            Key={"jobName": {"S": name}},
            UpdateExpression="SET taskToken = :token, expiresAt = :expires, storedAt = :now",
            ExpressionAttributeValues={
                ":token": {"S": request.task_token},
                ":expires": {"N": expires},
                ":now": {"N": str(now)},
            },
        )
        return False
    return True


def _create_job(params: dict[str, Any]) -> bool:
    """Create the job; ``False`` when a job of that name already exists (it is reused)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        client("sagemaker").create_labeling_job(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _JOB_EXISTS:
            raise
        return False
    return True
