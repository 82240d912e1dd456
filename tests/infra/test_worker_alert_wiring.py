"""Worker alerts in a stage: which functions may flag workers, with exactly what access.

A stage whose projects set `worker_alert` lets the functions that consolidate (the Ground
Truth consolidation function, the Label Studio webhook and sweep) write and delete markers
under `alerts/` of artifacts, put events on the default bus and publish to the stage's topic,
whose ARN they are given. A stage without alerts grants none of it (see also
test_labeling_stack and test_contracts, which synthesize such a stage).
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra import assembly
from infra.config import LabelStudioConfig, ProjectConfig, StageConfig
from labelflow.local.deploy import TemplateResolver
from labelflow.local.iam import Call
from labelflow.local.iam_policies import TemplatePolicies
from post_annotation.settings import Settings
from tests.infra.conftest import WORKTEAM_ARN, new_app
from tests.infra.template_helpers import (
    actions_on,
    bucket_by_log_prefix,
    labelflow_functions,
    resources,
    role_statements,
)
from tests.infra.test_nag import _findings, _Recorder

TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:labelflow/ls-token-AbCdEf"
POST = "post_annotation.handler.lambda_handler"
STUDIO = {
    "start": "labelstudio_start.handler.lambda_handler",
    "webhook": "labelstudio_webhook.handler.lambda_handler",
    "sweep": "labelstudio_sweep.handler.lambda_handler",
}
COMMON: dict[str, Any] = {
    "task_type": "text-classification",
    "labels": ("positive", "negative"),
    "short_instruction": "Choose the tone.",
    "full_instruction": "Pick the tone the writer expresses.",
    "workers_per_item": 3,
}
WATCHED = ProjectConfig(name="watched", worker_alert={"min_accuracy": 0.6}, **COMMON)
STUDIO_WATCHED = ProjectConfig(
    name="studio-watched",
    backend="labelstudio",
    worker_alert={"min_accuracy": 0.6, "removal": "organization"},
    **COMMON,
)
DEFAULT_BUS = "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default"


def _build(stage: StageConfig) -> tuple[App, dict[str, Any]]:
    app = new_app()
    stack = assembly.build_stacks(app, stage)
    return app, dict(Template.from_stack(stack).to_json())


def _watched_stage() -> StageConfig:
    """A stage that runs jobs, with a Ground Truth and a Label Studio project watched."""
    return StageConfig(
        stage="alerts",
        architecture="x86_64",
        workteam_arn=WORKTEAM_ARN,
        projects=(WATCHED, STUDIO_WATCHED),
        label_studio=LabelStudioConfig(
            mode="existing", url="https://labels.example.com", token_secret_arn=TOKEN_ARN
        ),
    )


@pytest.fixture(scope="module")
def stage() -> tuple[App, dict[str, Any]]:
    return _build(_watched_stage())


@pytest.fixture(scope="module")
def watched(stage: tuple[App, dict[str, Any]]) -> dict[str, Any]:
    """The watched stage's template."""
    return stage[1]


def _allowed(template: dict[str, Any], handler: str) -> dict[str, set[str]]:
    role = labelflow_functions(template)[handler]["Role"]["Fn::GetAtt"][0]
    return actions_on(role_statements(template, role))


def _topic(template: dict[str, Any]) -> str:
    (topic,) = resources(template, "AWS::SNS::Topic")
    return topic


@pytest.mark.parametrize("handler", [POST, STUDIO["webhook"], STUDIO["sweep"]])
def test_the_consolidating_functions_flag_workers_with_exactly_this_access(
    watched: dict[str, Any], handler: str
) -> None:
    allowed = _allowed(watched, handler)
    alerts = f"<{bucket_by_log_prefix(watched, 'artifacts/')}.Arn>/alerts/*"

    assert alerts in allowed["s3:PutObject"]
    assert allowed["s3:DeleteObject"] == {alerts}
    assert not {a for a in allowed if a.startswith("s3:Delete")} - {"s3:DeleteObject"}
    assert allowed["events:PutEvents"] == {DEFAULT_BUS}
    assert allowed["sns:Publish"] == {f"<{_topic(watched)}>"}
    variables = labelflow_functions(watched)[handler]["Environment"]["Variables"]
    assert variables["TOPIC_ARN"] == {"Ref": _topic(watched)}


