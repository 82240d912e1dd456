"""The Publish step's audit log and cost, in-process against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

import handler_support
from publish_job import handler as publish_handler
from publish_job.settings import get_settings

REGION = "us-east-1"
PROJECT = "pets"
JOB = "pets-j-0"
FOLDER = f"jobs/j/gt/{JOB}"
AUDIT_KEY = f"audit/{PROJECT}/j/{JOB}.jsonl"
META = {"type": "groundtruth/custom", "job-name": f"labeling-job/{JOB}", "human-annotated": "yes"}


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "request-1"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    get_settings.cache_clear()
    handler_support.reset_clients()
    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name=REGION)
        for bucket in ("results", "artifacts", "audit"):
            client.create_bucket(Bucket=bucket)
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="notes")["TopicArn"]
        for key, value in {
            "RESULTS_BUCKET": "results",
            "ARTIFACTS_BUCKET": "artifacts",
            "AUDIT_BUCKET": "audit",
            "JOBS_TABLE": "jobs",
            "TOPIC_ARN": topic,
        }.items():
            monkeypatch.setenv(key, value)
        yield client
    get_settings.cache_clear()
    handler_support.reset_clients()


def event(**extra: Any) -> dict[str, Any]:
    return {
        "jobId": "j",
        "project": PROJECT,
        "taskType": "image-classification",
        "jobs": [
            {
                "jobName": JOB,
                "status": "Completed",
                "outputManifestUri": f"s3://results/{FOLDER}/manifests/output/output.manifest",
            }
        ],
        **extra,
    }


def answer(worker: str, label: str) -> dict[str, Any]:
    return {
        "acceptanceTime": "2026-11-28T07:58:02.114Z",
        "answerContent": {"crowd-image-classifier": {"label": label}},
        "submissionTime": "2026-11-28T07:58:41.903Z",
        "timeSpentInSeconds": 39.8,
        "workerId": worker,
        "workerMetadata": {
            "identityData": {"identityProviderType": "Cognito", "issuer": "i", "sub": f"s-{worker}"}
        },
    }


def skill_document(worker: str, answers: int, accuracy: float) -> bytes:
    workers = [{"worker": worker, "answers": answers, "accuracy": accuracy}]
    return json.dumps({"project": PROJECT, "workers": workers}).encode()


def put_job(s3: Any) -> None:
    """A finished labeling job in Ground Truth's layout: 2 items, 3 answers, 1 skill document."""
    value = {"class-name": "dog", "class-id": 0, "confidence": 0.9, "workers": 2, "method": "mv"}
    lines = [
        {"source-ref": "s3://in/a.jpg", PROJECT: value, f"{PROJECT}-metadata": META},
        {
            "source-ref": "s3://in/b.jpg",
            PROJECT: {"no-consensus": True, "reason": "tie", "workers": 1, "method": "mv"},
            f"{PROJECT}-metadata": META,
        },
    ]
    s3.put_object(
        Bucket="results",
        Key=f"{FOLDER}/manifests/output/output.manifest",
        Body="".join(json.dumps(row) + "\n" for row in lines).encode(),
    )
    responses = {"0": [answer("w1", "dog"), answer("w2", "dog")], "1": [answer("w3", "cat")]}
    for object_id, answers in responses.items():
        s3.put_object(
            Bucket="results",
            Key=f"{FOLDER}/annotations/worker-response/iteration-1/{object_id}/2026-11-28_07:58:41.json",
            Body=json.dumps({"answers": answers}).encode(),
        )
    request = [
        {"datasetObjectId": str(i), "dataObject": {"s3Uri": row["source-ref"]}, "annotations": []}
        for i, row in enumerate(lines)
    ]
    s3.put_object(
        Bucket="results",
        Key=f"{FOLDER}/annotations/consolidated-annotation/consolidation-request/iteration-1/t.json",
        Body=json.dumps(request).encode(),
    )
    s3.put_object(
        Bucket="artifacts",
        Key=f"skills/{PROJECT}/{JOB}/0123456789abcdef.json",
        Body=skill_document("w1", 2, 1.0),
    )


