"""Stage and project configuration: valid values build, invalid ones name what is wrong."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App

from gt_contracts import parse_projects
from gt_contracts.project_schema import TASK_TYPES
from infra.config import (
    POWERTOOLS_LAYER_VERSION,
    POWERTOOLS_VERSION,
    STAGES,
    ConfigError,
    DataSource,
    ProjectConfig,
    StageConfig,
    WorkerAlert,
    load_config,
    projects_setting,
)
from tests.infra.conftest import REPO_ROOT, TEST_PROJECTS

VALID: dict[str, Any] = {
    "name": "pets",
    "task_type": "image-classification",
    "labels": ("cat", "dog"),
    "short_instruction": "Pick the animal.",
    "full_instruction": "<p>Pick the animal.</p>",
    "workers_per_item": 3,
}


def test_project_config_accepts_valid_fields() -> None:
    project = ProjectConfig(**VALID)
    assert project.method == "auto"
    assert project.method_params == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Pets"}, "name"),
        ({"name": "pets--dogs"}, "name"),
        ({"name": "p" * 33}, "name"),
        ({"task_type": "video-tracking"}, "task_type"),
        ({"labels": ("cat",)}, "labels"),
        ({"labels": ("cat", "cat")}, "labels"),
        ({"labels": ("cat", "")}, "labels.1"),
        ({"labels": ("cat", "x" * 257)}, "labels.1"),
        (
            {"task_type": "bounding-box", "labels": tuple(f"l{i}" for i in range(51))},
            "labels",
        ),
        ({"task_type": "bounding-box", "labels": ()}, "labels"),
        ({"method": "best-guess"}, "method"),
        ({"task_type": "bounding-box", "method": "dawid-skene"}, "method"),
        ({"workers_per_item": 0}, "workers_per_item"),
        ({"workers_per_item": 10}, "workers_per_item"),
        ({"short_instruction": ""}, "short_instruction"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_project_field_is_named_with_its_project(
    changes: dict[str, Any], field: str
) -> None:
    fields = {**VALID, **changes}
    with pytest.raises(ConfigError, match=rf"project '{re.escape(fields['name'])}'") as raised:
        ProjectConfig(**fields)
    assert f"field '{field}'" in str(raised.value)


def test_missing_project_field_is_named() -> None:
    fields = {key: value for key, value in VALID.items() if key != "workers_per_item"}
    with pytest.raises(ConfigError, match="field 'workers_per_item'"):
        ProjectConfig(**fields)


@pytest.mark.parametrize("task_type", ["free-text", "numeric"])
def test_unlabeled_task_types_need_no_labels(task_type: str) -> None:
    assert ProjectConfig(**{**VALID, "task_type": task_type, "labels": ()}).labels == ()


def test_multilabel_classification_may_choose_a_method() -> None:
    fields = {**VALID, "task_type": "text-classification-multilabel", "method": "majority-vote"}
    assert ProjectConfig(**fields).method == "majority-vote"


def test_project_config_is_frozen() -> None:
    project = ProjectConfig(**VALID)
    with pytest.raises(ValueError, match="frozen"):
        project.name = "other"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stage": "Dev"}, "stage"),
        ({"account": "12345"}, "account"),
        ({"region": "europe"}, "region"),
        ({"architecture": "sparc"}, "architecture"),
        ({"powertools_layer_version": 0}, "powertools_layer_version"),
        ({"workteam_arn": "arn:aws:iam::123456789012:role/x"}, "workteam_arn"),
        ({"projects": ()}, "no projects"),
        ({"projects": (TEST_PROJECTS[0], TEST_PROJECTS[0])}, "repeats project names"),
    ],
)
def test_invalid_stage_config_is_rejected(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"stage": "test", "projects": TEST_PROJECTS, **changes}
    with pytest.raises(ConfigError, match=message):
        StageConfig(**fields)


def test_load_config_selects_the_stage_from_context() -> None:
    assert load_config(App(context={"stage": "dev"})) is STAGES["dev"]


def test_load_config_rejects_an_unknown_stage_and_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown stage 'prod' \(known stages: dev\)"):
        load_config(App(context={"stage": "prod"}))


def test_load_config_requires_a_stage() -> None:
    with pytest.raises(ConfigError, match="no stage selected"):
        load_config(App())


def test_load_config_applies_a_workteam_override() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/labelers"
    config = load_config(App(context={"stage": "dev", "workteam_arn": arn}))
    assert config == replace(STAGES["dev"], workteam_arn=arn)


def test_load_config_validates_the_workteam_override() -> None:
    with pytest.raises(ConfigError, match="workteam_arn"):
        load_config(App(context={"stage": "dev", "workteam_arn": "team-a"}))


def test_projects_setting_is_keyed_by_name_with_the_documented_fields() -> None:
    settings = json.loads(projects_setting(TEST_PROJECTS))
    assert set(settings) == {"cats", "cells"}
    for value in settings.values():
        assert set(value) == {
            "task_type",
            "labels",
            "method",
            "method_params",
            "workers_per_item",
            "short_instruction",
            "full_instruction",
            "workforce",
            "task_time_limit_seconds",
            "task_availability_seconds",
            "max_concurrent_tasks",
            "backend",
        }


TEAM = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/team"
VENDOR = "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/acme"
PUBLIC: dict[str, Any] = {"type": "public", "price_usd": "0.036", "free_of_pii": True}


def test_a_private_project_takes_the_stage_work_team_and_ten_days_of_availability() -> None:
    settings = json.loads(projects_setting((ProjectConfig(**VALID),), TEAM))["pets"]
    assert settings["workforce"]["type"] == "private"
    assert settings["workforce"]["workteam_arn"] == TEAM
    assert settings["task_time_limit_seconds"] == 600
    assert settings["task_availability_seconds"] == 864_000


def test_a_public_project_carries_its_price_and_six_hours_of_availability() -> None:
    project = ProjectConfig(**VALID, workforce=PUBLIC)
    settings = json.loads(projects_setting((project,), TEAM))["pets"]
    assert settings["workforce"] == {
        "type": "public",
        "workteam_arn": None,
        "price_usd": "0.036",
        "free_of_pii": True,
        "free_of_adult_content": False,
    }
    assert settings["task_availability_seconds"] == 21_600


@pytest.mark.parametrize(
    ("workforce", "extra", "message"),
    [
        (
            {**PUBLIC, "price_usd": "0.05"},
            {},
            "workforce.price_usd 0.05 is not a price Ground Truth",
        ),
        ({**PUBLIC, "free_of_pii": False}, {}, "free_of_pii"),
        ({"type": "public", "free_of_pii": True}, {}, "needs price_usd"),
        ({**PUBLIC, "workteam_arn": TEAM}, {}, "remove workteam_arn"),
        ({"type": "vendor"}, {}, "vendor's workteam_arn"),
        ({"type": "private", "price_usd": "0.036"}, {}, "no per-task price"),
        ({"type": "private", "workteam_arn": "team"}, {}, "workforce.workteam_arn"),
        ({"type": "cheap"}, {}, "workforce.type"),
        (PUBLIC, {"task_availability_seconds": 86_400}, "above the 43200 s a public"),
        ({}, {"task_time_limit_seconds": 10}, "task_time_limit_seconds"),
        ({}, {"task_time_limit_seconds": 900, "task_availability_seconds": 600}, "shorter"),
        (
            {},
            {"max_concurrent_tasks": 6000, "concurrent_task_limit_raised": True},
            "max_concurrent_tasks",
        ),
        ({}, {"notify_emails": ("not-an-address",)}, "notify_emails"),
    ],
)
def test_invalid_workforce_and_limits_name_the_field(
    workforce: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"invalid project 'pets'.*{message}"):
        ProjectConfig(**VALID, workforce=workforce, **extra)


CUSTOM_PRICES = (
    "0.012, 0.024, 0.036, 0.048, 0.060, 0.072, 0.120, 0.240, "
    "0.360, 0.480, 0.600, 0.720, 0.840, 0.960, 1.080, 1.200"
)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_on_the_public_workforce_takes_the_custom_job_prices(
    task_type: str,
) -> None:
    # LabelFlow's jobs are custom workflows: the built-in task types' lists (boxes from
    # 0.036, segmentation from 0.840) do not apply, the custom list does.
    fields = {**VALID, "task_type": task_type, "labels": ("road", "sky")}
    for price in ("0.012", "0.024", "0.036", "1.200"):
        project = ProjectConfig(**fields, workforce={**PUBLIC, "price_usd": price})
        assert str(project.workforce.price_usd) == price
    with pytest.raises(ConfigError, match=re.escape(f"choose one of: {CUSTOM_PRICES}")):
        ProjectConfig(**fields, workforce={**PUBLIC, "price_usd": "0.030"})


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("source", "hold each manifest line's item"),
        ("source-ref", "hold each manifest line's item"),
        ("cells-ref", "must not end in '-ref'"),
        ("pets-metadata", "no label attribute ends in '-metadata'"),
    ],
)
def test_a_project_name_that_cannot_be_a_label_attribute_is_refused(name: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=f"invalid project '{name}'") as raised:
        ProjectConfig(**{**VALID, "name": name})
    message = str(raised.value)
    assert "field 'name'" in message
    assert "label attribute (LabelAttributeName)" in message
    assert reason in message


def test_a_segmentation_project_name_needs_no_ref_suffix() -> None:
    fields = {**VALID, "task_type": "semantic-segmentation", "labels": ("road",)}
    assert ProjectConfig(**{**fields, "name": "cells"}).name == "cells"
    assert ProjectConfig(**{**fields, "name": "refinery"}).name == "refinery"


@pytest.mark.parametrize("tasks", [None, 1, 1000])
def test_up_to_1000_concurrent_tasks_need_no_opt_in(tasks: int | None) -> None:
    assert ProjectConfig(**VALID, max_concurrent_tasks=tasks).max_concurrent_tasks == tasks


def test_more_than_1000_concurrent_tasks_need_the_raised_limit_opt_in() -> None:
    with pytest.raises(ConfigError, match="invalid project 'pets'") as raised:
        ProjectConfig(**VALID, max_concurrent_tasks=1001)
    assert "field 'max_concurrent_tasks': 1001 is above Ground Truth's default limit" in str(
        raised.value
    )
    assert "concurrent_task_limit_raised=True" in str(raised.value)

    project = ProjectConfig(**VALID, max_concurrent_tasks=5000, concurrent_task_limit_raised=True)

    assert project.max_concurrent_tasks == 5000
    assert project.lambda_settings()["max_concurrent_tasks"] == 5000
    assert "concurrent_task_limit_raised" not in project.lambda_settings()


@pytest.mark.parametrize("tasks", [None, 1000])
def test_the_raised_limit_opt_in_without_more_than_1000_tasks_is_refused(
    tasks: int | None,
) -> None:
    with pytest.raises(ConfigError, match="field 'concurrent_task_limit_raised' applies only"):
        ProjectConfig(**VALID, max_concurrent_tasks=tasks, concurrent_task_limit_raised=True)


def test_label_studio_projects_need_no_work_team() -> None:
    studio = ProjectConfig(**VALID, backend="labelstudio")
    assert studio.has_workteam(None)
    assert json.loads(projects_setting((studio,)))["pets"]["backend"] == "labelstudio"


def test_a_stage_runs_jobs_only_when_every_project_has_a_work_team() -> None:
    private = ProjectConfig(**VALID)
    public = ProjectConfig(**{**VALID, "name": "crowd"}, workforce=PUBLIC)
    assert StageConfig(stage="s", projects=(private,), workteam_arn=TEAM).runs_jobs
    assert StageConfig(stage="s", projects=(public,)).runs_jobs
    assert not StageConfig(stage="s", projects=(private,)).runs_jobs
    with pytest.raises(ConfigError, match=r"\['pets'\] have no work team"):
        StageConfig(stage="s", projects=(private, public))


def test_projects_setting_writes_answer_name_only_when_set() -> None:
    named = ProjectConfig(**{**VALID, "task_type": "free-text", "labels": ()}, answer_name="text")
    settings = json.loads(projects_setting((named,)))
    assert settings["pets"]["answer_name"] == "text"
    with pytest.raises(ConfigError, match="answer_name"):
        ProjectConfig(**VALID, answer_name="")


def test_worker_alert_is_off_by_default_and_written_only_when_set() -> None:
    plain = ProjectConfig(**VALID)
    watched = ProjectConfig(**{**VALID, "name": "watched"}, worker_alert={"min_accuracy": 0.6})

    settings = json.loads(projects_setting((plain, watched)))

    assert plain.worker_alert is None
    assert "worker_alert" not in settings["pets"]
    assert settings["watched"]["worker_alert"] == {
        "min_accuracy": 0.6,
        "min_answers": 20,
        "removal": "none",
    }


def test_a_label_studio_project_may_remove_flagged_workers() -> None:
    alert = WorkerAlert(min_accuracy=0.7, min_answers=40, removal="organization")
    project = ProjectConfig(**VALID, backend="labelstudio", worker_alert=alert)

    (parsed,) = parse_projects(projects_setting((project,))).values()

    assert parsed.worker_alert is not None
    assert (parsed.worker_alert.min_answers, parsed.worker_alert.removal) == (40, "organization")


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        ({"min_accuracy": 0}, "worker_alert.min_accuracy"),
        ({"min_accuracy": 1}, "worker_alert.min_accuracy"),
        ({"min_accuracy": 0.6, "min_answers": 0}, "worker_alert.min_answers"),
        ({"min_accuracy": 0.6, "removal": "ban"}, "worker_alert.removal"),
        ({"min_accuracy": 0.6, "remove": True}, "worker_alert.remove"),
        ({"min_answers": 10}, "worker_alert.min_accuracy"),
    ],
)
def test_an_invalid_worker_alert_names_its_field(alert: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"project 'pets': field '{re.escape(field)}'"):
        ProjectConfig(**VALID, worker_alert=alert)


def test_removing_flagged_workers_is_refused_on_ground_truth() -> None:
    with pytest.raises(
        ConfigError, match=r"field 'worker_alert.removal': 'project' applies to Label Studio"
    ):
        ProjectConfig(**VALID, worker_alert={"min_accuracy": 0.6, "removal": "project"})


def test_cdk_json_selects_dev_and_holds_no_account_ids() -> None:
    text = (REPO_ROOT / "cdk.json").read_text()
    assert json.loads(text)["context"]["stage"] == "dev"
    assert re.search(r"\b\d{12}\b", text) is None


def test_powertools_layer_arn_for_the_dev_stage() -> None:
    # Assumption, stated here because no account is at hand to resolve the public SSM parameter
    # /aws/service/powertools/python/arm64/python3.12/3.37.0: Powertools publishes one layer
    # version per PyPI release (3.1.0 -> 2, 3.2.0 -> 3, 3.4.0 -> 5, 3.4.1 -> 6, 3.23.0 -> 27),
    # and 3.37.0 is the 13th release after 3.23.0, hence version 40.
    assert (POWERTOOLS_VERSION, POWERTOOLS_LAYER_VERSION) == ("3.37.0", 40)
    assert STAGES["dev"].powertools_layer_arn("eu-west-1") == (
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:40"
    )


def test_powertools_layer_release_matches_the_lambda_dependency_pin() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    lambda_group = pyproject["project"]["optional-dependencies"]["lambda"]
    (pin,) = [dep for dep in lambda_group if dep.startswith("aws-lambda-powertools")]
    assert pin.endswith(f"=={POWERTOOLS_VERSION}")


def test_numeric_layer_pins_match_the_project_dependencies() -> None:
    from infra.constructs.numeric_layer import REQUIREMENTS

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = {
        line.strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert pins == set(pyproject["project"]["dependencies"])


KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("bucket", ["data-lake", "arn:aws:s3:::data-lake"])
def test_a_data_source_names_its_bucket_by_name_or_arn(bucket: str) -> None:
    source = DataSource(bucket=bucket, prefixes=("images/",), kms_key_arns=(KEY_ARN,))
    assert source.bucket_name == "data-lake"
    assert (source.prefixes, source.kms_key_arns) == (("images/",), (KEY_ARN,))


def test_a_stage_has_no_data_sources_unless_it_declares_them() -> None:
    assert StageConfig(stage="s", projects=TEST_PROJECTS).data_sources == ()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"bucket": "Data_Lake"}, "bucket", "neither a bucket name"),
        ({"bucket": "s3://data-lake"}, "bucket", "neither a bucket name"),
        ({"bucket": "arn:aws:s3:::data-lake/images"}, "bucket", "nor a bucket ARN"),
        ({"bucket": "10.0.0.1"}, "bucket", "neither a bucket name"),
        ({"bucket": "data-lake", "prefixes": ("",)}, "prefixes", "1 to 1024 characters"),
        ({"bucket": "data-lake", "prefixes": ("/images",)}, "prefixes", "do not start with"),
        ({"bucket": "data-lake", "prefixes": ("img*",)}, "prefixes", "IAM wildcards"),
        ({"bucket": "data-lake", "prefixes": ("a/", "a/")}, "prefixes", "repeated"),
        (
            {"bucket": "data-lake", "kms_key_arns": (KEY_ARN.replace("key/", "alias/"),)},
            "kms_key_arns",
            "is an alias",
        ),
        ({"bucket": "data-lake", "kms_key_arns": ("1234abcd",)}, "kms_key_arns", "not a KMS"),
        ({"bucket": "data-lake", "region": "eu-west-1"}, "region", "Extra inputs"),
    ],
)
def test_an_invalid_data_source_names_its_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="invalid data source") as raised:
        DataSource(**fields)
    assert f"field '{field}'" in str(raised.value)
    assert message in str(raised.value)


def test_a_stage_gives_each_data_bucket_one_source() -> None:
    sources = (
        DataSource(bucket="data-lake", prefixes=("a/",)),
        DataSource(bucket="arn:aws:s3:::data-lake", prefixes=("b/",)),
    )
    with pytest.raises(ConfigError, match=r"stage 's': field 'data_sources' lists buckets"):
        StageConfig(stage="s", projects=TEST_PROJECTS, data_sources=sources)


def test_a_stage_refuses_a_data_source_that_is_not_one() -> None:
    with pytest.raises(ConfigError, match=r"field 'data_sources\[0\]' must be a DataSource"):
        StageConfig(
            stage="s",
            projects=TEST_PROJECTS,
            data_sources=({"bucket": "data-lake"},),  # type: ignore[arg-type]
        )
