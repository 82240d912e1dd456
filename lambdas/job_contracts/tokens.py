"""The task-token store and resume: how a waiting chunk step is kept, found and resumed.

A chunk's labeling job (on Ground Truth or Label Studio) is started by a ``.waitForTaskToken``
step. The step's token is kept in the tokens table (key ``jobName``, the labeling job's
:func:`~job_contracts.ids.name_key`) by :meth:`TokenStore.put`, the one writer, until whoever
learns that the job ended (Ground Truth's event, the reconciliation sweep, the Label Studio
webhook or sweep) sends the outcome with :func:`send_outcome` and removes the item with
:meth:`TokenStore.forget`.

Outcomes: :class:`Success` carries the chunk's result (:func:`completed`: ``{"jobName",
"status", "outputManifestUri", "labelCounters"}``, the same for both backends); :class:`Failure`
an error name and a cause. A token that was already used, or whose wait timed out, is *spent*
(:data:`SPENT_TOKEN_ERRORS`): sending to it resumes nothing and fails nothing.

Errors that mean "slow down" are :data:`THROTTLING_ERRORS` (one set for SageMaker, DynamoDB,
Step Functions and S3); steps raise :class:`Throttled`, the error name the workflow retries
with back-off.

No AWS SDK is imported: the DynamoDB and Step Functions clients are passed in, and their
errors are recognised by :func:`error_code` (botocore's ``ClientError.response``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from gt_contracts import ContractError
from job_contracts.ids import name_key

__all__ = [
    "CLAIM_SECONDS",
    "CONDITION_FAILED",
    "LABEL_STUDIO",
    "MAX_CAUSE",
    "SPENT_TOKEN_ERRORS",
    "THROTTLING_ERRORS",
    "TOKEN_GRACE_SECONDS",
    "Failure",
    "HeldToken",
    "Sent",
    "Success",
    "Throttled",
    "TokenStore",
    "WaitingStep",
    "completed",
    "error_code",
    "labeling_job_outcome",
    "send_outcome",
]

#: SendTaskFailure allows causes of up to 32,768 characters.
MAX_CAUSE = 32768
#: Token items (TTL attribute ``expiresAt``) outlive the project's task availability by this
#: much, time enough for the job to be consolidated and reported.
TOKEN_GRACE_SECONDS = 2 * 24 * 3600
#: A finish claim older than this is taken over (the finish that held it must have died).
CLAIM_SECONDS = 1800
#: The ``backend`` attribute of Label Studio jobs (Ground Truth items have none).
LABEL_STUDIO = "label-studio"
CONDITION_FAILED = "ConditionalCheckFailedException"
#: Step Functions errors that mean the token can no longer resume anything.
SPENT_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
#: Error codes that mean "slow down and try again", across the services a job calls.
THROTTLING_ERRORS = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ResourceLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    }
)

Sent = Literal["success", "failure", "not-ended", "token-spent"]


class Throttled(RuntimeError):
    """AWS asked to slow down; the workflow retries the step with growing, jittered waits."""


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``None`` for any other exception)."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, Mapping) else None
    code = error.get("Code") if isinstance(error, Mapping) else None
    return code if isinstance(code, str) else None


@dataclass(frozen=True, slots=True)
class Success:
    """``SendTaskSuccess`` with :attr:`output`."""

    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """``SendTaskFailure`` with :attr:`error` and :attr:`cause` (cut to :data:`MAX_CAUSE`)."""

    error: str
    cause: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "cause", self.cause[:MAX_CAUSE])


def completed(
    job_name: str, output_manifest_uri: str | None, label_counters: Mapping[str, int]
) -> Success:
    """What a chunk step receives when its labeling job completed (either backend)."""
    return Success(
        {
            "jobName": job_name,
            "status": "Completed",
            "outputManifestUri": output_manifest_uri,
            "labelCounters": dict(label_counters),
        }
    )


_ENDED_WITH = {"Failed": "LabelingJobFailed", "Stopped": "LabelingJobStopped"}


def labeling_job_outcome(job_name: str, described: Mapping[str, Any]) -> Success | Failure | None:
    """What a Ground Truth job's ``DescribeLabelingJob`` response tells its waiting step.

    ``Completed``: :func:`completed` with the output manifest and label counters; ``Failed``:
    error ``LabelingJobFailed`` with the job's ``FailureReason``; ``Stopped``: error
    ``LabelingJobStopped``; any other status (the job has not ended): ``None``.
    """
    status = described.get("LabelingJobStatus")
    if status == "Completed":
        output = described.get("LabelingJobOutput") or {}
        return completed(
            job_name, output.get("OutputDatasetS3Uri"), described.get("LabelCounters") or {}
        )
    if status in _ENDED_WITH:
        reason = described.get("FailureReason") or f"labeling job {job_name} {status.lower()}"
        return Failure(_ENDED_WITH[status], str(reason))
    return None


def send_outcome(sfn: Any, token: str, result: Success | Failure | None) -> Sent:
    """Send ``result`` with ``token``; ``None`` (the job has not ended) sends nothing.

    Raises:
        Exception: the client's error for anything but a spent token.
    """
    if result is None:
        return "not-ended"
    try:
        if isinstance(result, Success):
            sfn.send_task_success(taskToken=token, output=json.dumps(result.output))
            return "success"
        sfn.send_task_failure(taskToken=token, error=result.error, cause=result.cause)
    except Exception as exc:
        if error_code(exc) not in SPENT_TOKEN_ERRORS:
            raise
        return "token-spent"
    return "failure"


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingStep:
    """One tokens-table item: a chunk step waiting for its labeling job.

    Attributes:
        job_name: the labeling job's name as created.
        task_token: the step's token.
        job_id: the LabelFlow job.
        project: the project.
        stored_at: when the token was stored (epoch seconds).
        expires_at: when the item expires (the table's TTL).
        backend: ``None`` for Ground Truth, :data:`LABEL_STUDIO` for Label Studio.
        label_studio_project: Label Studio's project id (Label Studio jobs).
        deadline: when unanswered tasks expire (Label Studio jobs; kept by a retried start).
        manifest_uri: the chunk's manifest (Label Studio jobs).
        finishing_since: when a finish claimed the job (Label Studio jobs), if one holds it.
    """

    job_name: str
    task_token: str
    job_id: str
    project: str
    stored_at: int
    expires_at: int
    backend: str | None = None
    label_studio_project: int | None = None
    deadline: int | None = None
    manifest_uri: str | None = None
    finishing_since: int | None = None

    @property
    def key(self) -> str:
        """The table key: the lower-cased job name."""
        return name_key(self.job_name)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> WaitingStep:
        """Parse a DynamoDB item (attribute-value form).

        Raises:
            ContractError: an attribute missing or malformed, named.
        """
        backend = _optional(item, "backend", "S")
        studio = backend == LABEL_STUDIO
        try:
            return cls(
                job_name=_optional(item, "labelingJobName", "S") or _required(item, "jobName", "S"),
                task_token=_required(item, "taskToken", "S"),
                job_id=_optional(item, "jobId", "S") or "",
                project=_optional(item, "project", "S") or "",
                stored_at=int(_required(item, "storedAt", "N")),
                expires_at=int(_optional(item, "expiresAt", "N") or 0),
                backend=backend,
                label_studio_project=(
                    int(_required(item, "labelStudioProjectId", "N")) if studio else None
                ),
                deadline=int(_required(item, "deadline", "N")) if studio else None,
                manifest_uri=_required(item, "manifestUri", "S") if studio else None,
                finishing_since=_number(_optional(item, "finishingSince", "N")),
            )
        except ValueError as exc:
            if isinstance(exc, ContractError):
                raise
            raise ContractError(f"token item: a number is malformed: {exc}") from None


def _optional(item: Mapping[str, Any], name: str, kind: str) -> str | None:
    value = item.get(name)
    text = value.get(kind) if isinstance(value, Mapping) else None
    return text if isinstance(text, str) and text else None


def _required(item: Mapping[str, Any], name: str, kind: str) -> str:
    text = _optional(item, name, kind)
    if text is None:
        raise ContractError(f"token item attribute {name} must be a non-empty {kind}")
    return text


def _number(text: str | None) -> int | None:
    return None if text is None else int(text)


class HeldToken(Protocol):
    """What names a tokens-table item and the token it must still hold."""

    @property
    def job_name(self) -> str: ...

    @property
    def task_token(self) -> str: ...


class TokenStore:
    """The tokens table, through a DynamoDB client (``boto3.client("dynamodb")``)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def put(self, step: WaitingStep) -> bool:
        """Keep ``step``; ``False`` when an earlier attempt of the step had kept one.

        A retried step replaces the token (the state machine now waits for the new one) and
        keeps the first deadline; a finish claim is dropped.

        Raises:
            Throttled: DynamoDB throttled the write.
        """
        names = {"#project": "project"}
        values: dict[str, Any] = {
            ":token": {"S": step.task_token},
            ":name": {"S": step.job_name},
            ":job": {"S": step.job_id},
            ":project": {"S": step.project},
            ":now": {"N": str(step.stored_at)},
            ":expires": {"N": str(step.expires_at)},
        }
        update = (
            "SET taskToken = :token, labelingJobName = :name, jobId = :job, "
            "#project = :project, storedAt = :now, expiresAt = :expires"
        )
        if step.backend is not None:
            update += ", backend = :backend"
            values[":backend"] = {"S": step.backend}
        if step.label_studio_project is not None:
            update += ", labelStudioProjectId = :ls"
            values[":ls"] = {"N": str(step.label_studio_project)}
        if step.manifest_uri is not None:
            update += ", manifestUri = :manifest"
            values[":manifest"] = {"S": step.manifest_uri}
        if step.deadline is not None:
            update += ", deadline = if_not_exists(deadline, :deadline)"
            values[":deadline"] = {"N": str(step.deadline)}
        try:
            response = self._dynamodb.update_item(
                TableName=self._table,
                Key={"jobName": {"S": step.key}},
                UpdateExpression=update + " REMOVE finishingSince",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",
            )
        except Exception as exc:
            _raise_throttled(exc)
            raise
        return "taskToken" not in (response.get("Attributes") or {})

    def get(self, job_name: str) -> WaitingStep | None:
        """The waiting step of ``job_name`` (any case), or ``None``.

        Raises:
            ContractError: the item is malformed.
        """
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"jobName": {"S": name_key(job_name)}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else WaitingStep.from_item(item)

    def scan(self, *, backend: str | None) -> Iterator[Mapping[str, Any]]:
        """Every raw item of ``backend`` (``None``: Ground Truth), page by page.

        Items are returned unparsed so that a caller can report a malformed one and go on.
        """
        options: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        if backend is None:
            options["FilterExpression"] = "attribute_not_exists(backend)"
        else:
            options["FilterExpression"] = "backend = :backend"
            options["ExpressionAttributeValues"] = {":backend": {"S": backend}}
        for page in self._dynamodb.get_paginator("scan").paginate(**options):
            yield from page.get("Items", [])

    def find_label_studio_project(self, project_id: int) -> WaitingStep | None:
        """The Label Studio job of a Label Studio project id, or ``None``."""
        options = {
            "TableName": self._table,
            "ConsistentRead": True,
            "FilterExpression": "backend = :backend AND labelStudioProjectId = :project",
            "ExpressionAttributeValues": {
                ":backend": {"S": LABEL_STUDIO},
                ":project": {"N": str(project_id)},
            },
        }
        for page in self._dynamodb.get_paginator("scan").paginate(**options):
            for item in page.get("Items", []):
                return WaitingStep.from_item(item)
        return None

    def claim(self, step: HeldToken, now: int) -> bool:
        """Take the job's finish; ``False`` when it is finished or another finish holds it."""
        return self._conditional_update(
            step,
            "SET finishingSince = :now",
            "taskToken = :token AND "
            "(attribute_not_exists(finishingSince) OR finishingSince < :stale)",
            {":now": {"N": str(now)}, ":stale": {"N": str(now - CLAIM_SECONDS)}},
        )

    def release(self, step: HeldToken) -> None:
        """Give a finish claim back (the token stays for the next webhook or sweep)."""
        self._conditional_update(step, "REMOVE finishingSince", "taskToken = :token", {})

    def forget(self, step: HeldToken) -> bool:
        """Delete the item if it still holds ``step``'s token; ``False`` when it does not
        (a retried step stored a new one, which is kept)."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={"jobName": {"S": name_key(step.job_name)}},
                ConditionExpression="taskToken = :token",
                ExpressionAttributeValues={":token": {"S": step.task_token}},
            )
        except Exception as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return False
        return True

    def _conditional_update(
        self, step: HeldToken, update: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"jobName": {"S": name_key(step.job_name)}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={":token": {"S": step.task_token}, **values},
            )
        except Exception as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return False
        return True


def _raise_throttled(exc: BaseException) -> None:
    code = error_code(exc)
    if code in THROTTLING_ERRORS:
        raise Throttled(f"{code}: {exc}") from exc
