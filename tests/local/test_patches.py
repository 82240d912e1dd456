"""Canaries and behaviour of LabelFlow's moto patches (moto is pinned at 5.2.5).

Each canary checks the moto internals a patch relies on, and that the gap it fills is still
there: when an upgrade changes either, the canary fails and the patch must be revisited.
"""

from __future__ import annotations

import inspect
import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelflow.local import patches

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/local-test"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


CANARY_CODE = {
    "canary_fn/__init__.py": "",
    "canary_fn/handler.py": (
        "import os\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise KeyError('no such thing')\n"
        "    return {'got': event, 'stage': os.environ['STAGE'],\n"
        "            'name': context.function_name}\n"
    ),
}


@pytest.fixture
def aws(patched: None) -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("iam", region_name=REGION).create_role(
            RoleName="local-test", AssumeRolePolicyDocument="{}"
        )
        with patches.fast_waits():
            yield


def test_moto_is_the_pinned_version() -> None:
    import moto

    assert moto.__version__ == "5.2.5"


# ------------------------------------------------------------------------------------ lambda


def test_lambda_canary_internals() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"]
    assert "docker" in inspect.getsource(LambdaFunction._invoke_lambda)
    assert list(inspect.signature(LambdaBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    for attribute in ("code_bytes", "environment_vars", "function_arn", "memory_size", "timeout"):
        assert attribute in inspect.getsource(LambdaFunction.__init__) + inspect.getsource(
            LambdaFunction
        )


def test_lambda_client_canary_internals() -> None:
    # The executor builds its Lambda client through this function; the patch wraps it so the
    # client is never built while an in-process invocation is changing the environment.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    build_client = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009
    assert list(inspect.signature(build_client).parameters) == [
        "region",
        "service",
        "state_credentials",
    ]
    assert "boto_client_for(" in inspect.getsource(lambda_eval_utils)


def test_lambda_runs_the_handler_from_the_zip(aws: None) -> None:
    client = boto3.client("lambda", region_name=REGION)
    client.create_function(
        FunctionName="canary",
        Runtime="python3.12",
        Role=ROLE,
        Handler="canary_fn.handler.lambda_handler",
        Code={"ZipFile": _zip(CANARY_CODE)},
        Environment={"Variables": {"STAGE": "local"}},
    )

    ok = client.invoke(FunctionName="canary", Payload=json.dumps({"n": 1}))
    failed = client.invoke(FunctionName="canary", Payload=json.dumps({"fail": True}))

    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {
        "got": {"n": 1},
        "stage": "local",
        "name": "canary",
    }
    assert failed["FunctionError"]
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert "no such thing" in error["errorMessage"]


def test_lambda_error_type_reaches_step_functions_catch(aws: None) -> None:
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="canary",
        Runtime="python3.12",
        Role=ROLE,
        Handler="canary_fn.handler.lambda_handler",
        Code={"ZipFile": _zip(CANARY_CODE)},
        Environment={"Variables": {"STAGE": "local"}},
    )
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:canary"
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "Retry": [{"ErrorEquals": ["KeyError"], "MaxAttempts": 1, "IntervalSeconds": 30}],
                "Catch": [{"ErrorEquals": ["KeyError"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }

    execution = _run(definition, {"fail": True})

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["Error"] == "KeyError"


def test_lambda_patch_is_idempotent_and_restorable() -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    patches.acquire()
    patches.acquire()
    try:
        assert LambdaFunction._invoke_lambda is not original
        assert all(patch.applied() for patch in patches.PATCHES)
        patches.release()
        assert all(patch.applied() for patch in patches.PATCHES)
    finally:
        patches.release()
    assert LambdaFunction._invoke_lambda is original
    assert not any(patch.applied() for patch in patches.PATCHES)


# ----------------------------------------------------------------------------- sfn-responses


def test_sfn_responses_canary_internals() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk,
    )

    base = state_task_service.StateTaskService._normalise_response
    assert inspect.getsource(base).rstrip().endswith("pass"), "moto now normalises responses"
    assert "_normalise_response" not in vars(state_task_service_aws_sdk.StateTaskServiceAwsSdk)
    assert "self._normalise_response(output_value)" in inspect.getsource(
        state_task_service.StateTaskService
    )


def test_sfn_aws_sdk_results_are_json(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="doc.json", Body=b'{"lines": 3}')
    definition = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "data", "Key": "doc.json"},
                "ResultSelector": {
                    "doc.$": "States.StringToJson($.Body)",
                    "modified.$": "$.LastModified",
                },
                "End": True,
            }
        },
    }

    execution = _run(definition, {})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["doc"] == {"lines": 3}
    assert isinstance(output["modified"], str) and output["modified"][:2] == "20"


def test_to_json_value_converts_streams_datetimes_and_bytes() -> None:
    import datetime as dt

    value = {
        "Body": io.BytesIO(b"text"),
        "When": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "Raw": [b"\xff\x00"],
    }

    assert patches.to_json_value(value) == {
        "Body": "text",
        "When": "2026-01-02T03:04:05+00:00",
        "Raw": ["/wA="],
    }


