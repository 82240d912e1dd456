"""Worker alerts from the consolidation Lambda, in-process against moto S3, SNS and EventBridge.

The project votes by majority, so a worker's accuracy is their agreement with the majority:
``good`` and ``fair`` always agree, ``bad`` never does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler_support
from gt_consolidation import check_workers
from job_contracts.skill_store import table_definition
from job_contracts.worker_alerts import RemovalOutcome, WorkerFlag
from post_annotation import handler
from post_annotation.settings import get_settings

REGION = "us-east-1"
GT_BUCKET = "gt-output"
ARTIFACTS = "artifacts"
SKILLS = "skills"
JOB = "reviews-job-0"
LABELS = ["negative", "positive"]
REVIEWS = {
    "task_type": "text-classification",
    "labels": LABELS,
    "method": "majority-vote",
    "worker_alert": {"min_accuracy": 0.6, "min_answers": 10},
}
PROJECTS = {"reviews": REVIEWS, "quiet": {**REVIEWS, "worker_alert": None}}
MARKER = f"alerts/reviews/{JOB}/bad.json"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Buckets, the topic with a project-filtered subscriber queue, and a queue for events."""
    monkeypatch.setenv("LABELFLOW_PROJECTS", json.dumps(PROJECTS))
    monkeypatch.setenv("ARTIFACTS_BUCKET", ARTIFACTS)
    monkeypatch.setenv("SKILLS_TABLE", SKILLS)
    get_settings.cache_clear()
    handler_support.reset_clients()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (GT_BUCKET, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(SKILLS))
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="notes")["TopicArn"]
        notes = _queue("notes")
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=notes["arn"],
            Attributes={
                "RawMessageDelivery": "true",
                "FilterPolicy": json.dumps({"project": ["reviews"]}),
            },
        )
        bus = _queue("bus")
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="flags", EventPattern=json.dumps({"source": ["labelflow"]}))
        events.put_targets(Rule="flags", Targets=[{"Id": "q", "Arn": bus["arn"]}])
        monkeypatch.setenv("TOPIC_ARN", topic)
        get_settings.cache_clear()
        yield {"topic": topic, "notes": notes["url"], "bus": bus["url"]}
    get_settings.cache_clear()
    handler_support.reset_clients()


def _queue(name: str) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return {"url": url, "arn": attributes["Attributes"]["QueueArn"]}


def _received(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10
    )
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def _payload(items: range) -> list[dict[str, Any]]:
    """``good`` and ``fair`` say positive, ``bad`` says negative, on each item."""
    votes = (("good", "positive"), ("fair", "positive"), ("bad", "negative"))
    return [
        {
            "datasetObjectId": str(i),
            "dataObject": {"content": f"review {i}"},
            "annotations": [
                {
                    "workerId": worker,
                    "annotationData": {"content": json.dumps({"tone": {"label": label}})},
                }
                for worker, label in votes
            ],
        }
        for i in items
    ]


def _event(job: str, key: str) -> dict[str, Any]:
    return {
        "version": "2018-10-16",
        "labelingJobArn": f"arn:aws:sagemaker:{REGION}:111122223333:labeling-job/{job}",
        "labelCategories": LABELS,
        "labelAttributeName": "reviews",
        "roleArn": "arn:aws:iam::111122223333:role/gt",
        "payload": {"s3Uri": f"s3://{GT_BUCKET}/{key}"},
    }


def _consolidate(items: range, *, batch: str = "a", job: str = JOB) -> None:
    """One batch of :func:`_payload` through the consolidation Lambda."""
    key = f"{job}/annotations/consolidated-annotation/consolidation-request/{batch}.json"
    body = json.dumps(_payload(items)).encode()
    boto3.client("s3").put_object(Bucket=GT_BUCKET, Key=key, Body=body)
    response = handler.lambda_handler(_event(job, key), _Context())  # type: ignore[arg-type]
    assert len(response) == len(items)


class _Context:
    function_name = "consolidation"
    memory_limit_in_mb = 1769
    invoked_function_arn = f"arn:aws:lambda:{REGION}:111122223333:function:consolidation"
    aws_request_id = "request-1"