@pytest.mark.parametrize("handler", [POST, STUDIO["webhook"], STUDIO["sweep"]])
def test_the_emulator_s_iam_allows_every_call_flagging_a_worker_makes(
    watched: dict[str, Any], handler: str
) -> None:
    # The calls of gt_consolidation.alerts, decided as the local emulator decides them
    resolver = TemplateResolver(watched, stack_name="labelflow-alerts-Labeling")
    policies = TemplatePolicies.from_resolver(resolver)
    role = str(
        resolver.get_att(labelflow_functions(watched)[handler]["Role"]["Fn::GetAtt"][0], "Arn")
    )
    artifacts = resolver.name(bucket_by_log_prefix(watched, "artifacts/"))
    marker = f"arn:aws:s3:::{artifacts}/alerts/watched/watched-j-0/labelstudio.7.json"
    (key,) = resources(watched, "AWS::KMS::Key")
    calls = [
        ("s3:ListBucket", f"arn:aws:s3:::{artifacts}"),
        ("s3:PutObject", marker),
        ("s3:DeleteObject", marker),
        ("kms:GenerateDataKey", str(resolver.get_att(key, "Arn"))),
        (
            "events:PutEvents",
            f"arn:aws:events:{resolver.region}:{resolver.account}:event-bus/default",
        ),
        ("sns:Publish", str(resolver.ref(_topic(watched)))),
    ]

    problems = [
        problem
        for action, resource in calls
        for problem in policies.problems(Call(role, action, resource, {}, True, "request"))
    ]

    assert problems == []


def test_the_label_studio_start_function_flags_nobody(watched: dict[str, Any]) -> None:
    allowed = _allowed(watched, STUDIO["start"])
    variables = labelflow_functions(watched)[STUDIO["start"]]["Environment"]["Variables"]

    assert not {"s3:DeleteObject", "events:PutEvents", "sns:Publish"} & set(allowed)
    assert "TOPIC_ARN" not in variables


def test_the_consolidation_function_reads_its_topic_from_the_environment(
    watched: dict[str, Any],
) -> None:
    variables = labelflow_functions(watched)[POST]["Environment"]["Variables"]
    environment = {
        key: value if isinstance(value, str) else "arn:aws:sns:us-east-1:123456789012:notes"
        for key, value in variables.items()
    }

    settings = Settings.from_env(environment)

    assert settings.topic_arn == "arn:aws:sns:us-east-1:123456789012:notes"
    assert settings.labelflow_projects["watched"].worker_alert is not None


def test_a_stage_with_worker_alerts_has_no_unacknowledged_findings(
    stage: tuple[App, dict[str, Any]],
) -> None:
    report = AwsSolutionsChecks().validate_scope(stage[0])
    findings = [
        (violation.rule_name, resource.construct_path)
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert findings == []


def test_every_acknowledgement_of_the_alert_grants_matches_a_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acknowledged: list[tuple[str, str]] = []
    monkeypatch.setattr(
        Validations, "of", staticmethod(lambda scope: _Recorder(scope, acknowledged))
    )
    app = new_app()
    assembly.build_stacks(app, _watched_stage())
    monkeypatch.undo()

    findings = _findings(app)

    def covers(ack: tuple[str, str], finding: tuple[str, str]) -> bool:
        return ack[0] == finding[0] and (finding[1] + "/").startswith(ack[1] + "/")

    alert_acks = [a for a in acknowledged if "/alerts/*]" in a[0]]
    assert len(alert_acks) == 3  # the consolidation function, the webhook and the sweep
    assert all(any(covers(a, f) for f in findings) for a in alert_acks)


def test_a_stage_without_alerts_grants_no_alert_access(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    role = functions[POST]["Role"]["Fn::GetAtt"][0]
    allowed = actions_on(role_statements(template_json, role))

    assert not {"s3:DeleteObject", "events:PutEvents", "sns:Publish"} & set(allowed)
    assert "TOPIC_ARN" not in functions[POST]["Environment"]["Variables"]


def test_a_stage_without_the_job_workflow_flags_workers_on_the_bus_only() -> None:
    # Without a work team the stage deploys the Ground Truth functions only: no topic.
    _, template = _build(StageConfig(stage="bare", architecture="x86_64", projects=(WATCHED,)))

    allowed = _allowed(template, POST)

    assert allowed["events:PutEvents"] == {DEFAULT_BUS}
    assert "sns:Publish" not in allowed
    assert resources(template, "AWS::SNS::Topic") == {}
    assert "TOPIC_ARN" not in labelflow_functions(template)[POST]["Environment"]["Variables"]


@pytest.fixture(scope="module")
def functions(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return labelflow_functions(template_json)
