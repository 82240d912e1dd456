"""A stage's data sources: exactly the roles that read items may read them, and nothing more."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra import assembly
from infra.config import DataSource, LabelStudioConfig, ProjectConfig, StageConfig
from labelflow.local.deploy import TemplateResolver
from tests.infra.conftest import TEST_PROJECTS, WORKTEAM_ARN, new_app
from tests.infra.template_helpers import (
    allows,
    bucket_by_log_prefix,
    labelflow_functions,
    role_by_service,
    role_statements,
)
from validate_manifest.settings import Settings as ValidateSettings
from validate_manifest.sources import DataSource as ValidateDataSource

STACK = "labelflow-sources-Labeling"
LAKE_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:labelflow/ls-token-AbCdEf"
SOURCES = (
    DataSource(bucket="data-lake", prefixes=("images/", "scans/"), kms_key_arns=(LAKE_KEY,)),
    DataSource(bucket="arn:aws:s3:::photo-archive"),
)
DIGITS = ProjectConfig(
    name="digits",
    task_type="image-classification",
    labels=tuple("0123456789"),
    short_instruction="Which digit is this?",
    full_instruction="Pick the digit that was written.",
    workers_per_item=3,
    backend="labelstudio",
)
VALIDATE = "validate_manifest.handler.lambda_handler"
STUDIO_START = "labelstudio_start.handler.lambda_handler"
READERS = ("labeling-job role", VALIDATE, STUDIO_START)
OTHERS = (
    "post_annotation.handler.lambda_handler",
    "start_labeling_job.handler.lambda_handler",
    "publish_job.handler.lambda_handler",
    "labelstudio_webhook.handler.lambda_handler",
    "labelstudio_sweep.handler.lambda_handler",
)


@pytest.fixture(scope="module")
def app() -> App:
    app = new_app()
    assembly.build_stacks(
        app,
        StageConfig(
            stage="sources",
            architecture="x86_64",
            workteam_arn=WORKTEAM_ARN,
            projects=(*TEST_PROJECTS, DIGITS),
            label_studio=LabelStudioConfig(
                mode="existing", url="https://labels.example.com", token_secret_arn=TOKEN_ARN
            ),
            data_sources=SOURCES,
        ),
    )
    return app


@pytest.fixture(scope="module")
def template(app: App) -> dict[str, Any]:
    (stack,) = [child for child in app.node.children if hasattr(child, "template_options")]
    return dict(Template.from_stack(stack).to_json())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def resolver(template: dict[str, Any]) -> TemplateResolver:
    return TemplateResolver(template, stack_name=STACK)


def _statements(
    template: dict[str, Any], resolver: TemplateResolver, who: str
) -> list[dict[str, Any]]:
    if who == "labeling-job role":
        (role_id,) = role_by_service(template, "sagemaker.amazonaws.com")
    else:
        role_id = labelflow_functions(template)[who]["Role"]["Fn::GetAtt"][0]
    return [resolver.resolve(statement) for statement in role_statements(template, role_id)]


@pytest.mark.parametrize("who", READERS)
def test_every_role_that_reads_items_reads_the_declared_sources_only(
    template: dict[str, Any], resolver: TemplateResolver, who: str
) -> None:
    statements = _statements(template, resolver, who)
    for key in ("images/cat.jpg", "scans/2024/05/a.png"):
        assert allows(statements, "s3:GetObject", f"arn:aws:s3:::data-lake/{key}"), key
    assert allows(statements, "s3:GetObject", "arn:aws:s3:::photo-archive/any/key.jpg")
    assert allows(statements, "kms:Decrypt", LAKE_KEY)
    # Outside the declared prefixes, and anything but reading, stays closed.
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::data-lake/private/x.jpg")
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::other-bucket/images/x.jpg")
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetObjectAcl"):
        assert not allows(statements, action, "arn:aws:s3:::data-lake/images/cat.jpg"), action
    assert not allows(statements, "kms:Encrypt", LAKE_KEY)


@pytest.mark.parametrize("who", READERS)
def test_the_roles_that_read_items_still_read_the_intake_bucket(
    template: dict[str, Any], resolver: TemplateResolver, who: str
) -> None:
    statements = _statements(template, resolver, who)
    intake = resolver.name(bucket_by_log_prefix(template, "intake/"))
    assert allows(statements, "s3:GetObject", f"arn:aws:s3:::{intake}/cats/images/1.jpg")


@pytest.mark.parametrize("who", OTHERS)
def test_no_other_function_reads_the_data_sources(
    template: dict[str, Any], resolver: TemplateResolver, who: str
) -> None:
    statements = _statements(template, resolver, who)
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::data-lake/images/cat.jpg")
    assert not allows(statements, "s3:GetObject", "arn:aws:s3:::photo-archive/a.jpg")
    assert not allows(statements, "kms:Decrypt", LAKE_KEY)


def test_validate_reads_the_cors_rules_of_the_data_buckets_only(
    template: dict[str, Any], resolver: TemplateResolver
) -> None:
    statements = _statements(template, resolver, VALIDATE)
    for bucket in ("data-lake", "photo-archive"):
        assert allows(statements, "s3:GetBucketCors", f"arn:aws:s3:::{bucket}"), bucket
    assert not allows(statements, "s3:GetBucketCors", "arn:aws:s3:::other-bucket")
    labeling = _statements(template, resolver, "labeling-job role")
    assert not allows(labeling, "s3:GetBucketCors", "arn:aws:s3:::data-lake")


def test_validate_is_told_the_declared_sources(template: dict[str, Any]) -> None:
    variables = labelflow_functions(template)[VALIDATE]["Environment"]["Variables"]

    settings = ValidateSettings.from_env({**variables, "RESULTS_BUCKET": "results"})

    assert json.loads(variables["DATA_SOURCES"]) == [
        {"bucket": "data-lake", "prefixes": ["images/", "scans/"]},
        {"bucket": "photo-archive", "prefixes": []},
    ]
    assert settings.data_sources == (
        ValidateDataSource("data-lake", ("images/", "scans/")),
        ValidateDataSource("photo-archive", ()),
    )


def test_a_stage_with_data_sources_has_no_unacknowledged_findings(app: App) -> None:
    report = AwsSolutionsChecks().validate_scope(app)
    findings = [
        (violation.rule_name, resource.construct_path)
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert findings == []