# -------------------------------------------------------------------------------- fast-waits


def test_fast_waits_canary_internals() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    assert list(inspect.signature(wait_function.WaitFunction._wait_interval).parameters) == [
        "self",
        "env",
        "wait_seconds",
    ]
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl)


def test_fast_waits_skip_wait_states_and_keep_history(aws: None) -> None:
    definition = {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    started = time.monotonic()

    execution = _run(definition, {})

    assert execution["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 10
    sfn = boto3.client("stepfunctions", region_name=REGION)
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    kinds = [event["type"] for event in history]
    assert "WaitStateEntered" in kinds and "WaitStateExited" in kinds


def test_fast_waits_can_be_switched_off() -> None:
    with patches.fast_waits():
        assert patches.fast_waits_enabled()
        patches.enable_fast_waits(False)
        assert not patches.fast_waits_enabled()
    assert not patches.fast_waits_enabled()


# ---------------------------------------------------------------------------- events-targets


def test_events_canary_internals() -> None:
    from moto.events.models import Rule
    from moto.s3 import notifications

    assert list(inspect.signature(Rule.send_to_targets).parameters) == [
        "self",
        "original_event",
        "transform_input",
    ]
    source = inspect.getsource(Rule.send_to_targets)
    assert 'arn.service == "sqs"' in source
    assert "states" not in source and "lambda" not in source, "moto now delivers these targets"
    assert 'event["time"] = unix_time()' in inspect.getsource(
        notifications._send_event_bridge_message
    )


def test_s3_event_starts_an_execution_and_reaches_sqs(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    s3.create_bucket(Bucket="intake")
    s3.put_bucket_notification_configuration(
        Bucket="intake", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    machine = sfn.create_state_machine(
        name="on-upload",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    queue_url = sqs.create_queue(QueueName="copies")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="manifests",
        EventPattern=json.dumps(
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"object": {"key": [{"suffix": ".manifest"}]}},
            }
        ),
    )
    events.put_targets(
        Rule="manifests",
        Targets=[{"Id": "sfn", "Arn": machine, "RoleArn": ROLE}, {"Id": "q", "Arn": queue_arn}],
    )

    s3.put_object(Bucket="intake", Key="a.txt", Body=b"ignored")
    s3.put_object(Bucket="intake", Key="batch.manifest", Body=b"{}")

    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    event = json.loads(described["input"])
    assert event["detail"]["object"]["key"] == "batch.manifest"
    assert isinstance(event["time"], str) and event["time"].endswith("Z")
    copies = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in copies] == ["batch.manifest"]


def test_event_lambda_target_is_invoked_asynchronously(aws: None) -> None:
    client = boto3.client("lambda", region_name=REGION)
    code = {
        "seen_fn/__init__.py": "",
        "seen_fn/handler.py": (
            "import boto3, json\n"
            "def lambda_handler(event, context):\n"
            "    boto3.client('s3').put_object(Bucket='seen', Key='event.json',\n"
            "        Body=json.dumps(event).encode())\n"
        ),
    }
    arn = client.create_function(
        FunctionName="seen",
        Runtime="python3.12",
        Role=ROLE,
        Handler="seen_fn.handler.lambda_handler",
        Code={"ZipFile": _zip(code)},
    )["FunctionArn"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="seen")
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="custom", EventPattern=json.dumps({"source": ["labelflow.test"]}))
    events.put_targets(Rule="custom", Targets=[{"Id": "fn", "Arn": arn, "InputPath": "$.detail"}])

    events.put_events(
        Entries=[{"Source": "labelflow.test", "DetailType": "t", "Detail": '{"n": 7}'}]
    )
    patches.drain_async_invocations()

    body = boto3.client("s3", region_name=REGION).get_object(Bucket="seen", Key="event.json")
    assert json.loads(body["Body"].read()) == {"n": 7}


# ---------------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- map-tolerance


def test_map_tolerance_canary_internals() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as module,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (  # noqa: E501
        distributed_item_processor_worker as worker,
    )

    run = patches._ORIGINALS.get("map-tolerance", module.DistributedIterationComponent._map_run)
    assert list(inspect.signature(run).parameters) == ["self", "env", "eval_input"]
    assert "tolerated" not in inspect.getsource(run), "moto now checks the threshold"
    assert "item_counter.failed.count()" in inspect.getsource(worker)


def _distributed_map(tolerated: int | None) -> dict[str, Any]:
    chunks: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Odd?",
            "States": {
                "Odd?": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Fail"}],
                    "Default": "Done",
                },
                "Fail": {"Type": "Fail", "Error": "ItemFailed", "Cause": "one"},
                "Done": {"Type": "Succeed"},
            },
        },
        "ResultPath": "$.results",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Caught"}],
        "End": True,
    }
    if tolerated is not None:
        chunks["ToleratedFailureCount"] = tolerated
    return {"StartAt": "Chunks", "States": {"Chunks": chunks, "Caught": {"Type": "Succeed"}}}