def _markers() -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS, Prefix="alerts/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_bad_worker_is_flagged_once_on_the_bus_to_subscribers_and_in_a_marker(aws):
    _consolidate(range(12))

    (event,) = _received(aws["bus"])
    assert (event["source"], event["detail-type"]) == ("labelflow", "LabelFlow Worker Flagged")
    detail = event["detail"]
    assert {k: detail[k] for k in ("project", "jobName", "worker", "answers")} == {
        "project": "reviews",
        "jobName": JOB,
        "worker": "bad",
        "answers": 12,
    }
    assert detail["accuracy"] < detail["upperBound"] < detail["threshold"] == 0.6
    assert detail["removal"] is None
    (note,) = _received(aws["notes"])
    assert note == detail
    assert _markers() == [MARKER]
    marker = boto3.client("s3").get_object(Bucket=ARTIFACTS, Key=MARKER)["Body"].read()
    assert json.loads(marker) == detail


def test_later_batches_and_retries_do_not_flag_the_worker_again(aws):
    _consolidate(range(12), batch="a")
    _received(aws["bus"])
    _received(aws["notes"])

    _consolidate(range(12, 24), batch="b")
    _consolidate(range(12), batch="a")  # Ground Truth retries the first batch

    assert _received(aws["bus"]) == []
    assert _received(aws["notes"]) == []
    assert _markers() == [MARKER]


def test_too_few_answers_flag_nobody_until_the_job_s_batches_add_up(aws):
    _consolidate(range(4), batch="a")
    _consolidate(range(4, 8), batch="b")
    assert _received(aws["bus"]) == []
    assert _markers() == []

    _consolidate(range(8, 12), batch="c")

    (event,) = _received(aws["bus"])
    assert (event["detail"]["worker"], event["detail"]["answers"]) == ("bad", 12)


def test_another_labeling_job_flags_the_worker_again(aws):
    _consolidate(range(12))
    _consolidate(range(12), job="reviews-job-1")

    assert [e["detail"]["jobName"] for e in _received(aws["bus"])] == [JOB, "reviews-job-1"]


def test_a_failed_notification_fails_the_batch_and_its_retry_flags_the_worker(
    aws, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TOPIC_ARN", aws["topic"] + "-gone")
    get_settings.cache_clear()
    with pytest.raises(ClientError, match=r"\(NotFound\)"):
        _consolidate(range(12))
    assert _markers() == []

    monkeypatch.setenv("TOPIC_ARN", aws["topic"])
    get_settings.cache_clear()
    _consolidate(range(12))

    assert len(_received(aws["notes"])) == 1
    assert _markers() == [MARKER]


def test_a_project_without_worker_alert_flags_nobody(aws):
    _consolidate(range(30), job="quiet-job-0")

    assert _received(aws["bus"]) == []
    assert _markers() == []


def test_without_a_topic_the_flag_still_goes_on_the_bus(aws, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TOPIC_ARN")
    get_settings.cache_clear()

    _consolidate(range(12))

    assert [e["detail"]["worker"] for e in _received(aws["bus"])] == ["bad"]
    assert _received(aws["notes"]) == []


def test_a_running_job_s_answers_so_far_flag_and_remove_without_writing_skill(aws):
    # Given answers no consolidation request holds yet (a Label Studio job still running)
    removed: list[str] = []

    def remove(flag: WorkerFlag) -> RemovalOutcome:
        removed.append(flag.worker_id)
        return "removed-from-organization"

    # When its workers are checked
    flagged = check_workers(
        _event(JOB, "never/written.json"),
        _payload(range(12)),
        projects=get_settings().labelflow_projects,
        artifacts_bucket=ARTIFACTS,
        skills_table=SKILLS,
        topic_arn=aws["topic"],
        remove=remove,
    )

    # Then the bad worker is removed, then announced with the outcome, and nothing else is kept
    assert [f.flag.worker_id for f in flagged] == removed == ["bad"]
    (event,) = _received(aws["bus"])
    assert event["detail"]["removal"] == "removed-from-organization"
    assert _markers() == [MARKER]
    listed = boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS, Prefix="skills/")
    assert listed.get("KeyCount", 0) == 0
    stored = boto3.client("dynamodb", region_name=REGION).scan(TableName=SKILLS)
    assert stored["Count"] == 0
