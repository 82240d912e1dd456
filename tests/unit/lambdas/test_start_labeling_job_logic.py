"""The CreateLabelingJob request of one manifest chunk."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Literal

import pytest

from gt_contracts import ContractError, ProjectConfig, Workforce
from job_contracts.steps import StartRequest
from start_labeling_job.logic import (
    JobSettings,
    build_request,
    label_categories,
    task_price,
)
from start_labeling_job.settings import Settings, SettingsError

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
SETTINGS = JobSettings(
    results_bucket="results",
    artifacts_bucket="artifacts",
    role_arn="arn:aws:iam::123456789012:role/gt",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    region="us-east-1",
    pre_annotation_arn="arn:aws:lambda:us-east-1:123456789012:function:pre",
    consolidation_arn="arn:aws:lambda:us-east-1:123456789012:function:post",
)
TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"
PROJECT = ProjectConfig(
    name="reviews",
    task_type="text-classification",
    labels=("positive", "negative"),
    short_instruction="What is the tone?",
    workers_per_item=3,
    workforce=Workforce(workteam_arn=TEAM),
    task_time_limit_seconds=300,
    task_availability_seconds=3600,
)


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "taskToken": "token-1",
        "jobId": "2026-01.batch_1",
        "project": "reviews",
        "chunk": {"index": 2, "manifestUri": "s3://results/jobs/x/chunks/2.manifest"},
        **overrides,
    }


def test_build_request_fills_every_field_from_project_and_settings() -> None:
    request = build_request(StartRequest.from_event(event()), PROJECT, SETTINGS)

    assert request["LabelingJobName"] == "reviews-2026-01-batch-1-2"
    assert request["LabelAttributeName"] == "reviews"
    assert request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] == (
        "s3://results/jobs/x/chunks/2.manifest"
    )
    assert request["OutputConfig"] == {
        "S3OutputPath": "s3://results/jobs/2026-01.batch_1/gt/",
        "KmsKeyId": SETTINGS.kms_key_arn,
    }
    assert request["RoleArn"] == SETTINGS.role_arn
    assert request["LabelCategoryConfigS3Uri"] == (
        "s3://results/jobs/2026-01.batch_1/label-categories.json"
    )
    assert "DataAttributes" not in request["InputConfig"]
    task = request["HumanTaskConfig"]
    assert task["WorkteamArn"] == TEAM
    assert task["TaskTimeLimitInSeconds"] == 300
    assert task["TaskAvailabilityLifetimeInSeconds"] == 3600
    assert "PublicWorkforceTaskPrice" not in task
    assert "MaxConcurrentTaskCount" not in task
    assert task["UiConfig"] == {"UiTemplateS3Uri": "s3://artifacts/templates/reviews.liquid.html"}
    assert task["PreHumanTaskLambdaArn"] == SETTINGS.pre_annotation_arn
    assert task["AnnotationConsolidationConfig"] == {
        "AnnotationConsolidationLambdaArn": SETTINGS.consolidation_arn
    }
    assert task["NumberOfHumanWorkersPerDataObject"] == 3
    assert task["TaskTitle"] == "LabelFlow reviews"
    assert task["TaskDescription"] == "What is the tone?"


def test_build_request_is_valid_for_the_api() -> None:
    from labelflow.local.fake_sagemaker import validate_request

    validate_request(
        "sagemaker",
        "CreateLabelingJob",
        build_request(StartRequest.from_event(event()), PROJECT, SETTINGS),
    )


def test_public_workforce_gets_mechanical_turk_its_price_and_content_declarations() -> None:
    project = replace(
        PROJECT,
        workforce=Workforce(kind="public", price_usd="0.036", free_of_pii=True),
        max_concurrent_tasks=250,
    )
    request = build_request(StartRequest.from_event(event()), project, SETTINGS)
    task = request["HumanTaskConfig"]
    assert task["WorkteamArn"] == (
        "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"
    )
    assert task["PublicWorkforceTaskPrice"] == {
        "AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}
    }
    assert task["MaxConcurrentTaskCount"] == 250
    assert request["InputConfig"]["DataAttributes"] == {
        "ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]
    }


@pytest.mark.parametrize(
    ("price", "amount"),
    [
        ("0.012", (0, 1, 2)),
        ("1.200", (1, 20, 0)),
        ("0.84", (0, 84, 0)),
        ("2.999", (2, 99, 9)),
    ],
)
def test_task_price_encodes_dollars_cents_and_tenths(
    price: str, amount: tuple[int, int, int]
) -> None:
    encoded = task_price(price)
    assert (encoded["Dollars"], encoded["Cents"], encoded["TenthFractionsOfACent"]) == amount


@pytest.mark.parametrize("price", ["0.0125", "3.000", "0", "-0.012", "cheap"])
def test_task_price_rejects_what_the_api_cannot_express(price: str) -> None:
    with pytest.raises(ContractError, match="price"):
        task_price(price)


def test_a_private_project_without_a_team_is_refused() -> None:
    project = replace(PROJECT, workforce=Workforce())
    with pytest.raises(ContractError, match="no work team ARN"):
        build_request(StartRequest.from_event(event()), project, SETTINGS)


def test_label_categories_list_labels_and_instructions() -> None:
    body = label_categories(PROJECT)
    assert body is not None
    document = json.loads(body)
    assert document["document-version"] == "2018-11-28"
    assert document["labels"] == [{"label": "positive"}, {"label": "negative"}]
    assert document["instructions"]["shortInstruction"] == "What is the tone?"


def test_description_falls_back_to_the_title() -> None:
    project = ProjectConfig(name="notes", task_type="free-text", workforce=PROJECT.workforce)
    request = build_request(StartRequest.from_event(event(project="notes")), project, SETTINGS)
    assert request["HumanTaskConfig"]["TaskDescription"] == "LabelFlow notes"
    assert request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 1


@pytest.mark.parametrize("task_type", ["free-text", "numeric"])
def test_a_project_without_labels_gets_no_label_category_file(
    task_type: Literal["free-text", "numeric"],
) -> None:
    project = ProjectConfig(name="notes", task_type=task_type, workforce=PROJECT.workforce)

    request = build_request(StartRequest.from_event(event(project="notes")), project, SETTINGS)

    assert label_categories(project) is None
    assert "LabelCategoryConfigS3Uri" not in request


def test_description_is_one_line_of_at_most_255_characters() -> None:
    instruction = "Read the review.\n\nThen pick\tits tone.  " + "very " * 80
    project = replace(PROJECT, short_instruction=instruction)

    task = build_request(StartRequest.from_event(event()), project, SETTINGS)["HumanTaskConfig"]

    assert task["TaskDescription"].startswith("Read the review. Then pick its tone. very very")
    assert re.fullmatch(r".+", task["TaskDescription"])
    assert len(task["TaskDescription"]) <= 255
    assert not task["TaskDescription"].endswith(" ")


ENVIRONMENT = {
    "LABELFLOW_PROJECTS": json.dumps(
        {
            "reviews": {
                "task_type": "numeric",
                "workers_per_item": 2,
                "workforce": {"type": "private", "workteam_arn": TEAM},
            }
        }
    ),
    "RESULTS_BUCKET": "results",
    "ARTIFACTS_BUCKET": "artifacts",
    "LABELING_JOB_ROLE_ARN": SETTINGS.role_arn,
    "KMS_KEY_ARN": SETTINGS.kms_key_arn,
    "AWS_REGION": "us-east-1",
    "PRE_ANNOTATION_ARN": SETTINGS.pre_annotation_arn,
    "CONSOLIDATION_ARN": SETTINGS.consolidation_arn,
    "TOKENS_TABLE": "tokens",
}


def test_settings_parse_the_environment() -> None:
    settings = Settings.from_env(ENVIRONMENT)
    assert settings.job == SETTINGS
    assert settings.tokens_table == "tokens"
    assert settings.labelflow_projects["reviews"].workers_per_item == 2


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKENS_TABLE", ""),
        ("KMS_KEY_ARN", "key"),
        ("RESULTS_BUCKET", "s3://results"),
        ("LABELFLOW_PROJECTS", '{"reviews": {"task_type": "numeric", "workers_per_item": 0}}'),
    ],
)
def test_settings_name_an_invalid_variable(variable: str, value: str) -> None:
    with pytest.raises(
        SettingsError, match=variable if variable != "LABELFLOW_PROJECTS" else "workers"
    ):
        Settings.from_env({**ENVIRONMENT, variable: value})
