"""Build the ``CreateLabelingJob`` request of one manifest chunk (pure).

Job names are ``<project>-<jobId>-<index>``, made to fit the API's pattern
``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``: every character other than a letter or digit becomes
``-``, runs of ``-`` collapse to one and leading or trailing ``-`` go. A name longer than 63
characters keeps the project prefix and the index suffix, cuts the job id and adds 8 hex
characters of a BLAKE2b digest of the full job id, so two long job ids that share a prefix
still name different jobs. The project prefix is kept because IAM scopes the workflow's
SageMaker permissions to ``labeling-job/<project>-*``.

The worker task template is read from ``s3://<ARTIFACTS_BUCKET>/templates/<project>.liquid.html``;
templates are uploaded there by a later change of the deployment, so until then the object
must be put in place by the operator before a job starts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gt_contracts import ContractError, ProjectConfig, parse_s3_uri

__all__ = [
    "MAX_JOB_NAME",
    "TASK_TIME_LIMIT_SECONDS",
    "TOKEN_TTL_SECONDS",
    "Chunk",
    "JobSettings",
    "StartRequest",
    "build_request",
    "job_name",
    "template_uri",
]

MAX_JOB_NAME = 63
#: Token items expire this long after they are written (the tokens table's TTL attribute
#: ``expiresAt``), so ``expiresAt - TOKEN_TTL_SECONDS`` is when the token was stored.
TOKEN_TTL_SECONDS = 30 * 24 * 3600
#: Time one worker has for one task.
TASK_TIME_LIMIT_SECONDS = 600
#: How long a task stays available to the work team (10 days, the private-workforce maximum).
TASK_AVAILABILITY_SECONDS = 864_000
MAX_TITLE = 128
MAX_DESCRIPTION = 255
_JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_HASH_CHARS = 8


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the clean manifest (as planned by the Validate step)."""

    index: int
    manifest_uri: str


@dataclass(frozen=True, slots=True)
class StartRequest:
    """The event of the StartLabelingJob step."""

    task_token: str
    job_id: str
    project: str
    chunk: Chunk

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> StartRequest:
        """Parse ``{"taskToken", "jobId", "project", "chunk": {"index", "manifestUri"}}``.

        Raises:
            ContractError: a missing or invalid field, named.
        """
        token = event.get("taskToken")
        if not isinstance(token, str) or not token:
            raise ContractError("taskToken must be a non-empty string")
        job_id = event.get("jobId")
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise ContractError(f"jobId must be 1-128 letters, digits, '.', '_' or '-': {job_id!r}")
        project = event.get("project")
        if not isinstance(project, str) or not project:
            raise ContractError("project must be a non-empty string")
        chunk = event.get("chunk")
        if not isinstance(chunk, Mapping):
            raise ContractError("chunk must be an object")
        index = chunk.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ContractError(f"chunk.index must be a non-negative integer: {index!r}")
        uri = chunk.get("manifestUri")
        if not isinstance(uri, str):
            raise ContractError("chunk.manifestUri must be an s3:// URI")
        parse_s3_uri(uri, field="chunk.manifestUri")
        return cls(token, job_id, project, Chunk(index, uri))


@dataclass(frozen=True, kw_only=True, slots=True)
class JobSettings:
    """The deployment's values that every labeling job uses."""

    results_bucket: str
    artifacts_bucket: str
    role_arn: str
    workteam_arn: str
    pre_annotation_arn: str
    consolidation_arn: str


def job_name(project: str, job_id: str, index: int) -> str:
    """``<project>-<jobId>-<index>`` in the API's name pattern (see the module docstring)."""
    prefix = _clean(project)
    if not prefix:
        raise ContractError(f"project {project!r} has no letter or digit")
    suffix = str(index)
    middle = _clean(job_id)
    name = "-".join(part for part in (prefix, middle, suffix) if part)
    if len(name) <= MAX_JOB_NAME:
        return name
    digest = hashlib.blake2b(job_id.encode(), digest_size=_HASH_CHARS // 2).hexdigest()
    room = MAX_JOB_NAME - len(prefix) - len(suffix) - len(digest) - 3
    if room < 1:
        raise ContractError(f"project {project!r} is too long for a labeling-job name")
    middle = middle[:room].strip("-")
    return "-".join(part for part in (prefix, middle, digest, suffix) if part)


def _clean(text: str) -> str:
    return _NOT_ALNUM.sub("-", text).strip("-")


def template_uri(artifacts_bucket: str, project: str) -> str:
    """Where the project's worker task template is read from."""
    return f"s3://{artifacts_bucket}/templates/{project}.liquid.html"


def build_request(
    request: StartRequest, project: ProjectConfig, settings: JobSettings
) -> dict[str, Any]:
    """The ``CreateLabelingJob`` parameters of the request's chunk."""
    name = job_name(request.project, request.job_id, request.chunk.index)
    title = f"LabelFlow {project.name}"[:MAX_TITLE]
    description = (project.short_instruction.strip() or title)[:MAX_DESCRIPTION]
    return {
        "LabelingJobName": name,
        "LabelAttributeName": project.name,
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": request.chunk.manifest_uri}}
        },
        "OutputConfig": {
            "S3OutputPath": f"s3://{settings.results_bucket}/jobs/{request.job_id}/gt/"
        },
        "RoleArn": settings.role_arn,
        "HumanTaskConfig": {
            "WorkteamArn": settings.workteam_arn,
            "UiConfig": {"UiTemplateS3Uri": template_uri(settings.artifacts_bucket, project.name)},
            "PreHumanTaskLambdaArn": settings.pre_annotation_arn,
            "TaskTitle": title,
            "TaskDescription": description,
            "NumberOfHumanWorkersPerDataObject": project.workers_per_item,
            "TaskTimeLimitInSeconds": TASK_TIME_LIMIT_SECONDS,
            "TaskAvailabilityLifetimeInSeconds": TASK_AVAILABILITY_SECONDS,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": settings.consolidation_arn
            },
        },
        "Tags": [
            {"Key": "labelflow:project", "Value": project.name},
            {"Key": "labelflow:job-id", "Value": request.job_id},
        ],
    }
