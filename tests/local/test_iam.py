"""IAM evaluated in the emulator: each function calls AWS as its own role.

The runtime side: moto's access control evaluates every call of a function's role session
(:mod:`labelflow.local.iam`), and a missing grant is refused. The static side
(``test_every_call_of_a_job_is_allowed_by_the_synthesized_policies``): every call the
functions and the labeling-job role made during a job's run, as recorded by the emulator,
is decided again from the synthesized template (:mod:`labelflow.local.iam_policies`), with
what moto does not evaluate: key and bucket policies, conditions, IAM's wildcards. Recording
calls, rather than scanning the code for client calls, gives each call's real resource (the
bucket and key, the table, the state machine behind a task token), which only a run knows.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labelflow.local import iam
from labelflow.local.deploy import deploy
from labelflow.local.iam_policies import TemplatePolicies
from labelflow.local.server import LocalAws
from tests.local.conftest import STACK
from tests.local.workflow_run import register_reviewers, review_lines, wait_for


def _role_of(local_aws: LocalAws, function: str) -> str:
    return str(local_aws.client("lambda").get_function_configuration(FunctionName=function)["Role"])


def _ended(sfn: Any, arn: str) -> dict[str, Any] | None:
    described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    return None if described["status"] == "RUNNING" else described


def _function(local_aws: LocalAws, part: str) -> str:
    names = [
        item["FunctionName"]
        for item in local_aws.client("lambda").list_functions()["Functions"]
        if part in item["FunctionName"]
    ]
    (name,) = names
    return str(name)


def _record_failure(local_aws: LocalAws, function: str) -> dict[str, Any]:
    """Invoke the RecordFailure function as the workflow's Catch does."""
    response = local_aws.client("lambda").invoke(
        FunctionName=function,
        Payload=json.dumps(
            {
                "jobId": "batch-9",
                "project": "reviews",
                "failure": {"Error": "States.TaskFailed", "Cause": "the labeling job failed"},
            }
        ).encode(),
    )
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    return {"error": response.get("FunctionError"), "payload": payload}


# --------------------------------------------------------------------------------------------
# runtime: a missing grant is refused
# --------------------------------------------------------------------------------------------


def test_a_function_calls_aws_as_its_own_role(local_aws: LocalAws, cdk_out: Path) -> None:
    deploy(cdk_out, STACK, client=local_aws.client)
    function = _function(local_aws, "RecordFailure")

    result = _record_failure(local_aws, function)

    assert result["error"] is None, result
    role = _role_of(local_aws, function)
    calls = [call for call in iam.access_log() if call.role_arn == role]
    assert {call.action for call in calls} >= {"dynamodb:UpdateItem", "sns:Publish"}
    assert all(call.allowed for call in calls)
    assert {call.role_arn for call in iam.access_log()} == {role}


def test_a_missing_grant_is_refused(local_aws: LocalAws, cdk_out: Path) -> None:
    # Given the stack deployed, and one statement removed from RecordFailure's role
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    function = _function(local_aws, "RecordFailure")
    role = _role_of(local_aws, function).rsplit("/", 1)[1]
    client = local_aws.client("iam")
    (name,) = client.list_role_policies(RoleName=role)["PolicyNames"]
    document = client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    kept = [
        statement
        for statement in document["Statement"]
        if statement["Action"] != "dynamodb:UpdateItem"
    ]
    assert len(kept) == len(document["Statement"]) - 1
    client.put_role_policy(
        RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept})
    )

    # When the function runs
    result = _record_failure(local_aws, function)

    # Then its UpdateItem is refused as AWS refuses it
    assert result["error"] is not None
    assert result["payload"]["errorType"] == "ClientError"
    assert "AccessDeniedException" in result["payload"]["errorMessage"]
    assert "dynamodb:UpdateItem" in result["payload"]["errorMessage"]
    (refused,) = [call for call in iam.access_log() if not call.allowed]
    assert refused.action == "dynamodb:UpdateItem"
    assert refused.resource.endswith(f":table/{outputs['JobsTableName']}")


def test_the_emulators_own_clients_act_as_the_account(local_aws: LocalAws) -> None:
    s3 = local_aws.client("s3")

    s3.create_bucket(Bucket="anything")

    assert s3.list_buckets()["Buckets"][0]["Name"] == "anything"
    assert iam.access_log() == []


