"""The intake trigger and the Publish step, in-process against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

import handler_support
from publish_job import handler as publish_handler
from publish_job.settings import get_settings as publish_settings
from start_job import handler as intake_handler
from start_job.settings import get_settings as intake_settings
from tests.unit.lambdas.test_publish_job_logic import event as publish_event
from tests.unit.lambdas.test_publish_job_logic import line
from tests.unit.lambdas.test_start_job_logic import ENVIRONMENT, s3_event

REGION = "us-east-1"


def _clear_caches() -> None:
    for cached in (intake_settings, publish_settings):
        cached.cache_clear()
    handler_support.reset_clients()


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "request-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    _clear_caches()
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        for bucket in ("results", "artifacts", "audit"):
            s3.create_bucket(Bucket=bucket)
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="notes")["TopicArn"]
        machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="workflow",
            definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        environment = {
            **ENVIRONMENT,
            "TOPIC_ARN": topic,
            "STATE_MACHINE_ARN": machine,
            "ARTIFACTS_BUCKET": "artifacts",
            "AUDIT_BUCKET": "audit",
        }
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        yield environment
    _clear_caches()


def executions(machine: str) -> list[Any]:
    found: list[Any] = handler_support.client("stepfunctions").list_executions(
        stateMachineArn=machine
    )["executions"]
    return found


def job_item(job_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        handler_support.client("dynamodb")
        .get_item(TableName="jobs", Key={"jobId": {"S": job_id}})
        .get("Item")
    )
    return item


def test_a_manifest_starts_one_execution_named_after_its_job(aws: dict[str, str]) -> None:
    result = intake_handler.lambda_handler(s3_event("reviews/a.jsonl"), Context())  # type: ignore[arg-type]

    assert result["status"] == "started"
    (execution,) = executions(aws["STATE_MACHINE_ARN"])
    assert execution["name"] == result["jobId"]
    described = handler_support.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"]) == {
        "bucket": "intake",
        "key": "reviews/a.jsonl",
        "versionId": "v1",
        "project": "reviews",
        "jobId": result["jobId"],
        "taskType": "text-classification",
        "workforce": {"type": "private"},
        "backend": "ground-truth",
    }
    item = job_item(result["jobId"])
    assert item is not None
    assert item["status"] == {"S": "RUNNING"}
    assert item["executionArn"] == {"S": execution["executionArn"]}


def test_a_repeated_event_starts_nothing(aws: dict[str, str]) -> None:
    first = intake_handler.lambda_handler(s3_event("reviews/a.jsonl"), Context())  # type: ignore[arg-type]
    again = intake_handler.lambda_handler(s3_event("reviews/a.jsonl"), Context())  # type: ignore[arg-type]

    assert again == {"status": "duplicate", "jobId": first["jobId"]}
    assert len(executions(aws["STATE_MACHINE_ARN"])) == 1


def test_a_job_left_pending_is_started_on_the_next_event(aws: dict[str, str]) -> None:
    first = intake_handler.lambda_handler(s3_event("reviews/a.jsonl"), Context())  # type: ignore[arg-type]
    handler_support.client("dynamodb").update_item(
        TableName="jobs",
        Key={"jobId": {"S": first["jobId"]}},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "PENDING"}},
    )

    again = intake_handler.lambda_handler(s3_event("reviews/a.jsonl"), Context())  # type: ignore[arg-type]

    assert again["status"] == "started"
    assert len(executions(aws["STATE_MACHINE_ARN"])) == 1
    item = job_item(first["jobId"])
    assert item is not None
    assert item["status"] == {"S": "RUNNING"}


def test_an_unknown_project_is_recorded_and_starts_nothing(aws: dict[str, str]) -> None:
    result = intake_handler.lambda_handler(s3_event("pets/a.jsonl"), Context())  # type: ignore[arg-type]

    assert result["status"] == "rejected"
    body = handler_support.client("s3").get_object(
        Bucket="results", Key="rejected/pets/a.jsonl.json"
    )
    assert json.loads(body["Body"].read()) == {
        "bucket": "intake",
        "key": "pets/a.jsonl",
        "reason": "project 'pets' is not configured",
    }
    assert executions(aws["STATE_MACHINE_ARN"]) == []


def test_a_rejection_notice_reaches_the_named_projects_subscribers_only(
    aws: dict[str, str],
) -> None:
    pets = _subscribe(
        aws["TOPIC_ARN"], "pets", {"project": ["pets"], "kind": ["manifest-rejected"]}
    )
    reviews = _subscribe(aws["TOPIC_ARN"], "reviews", {"project": ["reviews"]})

    intake_handler.lambda_handler(s3_event("pets/a.jsonl"), Context())  # type: ignore[arg-type]

    (message,) = _messages(pets)
    assert json.loads(message) == {
        "bucket": "intake",
        "key": "pets/a.jsonl",
        "reason": "project 'pets' is not configured",
    }
    assert _messages(reviews) == []


def test_a_malformed_event_raises(aws: dict[str, str]) -> None:
    from gt_contracts import ContractError

    with pytest.raises(ContractError):
        intake_handler.lambda_handler({"source": "aws.s3"}, Context())  # type: ignore[arg-type]


def _stage_publish_inputs() -> None:
    s3 = handler_support.client("s3")
    for index, rows in enumerate(
        [[line("great", "positive")], [line("bad", "negative"), line("ok", "neutral")]]
    ):
        s3.put_object(
            Bucket="results",
            Key=f"jobs/j/gt/reviews-j-{index}/output.manifest",
            Body="\n".join(rows).encode(),
        )
    s3.put_object(
        Bucket="artifacts",
        Key="skills/reviews/reviews-j-0/0123456789abcdef.json",
        Body=b'{"workers": []}',
    )
    handler_support.client("dynamodb").put_item(
        TableName="jobs", Item={"jobId": {"S": "j"}, "status": {"S": "RUNNING"}}
    )


def test_publish_writes_the_output_and_announces_the_job(aws: dict[str, str]) -> None:
    s3 = handler_support.client("s3")
    _stage_publish_inputs()
    queue = _subscribe(aws["TOPIC_ARN"])

    summary = publish_handler.lambda_handler(publish_event(), Context())  # type: ignore[arg-type]

    assert summary["items"] == 3
    assert summary["labeled"] == 3
    keys = {
        o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix="jobs/j/output/")["Contents"]
    }
    assert {
        "jobs/j/output/output.manifest",
        "jobs/j/output/report.html",
        "jobs/j/output/report.json",
        "jobs/j/output/exports/labels.csv",
    } <= keys
    report = json.loads(
        s3.get_object(Bucket="results", Key="jobs/j/output/report.json")["Body"].read()
    )
    assert report["skill_documents"] == 1
    item = job_item("j")
    assert item is not None
    assert item["status"] == {"S": "SUCCEEDED"}
    assert item["items"] == {"N": "3"}
    (message,) = _messages(queue)
    assert json.loads(message) == summary


def test_the_completion_notice_reaches_the_projects_subscribers_only(
    aws: dict[str, str],
) -> None:
    _stage_publish_inputs()
    reviews = _subscribe(
        aws["TOPIC_ARN"], "reviews", {"project": ["reviews"], "kind": ["job-completed"]}
    )
    pets = _subscribe(aws["TOPIC_ARN"], "pets", {"project": ["pets"]})

    summary = publish_handler.lambda_handler(publish_event(), Context())  # type: ignore[arg-type]

    (message,) = _messages(reviews)
    assert json.loads(message) == summary
    assert _messages(pets) == []


def test_publish_rejects_a_malformed_event(aws: dict[str, str]) -> None:
    from gt_contracts import ContractError

    with pytest.raises(ContractError, match="jobs"):
        publish_handler.lambda_handler({**publish_event(), "jobs": []}, Context())  # type: ignore[arg-type]


def _subscribe(
    topic: str, name: str = "notes", filter_policy: dict[str, list[str]] | None = None
) -> str:
    """A queue subscribed to ``topic``, with ``filter_policy`` as an e-mail subscription has."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            **({"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}),
        },
    )
    return str(url)


