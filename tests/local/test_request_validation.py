"""Requests checked against botocore's model as the service checks them.

The first test builds a ``CreateLabelingJob`` request the way the StartLabelingJob function
does, for every task type and every kind of workforce, from projects configured as a stage
configures them, and has the emulator's SageMaker accept it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gt_contracts import TASK_TYPES, parse_projects
from gt_contracts.project_schema import PUBLIC_TASK_PRICES_USD
from infra.config import STAGES, ConfigError, ProjectConfig, Workforce, projects_setting
from job_contracts.steps import StartRequest
from labelflow.local.java_regex import UntranslatablePattern
from labelflow.local.request_validation import (
    RequestValidationError,
    problems,
    service_model,
    validate_request,
)
from start_labeling_job.logic import JobSettings, build_request

ACCOUNT = "123456789012"
TEAM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:workteam/private-crowd/labelers"
VENDOR = "arn:aws:sagemaker:us-east-1:987654321098:workteam/vendor-crowd/acme-labeling"
SETTINGS = JobSettings(
    results_bucket="labelflow-dev-results",
    artifacts_bucket="labelflow-dev-artifacts",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/labelflow-dev-LabelingJobRole",
    kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    region="us-east-1",
    pre_annotation_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:labelflow-dev-pre",
    consolidation_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:labelflow-dev-post",
)


def _workforce(kind: str, task_type: str) -> Workforce:
    if kind == "public":
        # a different allowed price for each task type, so every price is built once
        price = PUBLIC_TASK_PRICES_USD[TASK_TYPES.index(task_type) % len(PUBLIC_TASK_PRICES_USD)]
        return Workforce(type="public", price_usd=price, free_of_pii=True)
    if kind == "vendor":
        return Workforce(type="vendor", workteam_arn=VENDOR)
    return Workforce()


def _project(task_type: str, kind: str) -> ProjectConfig:
    """A project of ``task_type``, with labels when the task type takes them."""
    common: dict[str, Any] = {
        "name": "".join(word[0] for word in task_type.split("-")) + f"-{kind}",
        "task_type": task_type,
        # a short instruction over two lines: TaskDescription must still be one line
        "short_instruction": "Label the item.\nLook at all of it first.",
        "full_instruction": "<p>Take your time.</p>",
        "workers_per_item": 3,
        "workforce": _workforce(kind, task_type),
    }
    try:
        return ProjectConfig(labels=("cat", "dog"), **common)
    except ConfigError:
        return ProjectConfig(labels=(), **common)


def _requests() -> Iterator[tuple[str, dict[str, Any]]]:
    projects = [
        _project(task_type, kind)
        for task_type in TASK_TYPES
        for kind in ("private", "vendor", "public")
    ]
    projects += list(STAGES["dev"].projects)
    parsed = parse_projects(projects_setting(tuple(projects), TEAM))
    for index, project in enumerate(parsed.values()):
        start = StartRequest.from_event(
            {
                "taskToken": "token",
                "jobId": f"2026-12-07.upload-{index}",
                "project": project.name,
                "chunk": {
                    "index": 0,
                    "manifestUri": f"s3://results/jobs/{index}/chunks/0.manifest",
                },
            }
        )
        yield project.name, build_request(start, project, SETTINGS)


REQUESTS = dict(_requests())


@pytest.fixture
def sagemaker(patched: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


@pytest.mark.parametrize("project", sorted(REQUESTS))
def test_every_create_labeling_job_request_labelflow_builds_is_accepted(
    sagemaker: Any, project: str
) -> None:
    request = REQUESTS[project]

    assert problems("sagemaker", "CreateLabelingJob", request) == []
    arn = sagemaker.create_labeling_job(**request)["LabelingJobArn"]
    assert arn.endswith(f":labeling-job/{request['LabelingJobName'].lower()}")


def test_every_task_type_and_workforce_kind_was_built() -> None:
    kinds = {
        request["HumanTaskConfig"]["WorkteamArn"].split(":workteam/")[1].split("/")[0]
        for request in REQUESTS.values()
    }
    assert kinds == {"private-crowd", "vendor-crowd", "public-crowd"}
    assert len(REQUESTS) == 3 * len(TASK_TYPES) + len(STAGES["dev"].projects)


_HUMAN_TASK_MEMBERS = set(
    service_model("sagemaker")
    .operation_model("CreateLabelingJob")
    .input_shape.members["HumanTaskConfig"]
    .members
)


@pytest.mark.parametrize("price", PUBLIC_TASK_PRICES_USD, ids=str)
def test_every_price_a_project_may_set_is_one_the_service_accepts(
    sagemaker: Any, price: Any
) -> None:
    (project,) = parse_projects(
        projects_setting(
            (
                ProjectConfig(
                    name="pets",
                    task_type="image-classification",
                    labels=("cat", "dog"),
                    short_instruction="Which animal?",
                    full_instruction="<p>Which animal?</p>",
                    workers_per_item=3,
                    workforce=Workforce(type="public", price_usd=price, free_of_pii=True),
                ),
            )
        )
    ).values()
    start = StartRequest.from_event(
        {
            "taskToken": "token",
            "jobId": f"price-{price}",
            "project": "pets",
            "chunk": {"index": 0, "manifestUri": "s3://results/jobs/p/chunks/0.manifest"},
        }
    )

    sagemaker.create_labeling_job(**build_request(start, project, SETTINGS))


def _request(**changes: Any) -> dict[str, Any]:
    """The dev stage's ``pets`` request with ``changes`` (``HumanTaskConfig`` members there)."""
    request = {**REQUESTS["pets"], "HumanTaskConfig": dict(REQUESTS["pets"]["HumanTaskConfig"])}
    for key, value in changes.items():
        target = request["HumanTaskConfig"] if key in _HUMAN_TASK_MEMBERS else request
        target[key] = value
    return request


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"TaskDescription": "Choose the animal.\nLook closely."},
            "1 validation error detected: Value 'Choose the animal.\nLook closely.' at "
            "'humanTaskConfig.taskDescription' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: .+",
        ),
        (
            {"MaxConcurrentTaskCount": 6000},
            "1 validation error detected: Value '6000' at 'humanTaskConfig.maxConcurrentTaskCount'"
            " failed to satisfy constraint: Member must have value less than or equal to 5000",
        ),
        (
            {"LabelingJobName": "pets_2026"},
            "1 validation error detected: Value 'pets_2026' at 'labelingJobName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (
            {"TaskTitle": "a" * 127 + "\U0001f600"},
            "at 'humanTaskConfig.taskTitle' failed to satisfy constraint: Member must have "
            "length less than or equal to 128",
        ),
        (
            {"TaskKeywords": ["cats", "dogs", "pets", "photos", "animals", "images"]},
            "at 'humanTaskConfig.taskKeywords' failed to satisfy constraint: Member must have "
            "length less than or equal to 5",
        ),
        (
            {"TaskKeywords": ["cats-and-dogs"]},
            "Value 'cats-and-dogs' at 'humanTaskConfig.taskKeywords.1.member' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            {"InputConfig": {"DataSource": {}, "DataAttributes": {"ContentClassifiers": ["X"]}}},
            "Value 'X' at 'inputConfig.dataAttributes.contentClassifiers.1.member' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            "[FreeOfPersonallyIdentifiableInformation, FreeOfAdultContent]",
        ),
        (
            {"NumberOfHumanWorkersPerDataObject": "3"},
            "Value '3' at 'humanTaskConfig.numberOfHumanWorkersPerDataObject' failed to "
            "satisfy constraint: Member must be a number",
        ),
    ],
)
def test_known_bad_requests_fail_with_the_services_message(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(RequestValidationError) as raised:
        validate_request("sagemaker", "CreateLabelingJob", _request(**changes))

    assert message in str(raised.value)


def test_every_problem_is_reported_in_one_message() -> None:
    request = _request(LabelingJobName="pets_2026", MaxConcurrentTaskCount=6000)
    del request["RoleArn"]

    with pytest.raises(RequestValidationError) as raised:
        validate_request("sagemaker", "CreateLabelingJob", request)

    text = str(raised.value)
    assert text.startswith("3 validation errors detected: ")
    assert text.count("; ") == 2
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in text


def test_the_fake_answers_a_bad_request_with_validation_exception(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sagemaker.create_labeling_job(**_request(MaxConcurrentTaskCount=6000))

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"].startswith("1 validation error detected:")


def test_a_sensitive_value_is_left_out_of_the_message() -> None:
    found = problems(
        "sagemaker",
        "CreateWorkforce",
        {
            "WorkforceName": "team",
            "OidcConfig": {
                "ClientId": "client",
                "ClientSecret": "s" * 1025,
                "Issuer": "https://issuer.example.com",
                "AuthorizationEndpoint": "https://issuer.example.com/authorize",
                "TokenEndpoint": "https://issuer.example.com/token",
                "UserInfoEndpoint": "https://issuer.example.com/userinfo",
                "LogoutEndpoint": "https://issuer.example.com/logout",
                "JwksUri": "https://issuer.example.com/jwks",
            },
        },
    )

    assert found == [
        "Value at 'oidcConfig.clientSecret' failed to satisfy constraint: Member must have "
        "length less than or equal to 1024"
    ]


def test_a_pattern_that_cannot_be_translated_fails_the_validation() -> None:
    with pytest.raises(UntranslatablePattern, match=r"\\b"):
        validate_request(
            "cloudformation",
            "DescribeChangeSet",
            {"ChangeSetName": "review", "StackName": "labelflow-dev-Labeling"},
        )