def test_a_role_session_with_no_policy_is_refused(local_aws: LocalAws) -> None:
    local_aws.client("iam").create_role(RoleName="bare", AssumeRolePolicyDocument="{}")
    credentials = iam.role_credentials(
        "123456789012", "us-east-1", "arn:aws:iam::123456789012:role/bare", "probe"
    )
    s3 = local_aws.client(
        "s3",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )

    with pytest.raises(ClientError) as raised:
        s3.list_buckets()

    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    # as in AWS, every signed caller may ask who it is
    identity = local_aws.client(
        "sts",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    ).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/bare/probe"


def test_iam_canary_internals() -> None:
    """moto internals the IAM patch and :mod:`labelflow.local.iam` rely on (moto 5.2.5)."""
    from moto import settings
    from moto.awslambda.models import LambdaFunction
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMRequestBase, PermissionResult
    from moto.sts.models import STSBackend

    assert list(
        inspect.signature(ActionAuthenticatorMixin._authenticate_and_authorize_action).parameters
    ) == ["self", "iam_request_cls", "resource"]
    assert list(inspect.signature(IAMRequestBase.__init__).parameters) == [
        "self",
        "account_id",
        "method",
        "path",
        "data",
        "body",
        "headers",
        "action",
    ]
    assert callable(IAMRequestBase.check_signature)
    assert callable(IAMRequestBase._raise_access_denied)
    assert list(inspect.signature(IAMPolicy.is_action_permitted).parameters) == [
        "self",
        "action",
        "resource",
        "principal",
        "incoming_condition_values",
    ]
    assert {result.name for result in PermissionResult} == {"PERMITTED", "DENIED", "NEUTRAL"}
    assert list(inspect.signature(STSBackend.assume_role).parameters) == [
        "self",
        "region_name",
        "role_session_name",
        "role_arn",
        "policy",
        "duration",
        "external_id",
    ]
    assert isinstance(settings.INITIAL_NO_AUTH_ACTION_COUNT, float)
    assert "self.role = " in inspect.getsource(LambdaFunction.__init__)


# --------------------------------------------------------------------------------------------
# static: every recorded call against the synthesized policies
# --------------------------------------------------------------------------------------------


def test_every_call_of_a_job_is_allowed_by_the_synthesized_policies(
    local_aws: LocalAws, cdk_out: Path
) -> None:
    # Given the stage deployed with its intake trigger, and a simulated workforce
    deployment = deploy(cdk_out, STACK, client=local_aws.client)
    outputs = deployment.outputs
    s3, sfn = local_aws.client("s3"), local_aws.client("stepfunctions")
    register_reviewers()

    # When a manifest is dropped into intake and its job runs to the end
    body = "\n".join(json.dumps(line) for line in review_lines()).encode()
    s3.put_object(Bucket=outputs["IntakeBucketName"], Key="reviews/batch.jsonl", Body=body)
    machine = outputs["WorkflowStateMachineArn"]
    (execution,) = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    wait_for(local_aws.run_jobs)
    ended = wait_for(lambda: _ended(sfn, execution["executionArn"]))
    # And the reconciliation sweep runs, as its schedule would start it
    sweep = _function(local_aws, "ReconcileJobs")
    swept = local_aws.client("lambda").invoke(FunctionName=sweep, Payload=b"{}")

    # Then every call any role made is one the synthesized policies allow
    calls = iam.access_log()
    policies = TemplatePolicies.from_resolver(deployment.resolver)
    assert policies.check(calls) == []
    assert ended["status"] == "SUCCEEDED"
    assert swept.get("FunctionError") is None
    # And the calls came from every role that calls AWS in a job
    roles = {call.role_arn.rsplit("/", 1)[1].removeprefix(f"{STACK}-") for call in calls}
    assert {role.rstrip("0123456789ABCDEF") for role in roles} >= {
        "WorkflowStartJobRole",
        "WorkflowValidateRole",
        "WorkflowStartLabelingJobRole",
        "LabelingJobRole",
        "GroundTruthConsolidationRole",
        "WorkflowJobEventsRole",
        "WorkflowPublishJobRole",
        "MonitoringReconcileJobsRole",
    }