def publish(**extra: Any) -> dict[str, Any]:
    summary: dict[str, Any] = publish_handler.lambda_handler(event(**extra), Context())  # type: ignore[arg-type]
    return summary


def read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def job_item() -> dict[str, Any]:
    item: dict[str, Any] = handler_support.client("dynamodb").get_item(
        TableName="jobs", Key={"jobId": {"S": "j"}}
    )["Item"]
    return item


def test_publish_writes_one_audit_record_per_answer_with_a_checksum(s3: Any) -> None:
    put_job(s3)

    summary = publish(workforce={"type": "public", "priceUsdPerTask": 0.012})

    rows = [json.loads(line) for line in read(s3, "audit", AUDIT_KEY).decode().splitlines()]
    assert [(r["datasetObjectId"], r["workerId"], r["source"]) for r in rows] == [
        ("0", "w1", "s3://in/a.jpg"),
        ("0", "w2", "s3://in/a.jpg"),
        ("1", "w3", "s3://in/b.jpg"),
    ]
    assert rows[2]["consolidation"]["status"] == "no-consensus"
    assert rows[0]["workerIdentity"]["sub"] == "s-w1"
    head = s3.head_object(Bucket="audit", Key=AUDIT_KEY, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"]
    assert summary["audit"] == {
        "objects": 1,
        "records": 3,
        "answers": 3,
        "uri": f"s3://audit/audit/{PROJECT}/j/",
    }


def test_publish_adds_the_cost_to_the_summary_the_jobs_table_and_the_report(s3: Any) -> None:
    put_job(s3)

    summary = publish(workforce={"type": "public", "priceUsdPerTask": 0.012})

    assert summary["cost"]["workforceCostUsd"] == 0.036
    assert summary["cost"]["answers"] == 3
    item = job_item()
    assert item["cost"]["M"]["workforceCostUsd"] == {"N": "0.036"}
    assert item["cost"]["M"]["workforce"] == {"S": "public"}
    assert item["auditUri"] == {"S": f"s3://audit/audit/{PROJECT}/j/"}
    report = json.loads(read(s3, "results", "jobs/j/output/report.json"))
    assert report["job_cost"] == summary["cost"]
    assert "<h2>Workforce cost</h2>" in read(s3, "results", "jobs/j/output/report.html").decode()


def test_a_retried_publish_is_idempotent(s3: Any) -> None:
    put_job(s3)
    first = publish()
    audit_before = s3.head_object(Bucket="audit", Key=AUDIT_KEY)["ETag"]

    again = publish()

    assert s3.head_object(Bucket="audit", Key=AUDIT_KEY)["ETag"] == audit_before
    assert again == first


def test_a_different_existing_audit_log_is_never_overwritten(s3: Any) -> None:
    put_job(s3)
    s3.put_object(Bucket="audit", Key=AUDIT_KEY, Body=b'{"record": "answer"}\n')

    with pytest.raises(publish_handler.AuditConflictError, match="different content"):
        publish()

    assert read(s3, "audit", AUDIT_KEY) == b'{"record": "answer"}\n'
    assert "Contents" not in s3.list_objects_v2(Bucket="results", Prefix="jobs/j/output/")
    assert "Item" not in handler_support.client("dynamodb").get_item(
        TableName="jobs", Key={"jobId": {"S": "j"}}
    )


def test_moto_enforces_conditional_puts(s3: Any) -> None:
    """Pins what the audit log relies on: moto 5.2.5 refuses a put whose condition fails."""
    s3.put_object(Bucket="artifacts", Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(s3.exceptions.ClientError) as created:
        s3.put_object(Bucket="artifacts", Key="k", Body=b"2", IfNoneMatch="*")
    with pytest.raises(s3.exceptions.ClientError) as stale:
        s3.put_object(Bucket="artifacts", Key="k", Body=b"3", IfMatch='"0000"')
    etag = s3.head_object(Bucket="artifacts", Key="k")["ETag"]
    s3.put_object(Bucket="artifacts", Key="k", Body=b"4", IfMatch=etag)

    assert created.value.response["Error"]["Code"] == "PreconditionFailed"
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    assert read(s3, "artifacts", "k") == b"4"
