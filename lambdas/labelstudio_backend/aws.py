"""The I/O the Label Studio backend's functions share: secrets, Label Studio, S3, the tokens table.

Secrets are read from Secrets Manager once per execution environment (:func:`secret` is
cached; :func:`forget_secrets` drops the cache, for a rotated secret) and never logged, put in
an error message or returned. Clients come from :func:`handler_support.client`.

The tokens-table item is the guard against finishing a job twice:

* :func:`claim` sets ``finishingSince`` on condition that the item still holds the token and
  no other finish holds a fresh claim (:data:`CLAIM_SECONDS`, longer than a Lambda can run);
* :func:`release` removes the claim after a failed finish, so the next webhook or sweep
  finishes the job;
* :func:`forget` deletes the item once the step was resumed, on condition that it still
  holds the token that was sent.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from handler_support import client
from label_studio_api import LabelStudioClient
from labelstudio_backend.logic import BACKEND, WaitingJob

if TYPE_CHECKING:
    from labelstudio_backend.settings import Settings

__all__ = [
    "CLAIM_SECONDS",
    "claim",
    "find_job_by_project",
    "forget",
    "forget_secrets",
    "label_studio",
    "load_job",
    "read_text",
    "release",
    "secret",
    "write_bytes",
    "write_json",
]

#: A claim older than this is taken over (the finish that held it must have died).
CLAIM_SECONDS = 1800
#: Attempts per Label Studio call (the client's bounded retries with back-off).
LABEL_STUDIO_ATTEMPTS = 4


@functools.cache
def secret(arn: str) -> str:
    """The secret's value (see :mod:`labelstudio_backend.settings`), cached per container.

    Raises:
        ValueError: the secret has no string value (the message names the ARN only).
    """
    value = client("secretsmanager").get_secret_value(SecretId=arn).get("SecretString")
    if not isinstance(value, str) or not value:
        raise ValueError(f"secret {arn} has no SecretString")
    if value.lstrip().startswith("{"):
        try:
            doc = json.loads(value)
        except ValueError:
            return value
        for key in ("token", "secret"):
            if isinstance(doc, dict) and isinstance(doc.get(key), str) and doc[key]:
                return str(doc[key])
        raise ValueError(f"secret {arn} is JSON without a 'token' or 'secret' string")
    return value


def forget_secrets() -> None:
    """Read secrets again on next use."""
    secret.cache_clear()


def label_studio(settings: Settings, **options: Any) -> LabelStudioClient:
    """A client of the configured Label Studio acting with the deployment's API token."""
    options.setdefault("max_attempts", LABEL_STUDIO_ATTEMPTS)
    return LabelStudioClient(
        settings.label_studio_url, secret(settings.label_studio_token_secret_arn), **options
    )


def read_text(bucket: str, key: str) -> str:
    body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


def write_bytes(bucket: str, key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def write_json(bucket: str, key: str, doc: Any) -> None:
    write_bytes(bucket, key, json.dumps(doc, ensure_ascii=False).encode(), "application/json")


def load_job(table: str, job_name: str) -> dict[str, Any] | None:
    """The job's tokens-table item (consistent read), or ``None``."""
    item: dict[str, Any] | None = (
        client("dynamodb")
        .get_item(TableName=table, Key={"jobName": {"S": job_name}}, ConsistentRead=True)
        .get("Item")
    )
    return item


def find_job_by_project(table: str, project_id: int) -> dict[str, Any] | None:
    """The Label Studio job item of a Label Studio project id (a filtered scan), or ``None``."""
    pages = (
        client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table,
            ConsistentRead=True,
            FilterExpression="backend = :backend AND labelStudioProjectId = :project",
            ExpressionAttributeValues={
                ":backend": {"S": BACKEND},
                ":project": {"N": str(project_id)},
            },
        )
    )
    for page in pages:
        for item in page.get("Items", []):
            return dict(item)
    return None


def _conditional_failed(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ConditionalCheckFailedException"


def claim(table: str, job: WaitingJob, now: int) -> bool:
    """Take the job's finish; ``False`` when it is finished or another finish holds it."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        client("dynamodb").update_item(
            TableName=table,
            Key={"jobName": {"S": job.job_name}},
            UpdateExpression="SET finishingSince = :now",
            ConditionExpression=(
                "taskToken = :token AND "
                "(attribute_not_exists(finishingSince) OR finishingSince < :stale)"
            ),
            ExpressionAttributeValues={
                ":now": {"N": str(now)},
                ":token": {"S": job.task_token},
                ":stale": {"N": str(now - CLAIM_SECONDS)},
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def release(table: str, job: WaitingJob) -> None:
    """Give the claim back (the token stays for the next webhook or sweep)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        client("dynamodb").update_item(
            TableName=table,
            Key={"jobName": {"S": job.job_name}},
            UpdateExpression="REMOVE finishingSince",
            ConditionExpression="taskToken = :token",
            ExpressionAttributeValues={":token": {"S": job.task_token}},
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise


def forget(table: str, job: WaitingJob) -> None:
    """Delete the item if it still holds the token that was sent."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        client("dynamodb").delete_item(
            TableName=table,
            Key={"jobName": {"S": job.job_name}},
            ConditionExpression="taskToken = :token",
            ExpressionAttributeValues={":token": {"S": job.task_token}},
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
