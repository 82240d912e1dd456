"""Build the ``CreateLabelingJob`` request of one manifest chunk (pure).

Job names are ``<project>-<jobId>-<index>``, made to fit the API's pattern
``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``: every character other than a letter or digit becomes
``-``, runs of ``-`` collapse to one and leading or trailing ``-`` go. A name longer than 63
characters keeps the project prefix and the index suffix, cuts the job id and adds 8 hex
characters of a BLAKE2b digest of the full job id, so two long job ids that share a prefix
still name different jobs. The project prefix is kept because IAM scopes the workflow's
SageMaker permissions to ``labeling-job/<project>-*``.

The worker task template is read from ``s3://<ARTIFACTS_BUCKET>/templates/<project>.liquid.html``
and the label categories from ``jobs/<jobId>/label-categories.json`` of the results bucket
(:func:`label_categories`, written by the step before the job is created).

The project's workforce picks the work team: a private or vendor team by its ARN, or the
public Mechanical Turk team of the function's region, with the project's price per task
(:func:`task_price`) and the content declarations Mechanical Turk requires.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from gt_contracts import ContractError, ProjectConfig, parse_s3_uri

__all__ = [
    "MAX_JOB_NAME",
    "PUBLIC_WORKTEAM_ACCOUNT",
    "Chunk",
    "JobSettings",
    "StartRequest",
    "build_request",
    "job_name",
    "label_categories",
    "label_categories_key",
    "task_price",
    "template_uri",
    "workteam_arn",
]

MAX_JOB_NAME = 63
#: The account of Ground Truth's public (Mechanical Turk) work team, in every region.
PUBLIC_WORKTEAM_ACCOUNT = "394669845002"
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
    kms_key_arn: str
    region: str
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


def label_categories_key(job_id: str) -> str:
    """Where a job's label-category file is written in the results bucket."""
    return f"jobs/{job_id}/label-categories.json"


def label_categories(project: ProjectConfig) -> bytes:
    """The label-category file (``LabelCategoryConfigS3Uri``) of a project's jobs.

    Ground Truth passes its labels to the consolidation request as ``labelCategories``; the
    instructions are included as named-entity jobs require them.
    """
    document = {
        "document-version": "2018-11-28",
        "labels": [{"label": label} for label in project.labels],
        "instructions": {
            "shortInstruction": project.short_instruction,
            "fullInstruction": project.full_instruction,
        },
    }
    return json.dumps(document, ensure_ascii=False).encode()


def workteam_arn(project: ProjectConfig, region: str) -> str:
    """The work team of the project's labeling jobs in ``region``.

    Raises:
        ContractError: a private or vendor workforce without a work team ARN.
    """
    workforce = project.workforce
    if workforce.kind == "public":
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        return (
            f"arn:{partition}:sagemaker:{region}:{PUBLIC_WORKTEAM_ACCOUNT}:"
            "workteam/public-crowd/default"
        )
    if not workforce.workteam_arn:
        raise ContractError(f"project {project.name!r} has no work team ARN")
    return workforce.workteam_arn


def task_price(price_usd: str) -> dict[str, int]:
    """``PublicWorkforceTaskPrice.AmountInUsd`` of a price such as ``"0.036"``.

    Raises:
        ContractError: not a price from 0.001 to 2.999 USD in tenths of a cent.
    """
    try:
        amount = Decimal(price_usd)
    except InvalidOperation:
        raise ContractError(f"price {price_usd!r} is not a decimal number") from None
    tenths = amount * 1000
    if tenths != tenths.to_integral_value() or not 1 <= tenths < 3000:
        raise ContractError(f"price {price_usd!r} is not 0.001-2.999 USD in tenths of a cent")
    dollars, rest = divmod(int(tenths), 1000)
    cents, fraction = divmod(rest, 10)
    return {"Dollars": dollars, "Cents": cents, "TenthFractionsOfACent": fraction}


def build_request(
    request: StartRequest, project: ProjectConfig, settings: JobSettings
) -> dict[str, Any]:
    """The ``CreateLabelingJob`` parameters of the request's chunk."""
    name = job_name(request.project, request.job_id, request.chunk.index)
    title = f"LabelFlow {project.name}"[:MAX_TITLE]
    description = (project.short_instruction.strip() or title)[:MAX_DESCRIPTION]
    workforce = project.workforce
    input_config: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"ManifestS3Uri": request.chunk.manifest_uri}}
    }
    classifiers = [
        classifier
        for classifier, declared in (
            ("FreeOfPersonallyIdentifiableInformation", workforce.free_of_pii),
            ("FreeOfAdultContent", workforce.free_of_adult_content),
        )
        if declared
    ]
    if classifiers:
        input_config["DataAttributes"] = {"ContentClassifiers": classifiers}
    human: dict[str, Any] = {
        "WorkteamArn": workteam_arn(project, settings.region),
        "UiConfig": {"UiTemplateS3Uri": template_uri(settings.artifacts_bucket, project.name)},
        "PreHumanTaskLambdaArn": settings.pre_annotation_arn,
        "TaskTitle": title,
        "TaskDescription": description,
        "NumberOfHumanWorkersPerDataObject": project.workers_per_item,
        "TaskTimeLimitInSeconds": project.task_time_limit_seconds,
        "TaskAvailabilityLifetimeInSeconds": project.task_availability_seconds,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": settings.consolidation_arn
        },
    }
    if project.max_concurrent_tasks is not None:
        human["MaxConcurrentTaskCount"] = project.max_concurrent_tasks
    if workforce.kind == "public":
        if workforce.price_usd is None:
            raise ContractError(f"project {project.name!r}: a public workforce needs a price")
        human["PublicWorkforceTaskPrice"] = {"AmountInUsd": task_price(workforce.price_usd)}
    return {
        "LabelingJobName": name,
        "LabelAttributeName": project.name,
        "InputConfig": input_config,
        "OutputConfig": {
            "S3OutputPath": f"s3://{settings.results_bucket}/jobs/{request.job_id}/gt/",
            "KmsKeyId": settings.kms_key_arn,
        },
        "RoleArn": settings.role_arn,
        "LabelCategoryConfigS3Uri": (
            f"s3://{settings.results_bucket}/{label_categories_key(request.job_id)}"
        ),
        "HumanTaskConfig": human,
        "Tags": [
            {"Key": "labelflow:project", "Value": project.name},
            {"Key": "labelflow:job-id", "Value": request.job_id},
        ],
    }
