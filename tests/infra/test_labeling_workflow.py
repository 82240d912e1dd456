"""The job workflow: state machine, functions, token table, event rule and their grants."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import StageConfig
from infra.constructs.labeling_workflow import JOB_EVENT_DETAIL_TYPE
from infra.stacks.labeling_stack import LabelingStack
from job_contracts.steps import FailureRequest, PublishRequest, ValidationSummary
from labelflow.local.deploy import TemplateResolver, state_machine_definitions
from tests.infra.conftest import new_app
from tests.infra.template_helpers import (
    actions_on,
    flatten,
    labelflow_functions,
    resources,
    role_statements,
)

VALIDATE = "validate_manifest.handler.lambda_handler"
START = "start_labeling_job.handler.lambda_handler"
EVENTS = "job_events.handler.lambda_handler"
INTAKE = "start_job.handler.lambda_handler"
PUBLISH = "publish_job.handler.lambda_handler"


@pytest.fixture(scope="module")
def functions(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return labelflow_functions(template_json)


@pytest.fixture(scope="module")
def definition(template_json: dict[str, Any]) -> dict[str, Any]:
    resolver = TemplateResolver(template_json, stack_name="labelflow-test-Labeling")
    (asl,) = state_machine_definitions(resolver).values()
    return asl


def _role(functions: dict[str, Any], handler: str) -> str:
    return str(functions[handler]["Role"]["Fn::GetAtt"][0])


def test_workflow_has_its_three_functions(functions: dict[str, Any]) -> None:
    assert {VALIDATE, START, EVENTS} <= set(functions)
    assert set(functions[VALIDATE]["Environment"]["Variables"]) == {
        "RESULTS_BUCKET",
        "MAX_OBJECTS_PER_JOB",
        "DATA_SOURCES",
        "POWERTOOLS_SERVICE_NAME",
    }
    # The test stage declares no data sources: items live in intake only.
    assert functions[VALIDATE]["Environment"]["Variables"]["DATA_SOURCES"] == "[]"
    assert set(functions[EVENTS]["Environment"]["Variables"]) == {
        "TOKENS_TABLE",
        "POWERTOOLS_SERVICE_NAME",
    }


def test_state_machine_logs_everything_to_its_own_group_and_traces(template: Template) -> None:
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {
                "Level": "ALL",
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": Match.any_value()}}],
            },
            "TracingConfiguration": {"Enabled": True},
        },
    )


def _recorded(states: dict[str, Any], catch: dict[str, Any]) -> dict[str, Any]:
    """The record-failure step a Catch leads to, after checking it ends the job as failed."""
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch["ResultPath"] == "$.failure"
    step = states[catch["Next"]]
    assert "WorkflowRecordFailureFunction" in step["Resource"]
    assert step["ResultPath"] == "$.record"
    ending = states[step["Next"]]
    assert ending == {"Type": "Fail", "ErrorPath": "$.record.error", "CausePath": "$.record.reason"}
    parameters: dict[str, Any] = step["Parameters"]
    return parameters


def test_definition_validates_then_waits_for_each_chunk(definition: dict[str, Any]) -> None:
    states = definition["States"]
    defaults = states[definition["StartAt"]]
    assert defaults["Type"] == "Pass"
    assert defaults["OutputPath"] == "$.input"
    validate = states[defaults["Next"]]
    assert validate["Type"] == "Task"
    # payload_response_only: the function itself, at $LATEST (no version wildcard)
    assert "WorkflowValidateFunction" in validate["Resource"]
    assert validate["Resource"].endswith(":$LATEST")
    rejection = _recorded(states, validate["Catch"][0])
    assert "chunks.$" not in rejection
    assert "validation.$" not in rejection  # Validate itself failed: there is no result
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in validate["Retry"])
    chunks = states[validate["Next"]]
    assert chunks["Type"] == "Map"
    assert chunks["ItemsPath"] == "$.validation.chunks"
    processor = chunks["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    start = processor["States"][processor["StartAt"]]
    assert start["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert start["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    # The test projects keep the default 10 days of availability, plus a day to finish.
    assert start["TimeoutSeconds"] == 11 * 24 * 3600
    (throttled,) = [r for r in start["Retry"] if r["ErrorEquals"] == ["Throttled"]]
    assert throttled["BackoffRate"] == 2
    assert throttled["JitterStrategy"] == "FULL"
    assert throttled["MaxDelaySeconds"] == 300
    assert "Catch" not in start  # a failed labeling job fails its chunk, then the Map
    chunk_failure = _recorded(states, chunks["Catch"][0])
    assert chunk_failure["chunks.$"] == "$.validation.chunks"
    assert chunk_failure["validation.$"] == "$.validation"
    publish = states[chunks["Next"]]
    assert publish["Type"] == "Task"
    assert "WorkflowPublishJobFunction" in publish["Resource"]
    assert publish["ResultPath"] == "$.publication"
    assert publish["Parameters"] == {
        "jobId.$": "$.jobId",
        "project.$": "$.project",
        "taskType.$": "$.taskType",
        "workforce.$": "$.workforce",
        "jobs.$": "$.jobs",
        "validation.$": "$.validation",
    }
    assert any("Lambda.ServiceException" in r["ErrorEquals"] for r in publish["Retry"])
    publish_failure = _recorded(states, publish["Catch"][0])
    assert publish_failure["validation.$"] == "$.validation"
    assert "chunks.$" not in publish_failure
    assert states[publish["Next"]]["Type"] == "Succeed"


def _payload(parameters: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """A task's payload: its Parameters with each `.$` path read from `state`."""
    payload = {}
    for key, value in parameters.items():
        if key.endswith(".$"):
            node = state
            for part in value.removeprefix("$.").split("."):
                node = node[part]
            payload[key.removesuffix(".$")] = node
        else:
            payload[key] = value
    return payload