@pytest.mark.parametrize(
    ("failed", "total", "count", "percentage", "exceeded"),
    [
        (0, 3, 0, 0.0, False),
        (1, 3, 0, 0.0, True),
        (1, 3, 1, 0.0, False),
        (2, 3, 1, 0.0, True),
        (1, 4, 0, 25.0, False),
        (2, 4, 0, 25.0, True),
    ],
)
def test_map_tolerance_threshold(
    failed: int, total: int, count: int, percentage: float, exceeded: bool
) -> None:
    assert patches._exceeds_tolerance(failed, total, count, percentage) is exceeded


def test_a_failed_item_fails_a_distributed_map(aws: None) -> None:
    execution = _run(_distributed_map(None), {"items": [0, 1, 2]})

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["failure"] == {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": patches.MAP_THRESHOLD_CAUSE,
    }
    assert "results" not in output
    sfn = boto3.client("stepfunctions", region_name=REGION)
    (run,) = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    ends = [
        event["type"]
        for event in patches.map_run_history(run["mapRunArn"])
        if event["type"] in ("FailStateEntered", "SucceedStateEntered")
    ]
    assert sorted(ends) == ["FailStateEntered", "SucceedStateEntered", "SucceedStateEntered"]


def test_a_tolerated_failure_leaves_a_null_result(aws: None) -> None:
    execution = _run(_distributed_map(1), {"items": [0, 1, 2]})

    output = json.loads(execution["output"])
    assert "failure" not in output
    assert output["results"] == [0, None, 2]


def _run(definition: dict[str, Any], payload: Any) -> Any:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"m{time.monotonic_ns()}", roleArn=ROLE, definition=json.dumps(definition)
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 20
    while True:
        described: Any = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


# --------------------------------------------------------------------------- server-dispatch


def test_server_dispatch_canary_internals() -> None:
    from moto import backends
    from moto.moto_server import werkzeug_app

    source = inspect.getsource(werkzeug_app.DomainDispatcherApplication.get_backend_for_host)
    assert "backends.list_of_moto_modules()" in source
    original = patches._ORIGINALS.get("server-dispatch", backends.list_of_moto_modules)
    assert "os.listdir" in inspect.getsource(original), "moto no longer lists its folder"


def test_server_dispatch_lists_the_same_modules_once(patched: None) -> None:
    from moto import backends

    listed = list(patches._ORIGINALS["server-dispatch"]())

    assert list(backends.list_of_moto_modules()) == listed
    assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
    assert "s3" in listed and "stepfunctions" in listed


def test_dynamodb_atomic_canary_internals() -> None:
    from moto.dynamodb.responses import DynamoHandler

    for name in patches.DYNAMODB_ACTIONS:
        action = patches._ORIGINALS.get(f"dynamodb-atomic.{name}", getattr(DynamoHandler, name))
        # each action builds its result (a copy of the items) before it returns
        assert "return" in inspect.getsource(action), name
    update = patches._ORIGINALS.get("dynamodb-atomic.update_item", DynamoHandler.update_item)
    assert "self.dynamodb_backend.update_item(" in inspect.getsource(update)


def test_dynamodb_backup_canary_internals() -> None:
    from moto.dynamodb import models

    original = patches._ORIGINALS.get(
        "dynamodb-backup", models.DynamoDBBackend.transact_write_items
    )
    source = inspect.getsource(original)
    # the rollback copy moto takes per action, which the patch takes once per table
    assert "original_table_state[table_name] = copy.deepcopy(" in source
    assert "self.tables[table_name] = original_table_state[table_name]" in source


def test_a_failed_transaction_still_rolls_every_action_back(aws: None) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for key in ("a", "b", "marker"):
        dynamodb.put_item(TableName="t", Item={"k": {"S": key}, "n": {"N": "1"}})

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"k": {"S": key}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                for key in ("a", "b")
            ]
            + [
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"k": {"S": "marker"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                }
            ]
        )

    items = dynamodb.scan(TableName="t")["Items"]
    assert sorted((i["k"]["S"], i["n"]["N"]) for i in items) == [
        ("a", "1"),
        ("b", "1"),
        ("marker", "1"),
    ]


def test_dynamodb_item_actions_wait_for_each_other(aws: None) -> None:
    import threading

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="jobs", Item={"jobId": {"S": "j"}, "status": {"S": "RUNNING"}})
    seen: list[dict[str, Any]] = []

    def read() -> None:
        seen.append(dynamodb.get_item(TableName="jobs", Key={"jobId": {"S": "j"}})["Item"])

    # While an update holds the lock, a read waits, then sees the whole update
    with patches.DYNAMODB_LOCK:
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive()  # blocked behind the update in progress
        dynamodb.update_item(  # the same thread may enter again (the lock is re-entrant)
            TableName="jobs",
            Key={"jobId": {"S": "j"}},
            UpdateExpression="SET #s = :s, outputUri = :o",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "SUCCEEDED"}, ":o": {"S": "s3://r/o"}},
        )
    reader.join(timeout=10)
    assert seen == [
        {"jobId": {"S": "j"}, "status": {"S": "SUCCEEDED"}, "outputUri": {"S": "s3://r/o"}}
    ]
