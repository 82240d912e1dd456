"""A stage with a Label Studio project: its functions, their settings, the workflow's choice."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra import assembly
from infra.config import LabelStudioConfig, ProjectConfig, StageConfig
from labelflow.local.deploy import TemplateResolver, state_machine_definitions
from tests.infra.conftest import TEST_PROJECTS, WORKTEAM_ARN, new_app
from tests.infra.template_helpers import labelflow_functions, resources

TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:labelflow/ls-token-AbCdEf"
STUDIO = {
    "start": "labelstudio_start.handler.lambda_handler",
    "webhook": "labelstudio_webhook.handler.lambda_handler",
    "sweep": "labelstudio_sweep.handler.lambda_handler",
}
DIGITS = ProjectConfig(
    name="digits",
    task_type="image-classification",
    labels=tuple("0123456789"),
    short_instruction="Which digit is this?",
    full_instruction="Pick the digit that was written.",
    workers_per_item=3,
    backend="labelstudio",
)


@pytest.fixture(scope="module")
def app() -> App:
    app = new_app()
    assembly.build_stacks(
        app,
        StageConfig(
            stage="studio",
            architecture="x86_64",
            workteam_arn=WORKTEAM_ARN,
            projects=(*TEST_PROJECTS, DIGITS),
            label_studio=LabelStudioConfig(
                mode="existing", url="https://labels.example.com", token_secret_arn=TOKEN_ARN
            ),
        ),
    )
    return app


@pytest.fixture(scope="module")
def template(app: App) -> dict[str, Any]:
    (stack,) = [child for child in app.node.children if hasattr(child, "template_options")]
    return dict(Template.from_stack(stack).to_json())  # type: ignore[arg-type]


def test_the_three_functions_read_exactly_their_settings(template: dict[str, Any]) -> None:
    functions = labelflow_functions(template)
    assert set(STUDIO.values()) <= set(functions)
    for role, handler in STUDIO.items():
        settings = importlib.import_module(f"labelstudio_{role}.settings").Settings
        fields = {f.metadata["env"] for f in dataclasses.fields(settings)}
        # TOPIC_ARN only when a project has a worker_alert (test_worker_alert_wiring)
        optional = {"IMAGE_URL_SECONDS", "TOPIC_ARN"} | (
            {"WEBHOOK_URL"} if role != "start" else set()
        )
        variables = set(functions[handler]["Environment"]["Variables"]) - {
            "POWERTOOLS_SERVICE_NAME"
        }
        assert variables == fields - optional, role
        assert functions[handler]["Environment"]["Variables"]["LABEL_STUDIO_URL"] == (
            "https://labels.example.com"
        )


def test_the_webhook_has_a_function_url_and_the_sweep_a_schedule(
    template: dict[str, Any],
) -> None:
    (url,) = resources(template, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"  # the shared secret authenticates
    schedules = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == "rate(15 minutes)"
    ]
    assert len(schedules) == 1
    assert {"LabelStudioUrl", "LabelStudioWebhookUrl"} <= set(template["Outputs"])


def test_each_chunk_starts_on_its_projects_backend(template: dict[str, Any]) -> None:
    resolver = TemplateResolver(template, stack_name="labelflow-studio-Labeling")
    (asl,) = state_machine_definitions(resolver).values()
    chunks = next(state for state in asl["States"].values() if state["Type"] == "Map")
    assert chunks["ItemSelector"]["backend.$"] == "$.backend"
    processor = chunks["ItemProcessor"]
    choice = processor["States"][processor["StartAt"]]
    assert choice["Type"] == "Choice"
    (rule,) = choice["Choices"]
    assert rule == {
        "Variable": "$.backend",
        "StringEquals": "labelstudio",
        "Next": "Start Label Studio job",
    }
    studio = processor["States"]["Start Label Studio job"]
    assert studio["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert any(r["ErrorEquals"] == ["LabelStudioUnavailable"] for r in studio["Retry"])
    assert choice["Default"] == "Start labeling job"


def test_a_stage_with_label_studio_has_no_unacknowledged_findings(app: App) -> None:
    report = AwsSolutionsChecks().validate_scope(app)
    findings = [
        (violation.rule_name, resource.construct_path)
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert findings == []
