"""JobMonitoring in a small stack of its own: sweep, schedule, dead-letter queue, alarms, nag."""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import Any

import pytest
from aws_cdk import App, Aws, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from constructs import IConstruct

from infra.constructs.job_monitoring import RECONCILE_HANDLER, SWEEP_NAME, JobMonitoring
from infra.constructs.runtime_function import FunctionPlatform
from tests.infra.conftest import REPO_ROOT, new_app
from tests.infra.template_helpers import (
    actions_on,
    flatten,
    labelflow_functions,
    resources,
    role_statements,
)
from tests.infra.test_nag import _findings, _Recorder

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:labelflow-jobs"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/labelflow-tokens"
JOB_EVENTS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelflow-job-events"
START_JOB_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelflow-start-job"
PROJECTS = ("cats", "cells")


def build(stack: Stack) -> JobMonitoring:
    """JobMonitoring with the arguments LabelingStack gives it (see the module docstring)."""
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    platform = FunctionPlatform(
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.X86_64,
        layers=(),
        log_retention=logs.RetentionDays.ONE_MONTH,
        log_key=key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return JobMonitoring(
        stack,
        "Monitoring",
        platform=platform,
        key=key,
        topic=sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True),
        state_machine=sfn.StateMachine.from_state_machine_arn(
            stack, "StateMachine", STATE_MACHINE_ARN
        ),
        tokens=dynamodb.Table.from_table_attributes(
            stack, "Tokens", table_arn=TABLE_ARN, encryption_key=key
        ),
        functions={
            "JobEvents": lambda_.Function.from_function_arn(stack, "JobEvents", JOB_EVENTS_ARN),
            "StartJob": lambda_.Function.from_function_arn(stack, "StartJob", START_JOB_ARN),
        },
        labeling_job_arns=[
            f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:labeling-job/{name}-*"
            for name in PROJECTS
        ],
    )


@pytest.fixture(scope="module")
def app_and_monitoring() -> tuple[App, JobMonitoring]:
    app = new_app()
    return app, build(Stack(app, "MonitoringTest"))


@pytest.fixture(scope="module")
def monitoring(app_and_monitoring: tuple[App, JobMonitoring]) -> JobMonitoring:
    return app_and_monitoring[1]


@pytest.fixture(scope="module")
def template(monitoring: JobMonitoring) -> Template:
    return Template.from_stack(Stack.of(monitoring))


@pytest.fixture(scope="module")
def template_json(template: Template) -> dict[str, Any]:
    return dict(template.to_json())


def _logical_id(template_json: dict[str, Any], type_: str) -> str:
    (logical_id,) = resources(template_json, type_)
    return logical_id


