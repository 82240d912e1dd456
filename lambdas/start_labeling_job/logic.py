"""Build the ``CreateLabelingJob`` request of one manifest chunk (pure).

The job is named :func:`job_contracts.ids.labeling_job_name` (``<project>-<jobId>-<index>``);
IAM scopes the workflow's SageMaker permissions to ``labeling-job/<project>-*``. The worker
task template is read from ``s3://<ARTIFACTS_BUCKET>/templates/<project>.liquid.html`` and the
label categories from ``jobs/<jobId>/label-categories.json`` of the results bucket
(:func:`label_categories`, written by the step before the job is created; projects without
labels, free text and numbers, get no file and no ``LabelCategoryConfigS3Uri``).

``TaskTitle`` and ``TaskDescription`` must match ``.+`` (no line breaks) within 128 and 255
characters: whitespace runs, line breaks included, become one space before the text is cut.

The project's workforce picks the work team: a private or vendor team by its ARN, or the
public Mechanical Turk team of the function's region, with the project's price per task
(:func:`task_price`) and the content declarations Mechanical Turk requires.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from gt_contracts import ContractError, ProjectConfig
from job_contracts.ids import labeling_job_name
from job_contracts.layout import JobLayout, template_key
from job_contracts.steps import StartRequest

__all__ = [
    "PUBLIC_WORKTEAM_ACCOUNT",
    "JobSettings",
    "build_request",
    "label_categories",
    "one_line",
    "task_price",
    "workteam_arn",
]

#: The account of Ground Truth's public (Mechanical Turk) work team, in every region.
PUBLIC_WORKTEAM_ACCOUNT = "394669845002"
MAX_TITLE = 128
MAX_DESCRIPTION = 255
_WHITESPACE = re.compile(r"\s+")


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


def one_line(text: str, limit: int) -> str:
    """``text`` with every whitespace run (line breaks too) as one space, cut to ``limit``."""
    return _WHITESPACE.sub(" ", text).strip()[:limit].rstrip()


def label_categories(project: ProjectConfig) -> bytes | None:
    """The label-category file (``LabelCategoryConfigS3Uri``) of a project's jobs.

    Ground Truth passes its labels to the consolidation request as ``labelCategories``; the
    instructions are included as named-entity jobs require them. ``None`` for a project
    without labels (free text, numbers): such jobs are created without the file.
    """
    if not project.labels:
        return None
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
    name = labeling_job_name(request.project, request.job_id, request.chunk.index)
    layout = JobLayout(request.job_id)
    title = one_line(f"LabelFlow {project.name}", MAX_TITLE)
    description = one_line(project.short_instruction, MAX_DESCRIPTION) or title
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
        "UiConfig": {
            "UiTemplateS3Uri": f"s3://{settings.artifacts_bucket}/{template_key(project.name)}"
        },
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
    params: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": project.name,
        "InputConfig": input_config,
        "OutputConfig": {
            "S3OutputPath": f"s3://{settings.results_bucket}/{layout.ground_truth_output}",
            "KmsKeyId": settings.kms_key_arn,
        },
        "RoleArn": settings.role_arn,
        "HumanTaskConfig": human,
        "Tags": [
            {"Key": "labelflow:project", "Value": project.name},
            {"Key": "labelflow:job-id", "Value": request.job_id},
        ],
    }
    if project.labels:
        params["LabelCategoryConfigS3Uri"] = (
            f"s3://{settings.results_bucket}/{layout.label_categories}"
        )
    return params
