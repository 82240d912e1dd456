"""The AWS side of the job commands: finding the stack and reading and writing its resources.

:func:`find_stack` reads a deployed stack's outputs with CloudFormation ``DescribeStacks``;
:func:`find_local_stack` reads the state file of ``labelflow local up`` and checks that the
emulator answers. :class:`JobsAws` then uploads manifests, reads the jobs table, the
execution, the labeling jobs and the job's output, through boto3 clients pointed at
wherever the stack was found. AWS errors become :class:`~labelflow.jobs.CommandError` with
a message that names what was tried.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gt_contracts import ContractError
from job_contracts.ids import job_id, labeling_job_name
from job_contracts.layout import JobLayout, alerts_prefix
from job_contracts.worker_alerts import FlaggedWorker
from labelflow.jobs import (
    CommandError,
    JobRecord,
    LabelingJobView,
    LineCounts,
    StackInfo,
    WorkflowView,
    read_history,
)

__all__ = ["JobsAws", "UploadedManifest", "find_local_stack", "find_stack"]

_LOCAL_HINT = "start it in another terminal with: labelflow local up"


@contextmanager
def _aws_errors(what: str, where: str) -> Iterator[None]:
    """Turn boto errors into a CommandError naming ``what`` was done and ``where``."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    try:
        yield
    except NoCredentialsError:
        raise CommandError(
            f"{what}: no AWS credentials found ({where}); configure a profile "
            "(aws configure) and pass --profile, or use --local"
        ) from None
    except EndpointConnectionError as exc:
        raise CommandError(
            f"{what}: cannot reach {exc.kwargs.get('endpoint_url')} ({where})"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CommandError(
            f"{what} failed ({where}): {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise CommandError(f"{what} failed ({where}): {exc}") from None


def find_stack(name: str, *, region: str | None = None, profile: str | None = None) -> StackInfo:
    """The outputs of the deployed stack ``name`` (CloudFormation ``DescribeStacks``)."""
    import boto3
    from botocore.exceptions import ClientError, ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise CommandError(f"no AWS profile named {profile!r} in your AWS config") from None
    where = f"region {session.region_name or '(none)'}, profile {profile or 'default'}"
    if not session.region_name:
        raise CommandError(
            "no AWS region: pass --region, set AWS_REGION, or set a region in your profile"
        )
    client = session.client("cloudformation")
    try:
        with _aws_errors(f"looking up stack {name}", where):
            stacks = client.describe_stacks(StackName=name)["Stacks"]
    except CommandError as exc:
        cause = exc.__context__
        if isinstance(cause, ClientError) and "does not exist" in str(cause):
            raise CommandError(
                f"no stack named {name} ({where}); pass --stage or --stack for another "
                "deployment, --region/--profile for another account or region, or --local "
                "for the local emulator"
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return StackInfo(name=name, outputs=outputs, region=session.region_name, where=where)


def _answers(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1.0):
            return True
    except OSError:
        return False


def find_local_stack(state_file: Path) -> StackInfo:
    """The stack deployed by ``labelflow local up``, from its state file."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(
            f"the local emulator is not running (no {state_file}); {_LOCAL_HINT}"
        ) from None
    except ValueError as exc:
        raise CommandError(
            f"{state_file} is not a state file of labelflow local up: {exc}"
        ) from None
    endpoint = str(state.get("endpoint", ""))
    if not endpoint or not _answers(endpoint):
        raise CommandError(
            f"the local emulator is not running (nothing answers at {endpoint or '?'}, "
            f"named in {state_file}); {_LOCAL_HINT}"
        )
    return StackInfo(
        name=str(state.get("stack", "")),
        outputs={str(k): str(v) for k, v in (state.get("outputs") or {}).items()},
        region=str(state.get("region", "us-east-1")),
        where=f"local emulator at {endpoint}",
        endpoint_url=endpoint,
    )


class UploadedManifest:
    """Where a manifest went, and the job id the intake trigger gives it."""

    def __init__(self, bucket: str, key: str, version_id: str | None, etag: str) -> None:
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.etag = etag
        self.job_id: str = job_id(bucket, key, version_id, etag)


class JobsAws:
    """Clients for one stack, created on first use."""

    def __init__(self, stack: StackInfo, *, profile: str | None = None) -> None:
        self.stack = stack
        self._profile = profile
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            if self.stack.endpoint_url:
                from labelflow.local.server import FAKE_CREDENTIALS

                factory: Callable[..., Any] = boto3.client
                self._clients[service] = factory(
                    service,
                    region_name=self.stack.region,
                    endpoint_url=self.stack.endpoint_url,
                    aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
            else:
                session = boto3.Session(profile_name=self._profile, region_name=self.stack.region)
                make: Callable[..., Any] = session.client
                self._clients[service] = make(service)
        return self._clients[service]

    def _errors(self, what: str) -> Any:
        return _aws_errors(what, self.stack.where)

    # -- submit --------------------------------------------------------------------------

    def upload_manifest(self, path: Path, key: str) -> UploadedManifest:
        bucket = self.stack.output("IntakeBucketName")
        with self._errors(f"uploading {path} to s3://{bucket}/{key}"), path.open("rb") as body:
            response = self.client("s3").put_object(
                Bucket=bucket, Key=key, Body=body, ContentType="application/jsonlines"
            )
        # Events spell the ETag without the quotes the API response has.
        etag = str(response["ETag"]).strip('"')
        return UploadedManifest(bucket, key, response.get("VersionId"), etag)

    # -- jobs ----------------------------------------------------------------------------

    def list_jobs(self) -> list[JobRecord]:
        """Every job of the table, newest first."""
        table = self.stack.output("JobsTableName")
        records: list[JobRecord] = []
        with self._errors(f"reading the jobs table {table}"):
            paginator = self.client("dynamodb").get_paginator("scan")
            for page in paginator.paginate(TableName=table):
                records += [JobRecord.from_item(item) for item in page.get("Items", [])]
        return sorted(records, key=lambda r: (r.created, r.job_id), reverse=True)

    def get_job(self, job_id: str) -> JobRecord | None:
        table = self.stack.output("JobsTableName")
        with self._errors(f"reading job {job_id} from {table}"):
            item = (
                self.client("dynamodb")
                .get_item(TableName=table, Key={"jobId": {"S": job_id}}, ConsistentRead=True)
                .get("Item")
            )
        return JobRecord.from_item(item) if item else None

    def find_job(self, job_id: str) -> JobRecord:
        """The job ``job_id``, or the only job whose id starts with it."""
        record = self.get_job(job_id)
        if record is not None:
            return record
        matches = [r for r in self.list_jobs() if r.job_id.startswith(job_id)] if job_id else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(r.job_id for r in matches[:5])
            raise CommandError(f"job id {job_id!r} is ambiguous: it starts {ids}")
        raise CommandError(
            f"unknown job {job_id!r} in stack {self.stack.name} ({self.stack.where}); "
            "list recent jobs with: labelflow status"
        )

    def workflow(self, record: JobRecord, *, history: bool = True) -> WorkflowView | None:
        """The execution of a job; with ``history``, its current stage and Validate's summary."""
        if not record.execution_arn:
            return None
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        with self._errors(f"reading the execution of job {record.job_id}"):
            described = sfn.describe_execution(executionArn=record.execution_arn)
            pages = sfn.get_paginator("get_execution_history").paginate(
                executionArn=record.execution_arn
            )
            for page in pages if history else ():
                events += page.get("events", [])
        seen = read_history(events)
        validation = seen["validation"] or {}
        chunks = validation.get("chunks")
        try:
            counts = LineCounts.parse(validation, where="Validate's result") if validation else None
        except CommandError:
            counts = None  # an older Validate's result: its accepted and rejected still show
        return WorkflowView(
            status=str(described.get("status", "")),
            stage=seen["stage"],
            accepted=validation.get("accepted"),
            rejected=validation.get("rejected"),
            chunks=len(chunks) if isinstance(chunks, list) else None,
            error=str(described.get("error") or seen["error"]),
            cause=str(described.get("cause") or seen["cause"]),
            started=_iso(described.get("startDate")),
            stopped=_iso(described.get("stopDate")),
            validation=counts,
        )

    def labeling_jobs(
        self, record: JobRecord, workflow: WorkflowView | None
    ) -> list[LabelingJobView]:
        """DescribeLabelingJob of each chunk's job that has been created so far."""
        if workflow is None or not workflow.chunks:
            return []
        from botocore.exceptions import ClientError

        views = []
        sagemaker = self.client("sagemaker")
        for index in range(workflow.chunks):
            name = labeling_job_name(record.project, record.job_id, index)
            try:
                with self._errors(f"describing labeling job {name}"):
                    views.append(
                        LabelingJobView.from_description(
                            sagemaker.describe_labeling_job(LabelingJobName=name)
                        )
                    )
            except CommandError as exc:
                cause = exc.__context__
                if isinstance(cause, ClientError) and "ResourceNotFound" in str(cause):
                    continue  # not created yet
                raise
        return views

    def flagged_workers(
        self, record: JobRecord, workflow: WorkflowView | None
    ) -> list[FlaggedWorker]:
        """The workers flagged in the job's labeling jobs so far (``alerts/`` of artifacts)."""
        if workflow is None or not workflow.chunks:
            return []
        bucket = self.stack.output("ArtifactsBucketName")
        s3 = self.client("s3")
        flagged = []
        for index in range(workflow.chunks):
            name = labeling_job_name(record.project, record.job_id, index)
            prefix = alerts_prefix(record.project, name)
            with self._errors(f"reading the flagged workers under s3://{bucket}/{prefix}"):
                for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=prefix
                ):
                    for entry in page.get("Contents", []):
                        body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                        flagged.append(_flag(body, f"s3://{bucket}/{entry['Key']}"))
        return flagged

    # -- output --------------------------------------------------------------------------

    def list_output(self, prefix: str) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under ``prefix`` of the results bucket."""
        bucket = self.stack.output("ResultsBucketName")
        found: list[tuple[str, int]] = []
        with self._errors(f"listing s3://{bucket}/{prefix}"):
            for page in (
                self.client("s3")
                .get_paginator("list_objects_v2")
                .paginate(Bucket=bucket, Prefix=prefix)
            ):
                found += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
        return sorted(found)

    def download(self, key: str, target: Path, progress: Callable[[int], None]) -> None:
        bucket = self.stack.output("ResultsBucketName")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._errors(f"downloading s3://{bucket}/{key}"):
            self.client("s3").download_file(bucket, key, str(target), Callback=progress)

    def read_output(self, key: str) -> bytes:
        bucket = self.stack.output("ResultsBucketName")
        with self._errors(f"reading s3://{bucket}/{key}"):
            body: bytes = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def read_optional(self, key: str) -> bytes | None:
        """The object ``key`` of the results bucket, or ``None`` when there is none."""
        from botocore.exceptions import ClientError

        try:
            return self.read_output(key)
        except CommandError as exc:
            cause = exc.__context__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in (
                "NoSuchKey",
                "404",
            ):
                return None
            raise

    def results_uri(self, key: str) -> str:
        """``s3://<results bucket>/<key>``."""
        return f"s3://{self.stack.output('ResultsBucketName')}/{key}"

    def line_counts(self, job_id: str) -> LineCounts | None:
        """Validate's counts of the job (``jobs/<jobId>/validation.json``), once it has run."""
        layout = JobLayout(job_id)
        body = self.read_optional(layout.validation)
        if body is None:
            return None
        where = self.results_uri(layout.validation)
        try:
            raw = json.loads(body)
        except ValueError as exc:
            raise CommandError(f"{where} is not JSON: {exc}") from None
        return LineCounts.parse(raw, where=where)


def _flag(body: bytes, where: str) -> FlaggedWorker:
    try:
        return FlaggedWorker.from_json(json.loads(body), at=where)
    except (ValueError, ContractError) as exc:
        raise CommandError(f"{where} is not a flagged worker's record: {exc}") from None


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value or "")