def _alarms(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Alarms by metric name (plus the function for Errors alarms)."""
    found = {}
    for resource in resources(template_json, "AWS::CloudWatch::Alarm").values():
        properties = resource["Properties"]
        dimensions = properties.get("Dimensions", [])
        function = [flatten(d["Value"]) for d in dimensions if d["Name"] == "FunctionName"]
        found[" ".join([properties["MetricName"], *function])] = properties
    return found


def test_the_sweep_runs_the_reconcile_handler_with_the_tokens_table(
    template_json: dict[str, Any],
) -> None:
    sweep = labelflow_functions(template_json)[RECONCILE_HANDLER]

    assert sweep["Environment"]["Variables"] == {
        "TOKENS_TABLE": "labelflow-tokens",
        "POWERTOOLS_SERVICE_NAME": "reconcile_jobs",
    }
    assert sweep["Timeout"] == 300
    assert sweep["TracingConfig"] == {"Mode": "Active"}


def test_the_sweep_is_not_retried_by_lambda(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 1800},
    )


def test_the_schedule_runs_the_sweep_every_30_minutes_with_the_dead_letter_queue(
    template_json: dict[str, Any],
) -> None:
    (rule,) = resources(template_json, "AWS::Events::Rule").values()
    sweep = labelflow_functions(template_json)[RECONCILE_HANDLER]
    queue = _logical_id(template_json, "AWS::SQS::Queue")

    assert rule["Properties"]["ScheduleExpression"] == "rate(30 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [sweep["LogicalId"], "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_the_sweep_role_is_scoped_to_what_it_does(template_json: dict[str, Any]) -> None:
    sweep = labelflow_functions(template_json)[RECONCILE_HANDLER]
    key = _logical_id(template_json, "AWS::KMS::Key")

    allowed = actions_on(role_statements(template_json, sweep["Role"]["Fn::GetAtt"][0]))

    assert allowed == {
        "dynamodb:Scan": {TABLE_ARN},
        "dynamodb:DeleteItem": {TABLE_ARN},
        "kms:Decrypt": {f"<{key}.Arn>"},
        "sagemaker:DescribeLabelingJob": {
            f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:labeling-job/{p}-*"
            for p in PROJECTS
        },
        "states:SendTaskSuccess": {STATE_MACHINE_ARN},
        "states:SendTaskFailure": {STATE_MACHINE_ARN},
        "states:SendTaskHeartbeat": {STATE_MACHINE_ARN},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
        "logs:CreateLogStream": allowed["logs:CreateLogStream"],
        "logs:PutLogEvents": allowed["logs:PutLogEvents"],
    }
    assert all("log-group" in r or "LogGroup" in r for r in allowed["logs:PutLogEvents"])


def test_the_dead_letter_queue_is_encrypted_with_the_stage_key_and_kept_14_days(
    template: Template, template_json: dict[str, Any]
) -> None:
    key = _logical_id(template_json, "AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
            "MessageRetentionPeriod": 14 * 24 * 3600,
        },
    )


def test_the_dead_letter_queue_accepts_tls_only_and_its_rule_only(
    template_json: dict[str, Any],
) -> None:
    (policy,) = resources(template_json, "AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (events,) = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in events["Condition"]["ArnEquals"]


def test_the_key_lets_eventbridge_and_this_accounts_alarms_use_it(
    template_json: dict[str, Any],
) -> None:
    (key,) = resources(template_json, "AWS::KMS::Key").values()
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}

    events = statements["AllowEventBridgeDeadLetters"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    alarms = statements["AllowCloudWatchAlarmsOfThisAccount"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert flatten(alarms["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":alarm:*")


def test_there_is_one_alarm_per_signal(template_json: dict[str, Any]) -> None:
    sweep = labelflow_functions(template_json)[RECONCILE_HANDLER]

    assert set(_alarms(template_json)) == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "Errors labelflow-job-events",
        "Errors labelflow-start-job",
        f"Errors <{sweep['LogicalId']}>",
        "ApproximateNumberOfMessagesVisible",
    }


def test_every_alarm_fires_on_one_occurrence_and_notifies_the_topic(
    template_json: dict[str, Any],
) -> None:
    topic = _logical_id(template_json, "AWS::SNS::Topic")

    for name, alarm in _alarms(template_json).items():
        assert alarm["Threshold"] == 1, name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert alarm["EvaluationPeriods"] == 1, name
        assert alarm["Period"] == 300, name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmActions"] == [{"Ref": topic}], name
        assert len(alarm["AlarmDescription"]) > 100, name


@pytest.mark.parametrize(
    ("metric", "namespace", "statistic"),
    [
        ("ExecutionsFailed", "AWS/States", "Sum"),
        ("ExecutionsTimedOut", "AWS/States", "Sum"),
        ("ExecutionsAborted", "AWS/States", "Sum"),
        ("ApproximateNumberOfMessagesVisible", "AWS/SQS", "Maximum"),
    ],
)
def test_workflow_and_queue_alarms_watch_their_metric(
    template_json: dict[str, Any], metric: str, namespace: str, statistic: str
) -> None:
    alarm = _alarms(template_json)[metric]

    assert (alarm["Namespace"], alarm["Statistic"]) == (namespace, statistic)
    if namespace == "AWS/States":
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": STATE_MACHINE_ARN}]


def test_function_alarms_watch_lambda_errors(template_json: dict[str, Any]) -> None:
    alarm = _alarms(template_json)["Errors labelflow-job-events"]

    assert (alarm["Namespace"], alarm["Statistic"]) == ("AWS/Lambda", "Sum")
    assert "JobEvents function" in alarm["AlarmDescription"]


def test_the_alarms_are_exposed_by_id(monitoring: JobMonitoring) -> None:
    assert f"{SWEEP_NAME}ErrorsAlarm" in monitoring.alarms
    assert len(monitoring.alarms) == 7


def test_the_monitoring_stack_has_no_unacknowledged_findings(
    app_and_monitoring: tuple[App, JobMonitoring],
) -> None:
    app, _ = app_and_monitoring
    assert _findings(app) == []


def test_every_acknowledgement_matches_a_finding_it_covers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the test stack built with acknowledgements recorded instead of applied
    acknowledged: list[tuple[str, str]] = []

    def recording_of(scope: IConstruct) -> Any:
        return _Recorder(scope, acknowledged)

    monkeypatch.setattr(Validations, "of", staticmethod(recording_of))
    app = new_app()
    build(Stack(app, "MonitoringTest"))
    monkeypatch.undo()

    # When cdk-nag sees every finding
    findings = _findings(app)

    # Then the construct's acknowledgements are the DLQ's SQS3 and the sweep's job patterns,
    # each finding is acknowledged and each acknowledgement silences a finding
    def covers(ack: tuple[str, str], finding: tuple[str, str]) -> bool:
        return ack[0] == finding[0] and (finding[1] + "/").startswith(ack[1] + "/")

    ours = sorted(rule for rule, path in acknowledged if "/Monitoring/" in path + "/")
    assert "AwsSolutions-SQS3" in ours
    assert [rule for rule in ours if "labeling-job/" in rule] == [
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
        f"<AWS::AccountId>:labeling-job/{name}-*]"
        for name in PROJECTS
    ]
    assert [f for f in findings if not any(covers(a, f) for a in acknowledged)] == []
    assert [a for a in acknowledged if not any(covers(a, f) for f in findings)] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"functions": {"job-events": None}}, "PascalCase"),
        ({"functions": {SWEEP_NAME: None}}, "the sweep's own"),
        ({"labeling_job_arns": []}, "labeling_job_arns"),
        ({"labeling_job_arns": ["arn:aws:sagemaker:*:*:workteam/x"]}, "not a labeling-job"),
    ],
)
def test_arguments_are_checked(changes: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Bad")
    arguments: dict[str, Any] = {
        "platform": None,
        "key": None,
        "topic": None,
        "state_machine": None,
        "tokens": None,
        "functions": {},
        "labeling_job_arns": ["arn:aws:sagemaker:us-east-1:1:labeling-job/x-*"],
        **changes,
    }

    with pytest.raises(ValueError, match=message):
        JobMonitoring(stack, "Monitoring", **arguments)


def test_the_handler_exists_under_lambdas() -> None:
    package = RECONCILE_HANDLER.split(".", 1)[0]
    assert (REPO_ROOT / "lambdas" / package / "handler.py").is_file()


def test_sweep_variables_equal_its_settings_and_the_documented_row(
    template_json: dict[str, Any],
) -> None:
    settings = importlib.import_module("reconcile_jobs.settings")
    fields = {field.metadata["env"] for field in dataclasses.fields(settings.Settings)}
    sweep = labelflow_functions(template_json)[RECONCILE_HANDLER]
    variables = set(sweep["Environment"]["Variables"]) - {"POWERTOOLS_SERVICE_NAME"}
    (row,) = [
        line
        for line in (REPO_ROOT / "docs" / "contracts.md").read_text().splitlines()
        if line.startswith("| `reconcile_jobs`")
    ]

    assert variables == fields == set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