def _messages(url: str) -> list[str]:
    import boto3

    received = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10
    )
    return [str(m["Body"]) for m in received.get("Messages", [])]


VALIDATION = {
    "manifest": "s3://intake/reviews/a.jsonl",
    "lines": 24,
    "accepted": 20,
    "rejected": 3,
    "blank": 1,
    "byReason": {"not-json": 1, "object-missing": 1, "wrong-source-kind": 1},
    "rejectsUri": "s3://results/jobs/j/rejects.jsonl",
    "repeated": 0,
}


def test_publish_states_what_validation_rejected_everywhere_a_user_looks(
    aws: dict[str, str],
) -> None:
    s3 = handler_support.client("s3")
    _stage_publish_inputs()
    rejects = b'{"line": 3, "reason": "not-json"}\n'
    s3.put_object(Bucket="results", Key="jobs/j/rejects.jsonl", Body=rejects)
    queue = _subscribe(aws["TOPIC_ARN"])

    event = {**publish_event(), "validation": VALIDATION}
    summary = publish_handler.lambda_handler(event, Context())  # type: ignore[arg-type]

    # Every summary names the published copy of the rejects, next to the job's output.
    published = {**VALIDATION, "rejectsUri": "s3://results/jobs/j/output/rejects.jsonl"}
    assert summary["validation"] == published
    assert summary["rejectsUri"] == published["rejectsUri"]
    copied = s3.get_object(Bucket="results", Key="jobs/j/output/rejects.jsonl")["Body"].read()
    assert copied == rejects
    report = json.loads(
        s3.get_object(Bucket="results", Key="jobs/j/output/report.json")["Body"].read()
    )
    assert report["validation"] == published
    item = job_item("j")
    assert item is not None
    assert (item["lines"], item["rejected"]) == ({"N": "24"}, {"N": "3"})
    assert item["rejectedByReason"]["M"]["object-missing"] == {"N": "1"}
    assert item["rejectsUri"] == {"S": "s3://results/jobs/j/output/rejects.jsonl"}
    (message,) = _messages(queue)
    assert json.loads(message)["validation"] == published