def test_publish_and_failure_steps_pass_validates_result_to_their_requests(
    definition: dict[str, Any],
) -> None:
    # Given the execution's state after the Map, with what Validate returned
    validation = {
        "manifest": "s3://intake/cats/batch.jsonl",
        "lines": 4,
        "accepted": 2,
        "rejected": 1,
        "blank": 1,
        "byReason": {"not-json": 1},
        "rejectsUri": "s3://results/jobs/j1/rejects.jsonl",
        "cleanManifestUri": "s3://results/jobs/j1/manifest.clean.jsonl",
        "chunks": [
            {"index": 0, "first": 0, "count": 2, "manifestUri": "s3://results/jobs/j1/0.manifest"}
        ],
    }
    state = {
        "jobId": "j1",
        "project": "cats",
        "taskType": "image-classification",
        "workforce": None,
        "jobs": [{"jobName": "cats-j1-0", "outputManifestUri": "s3://results/o.manifest"}],
        "validation": validation,
        "failure": {"Error": "LabelingJobFailed", "Cause": "stopped"},
    }
    expected = ValidationSummary.from_json(validation)
    states = definition["States"]
    chunks = next(state for state in states.values() if state["Type"] == "Map")
    publish = states[chunks["Next"]]

    # When Publish and the record-failure steps after the Map build their events
    published = PublishRequest.from_event(_payload(publish["Parameters"], state))
    failures = [
        FailureRequest.from_event(_payload(states[catch["Next"]]["Parameters"], state))
        for catch in (chunks["Catch"][0], publish["Catch"][0])
    ]

    # Then each carries Validate's counts
    assert expected is not None and expected.accepted == 2
    assert published.validation == expected
    assert [failure.validation for failure in failures] == [expected, expected]


def test_rule_matches_ended_labeling_jobs_and_targets_job_events(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    (rule,) = [
        r
        for r in resources(template_json, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sagemaker"]
    ]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": [JOB_EVENT_DETAIL_TYPE],
        "detail": {"LabelingJobStatus": ["Completed", "Failed", "Stopped"]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [functions[EVENTS]["LogicalId"], "Arn"]}


def test_intake_rule_matches_manifests_of_the_intake_bucket(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    (rule,) = [
        r
        for r in resources(template_json, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert flatten(pattern["detail"]["bucket"]["name"][0]).startswith("<StorageIntake")
    assert pattern["detail"]["object"]["key"] == [{"suffix": ".jsonl"}, {"suffix": ".manifest"}]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [functions[INTAKE]["LogicalId"], "Arn"]}


def test_jobs_table_is_on_demand_encrypted_and_recoverable(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "jobId", "KeyType": "HASH"}],
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_topic_is_encrypted_and_tls_only(template_json: dict[str, Any]) -> None:
    (topic,) = resources(template_json, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    (policy,) = resources(template_json, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_intake_and_publish_calls_are_scoped(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    intake = actions_on(role_statements(template_json, _role(functions, INTAKE)))
    assert "states:StartExecution" in intake
    assert "sns:Publish" in intake
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= set(intake)
    assert "dynamodb:Scan" not in intake
    publish = actions_on(role_statements(template_json, _role(functions, PUBLISH)))
    (bus,) = publish["events:PutEvents"]
    assert bus.endswith(":event-bus/default")
    assert "sns:Publish" in publish
    assert "dynamodb:PutItem" not in publish


def test_tokens_table_is_on_demand_encrypted_and_recoverable(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "jobName", "KeyType": "HASH"}],
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_start_passes_only_the_labeling_role_to_sagemaker(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    statements = role_statements(template_json, _role(functions, START))
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert flatten(pass_role["Resource"]).startswith("<LabelingJobRole")
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_sagemaker_calls_are_scoped_to_the_projects_jobs(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    for handler, action in (
        (START, "sagemaker:CreateLabelingJob"),
        (EVENTS, "sagemaker:DescribeLabelingJob"),
    ):
        allowed = actions_on(role_statements(template_json, _role(functions, handler)))
        assert {resource.rsplit(":", 1)[-1] for resource in allowed[action]} == {
            "labeling-job/cats-*",
            "labeling-job/cells-*",
        }


def test_job_events_may_send_task_responses(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    statements = role_statements(template_json, _role(functions, EVENTS))
    assert {"states:SendTaskSuccess", "states:SendTaskFailure"} <= set(actions_on(statements))


def test_no_workflow_without_a_work_team(stage_config: StageConfig) -> None:
    app = new_app()
    stack = LabelingStack(app, "NoTeam", config=replace(stage_config, workteam_arn=None))
    assert stack.workflow is None
    Template.from_stack(stack).resource_count_is("AWS::StepFunctions::StateMachine", 0)