def test_publish_reads_validation_json_when_the_event_has_no_counts(aws: dict[str, str]) -> None:
    s3 = handler_support.client("s3")
    _stage_publish_inputs()
    s3.put_object(Bucket="results", Key="jobs/j/validation.json", Body=json.dumps(VALIDATION))

    event = {k: v for k, v in publish_event().items() if k != "validation"}
    summary = publish_handler.lambda_handler(event, Context())  # type: ignore[arg-type]

    assert summary["validation"] == VALIDATION
    assert summary["rejectsUri"] is None


def test_a_rejected_manifest_is_recorded_with_what_validation_counted(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from record_failure import handler as failure_handler
    from record_failure.settings import get_settings as failure_settings

    monkeypatch.setenv("RESULTS_BUCKET", "results")
    failure_settings.cache_clear()
    s3 = handler_support.client("s3")
    rejected = {**VALIDATION, "accepted": 0, "rejected": 23}
    s3.put_object(Bucket="results", Key="jobs/j/validation.json", Body=json.dumps(rejected))
    handler_support.client("dynamodb").put_item(
        TableName="jobs", Item={"jobId": {"S": "j"}, "status": {"S": "RUNNING"}}
    )
    queue = _subscribe(aws["TOPIC_ARN"])
    event = {
        "jobId": "j",
        "project": "reviews",
        "error": "ManifestRejected",
        "cause": "no line of s3://intake/reviews/a.jsonl can be labeled",
    }

    try:
        record = failure_handler.lambda_handler(event, Context())  # type: ignore[arg-type]
    finally:
        failure_settings.cache_clear()

    assert record["validation"] == rejected
    item = job_item("j")
    assert item is not None
    assert item["status"] == {"S": "FAILED"}
    assert (item["lines"], item["rejected"], item["accepted"]) == (
        {"N": "24"},
        {"N": "23"},
        {"N": "0"},
    )
    (message,) = _messages(queue)
    assert json.loads(message)["validation"] == rejected


def test_an_url_encoded_key_starts_the_job_of_the_object_really_uploaded(
    aws: dict[str, str],
) -> None:
    s3 = handler_support.client("s3")
    s3.create_bucket(Bucket="intake")
    key = "reviews/my batch+1 été.jsonl"
    s3.put_object(Bucket="intake", Key=key, Body=b'{"source": "x"}\n')
    encoded = "reviews/my+batch%2B1+%C3%A9t%C3%A9.jsonl"

    result = intake_handler.lambda_handler(s3_event(encoded), Context())  # type: ignore[arg-type]

    (execution,) = executions(aws["STATE_MACHINE_ARN"])
    described = handler_support.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"])["key"] == key
    assert result["status"] == "started"
