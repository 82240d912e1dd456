"""The StartLabelingJob and job-events Lambdas, in-process against moto DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler_support
from job_events import handler as events_handler
from job_events.logic import DETAIL_TYPE
from job_events.settings import get_settings as events_settings
from start_labeling_job import handler as start_handler
from start_labeling_job.settings import get_settings as start_settings
from tests.handlers.fakes import fake_clients
from tests.unit.lambdas.test_start_labeling_job_logic import ENVIRONMENT

TABLE = "tokens"
JOB = "reviews-batch-1-0"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{JOB}"


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "request-1"


class FakeSageMaker:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.described: dict[str, Any] = {"LabelingJobStatus": "Completed"}

    def create_labeling_job(self, **params: Any) -> dict[str, Any]:
        if any(job["LabelingJobName"] == params["LabelingJobName"] for job in self.created):
            raise ClientError({"Error": {"Code": "ResourceInUse"}}, "CreateLabelingJob")
        self.created.append(params)
        return {"LabelingJobArn": ARN}

    def describe_labeling_job(self, LabelingJobName: str) -> dict[str, Any]:
        return self.described


class FakeStates:
    def __init__(self, error: str | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def send_task_success(self, **kwargs: Any) -> None:
        self._send("success", kwargs)

    def send_task_failure(self, **kwargs: Any) -> None:
        self._send("failure", kwargs)

    def _send(self, kind: str, kwargs: dict[str, Any]) -> None:
        if self.error:
            raise ClientError({"Error": {"Code": self.error}}, kind)
        self.sent.append((kind, kwargs))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMaker]:
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    for cached in (start_settings, events_settings):
        cached.cache_clear()
    handler_support.reset_clients()
    sagemaker = FakeSageMaker()
    fake_clients(monkeypatch, start_handler, events_handler, sagemaker=sagemaker)
    with mock_aws():
        handler_support.client("s3").create_bucket(Bucket="results")
        handler_support.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "jobName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield sagemaker
    for cached in (start_settings, events_settings):
        cached.cache_clear()
    handler_support.reset_clients()


def start_event(token: str) -> dict[str, Any]:
    return {
        "taskToken": token,
        "jobId": "batch-1",
        "project": "reviews",
        "chunk": {"index": 0, "manifestUri": "s3://results/jobs/batch-1/chunks/0.manifest"},
    }


def job_event(status: str = "Completed") -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": DETAIL_TYPE,
        "resources": [ARN],
        "detail": {"LabelingJobStatus": status},
    }


def token_of(job: str) -> str | None:
    item = handler_support.client("dynamodb").get_item(TableName=TABLE, Key={"jobName": {"S": job}})
    return item["Item"]["taskToken"]["S"] if "Item" in item else None


def test_start_creates_the_job_and_stores_the_token(aws: FakeSageMaker) -> None:
    result = start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]

    assert result == {"jobName": JOB, "reused": False}
    assert [job["LabelingJobName"] for job in aws.created] == [JOB]
    assert token_of(JOB) == "t1"


def test_a_retried_step_reuses_the_job_and_replaces_the_token(aws: FakeSageMaker) -> None:
    start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]
    result = start_handler.lambda_handler(start_event("t2"), Context())  # type: ignore[arg-type]

    assert result == {"jobName": JOB, "reused": True}
    assert len(aws.created) == 1
    assert token_of(JOB) == "t2"


def test_an_unknown_project_is_rejected(aws: FakeSageMaker) -> None:
    from gt_contracts import ContractError

    with pytest.raises(ContractError, match="nope"):
        start_handler.lambda_handler({**start_event("t"), "project": "nope"}, Context())  # type: ignore[arg-type]


def test_job_events_sends_success_with_the_output(
    aws: FakeSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = FakeStates()
    fake_clients(monkeypatch, events_handler, sagemaker=aws, stepfunctions=states)
    start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]
    aws.described = {
        "LabelingJobStatus": "Completed",
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://r/o.manifest"},
        "LabelCounters": {"TotalLabeled": 3},
    }

    result = events_handler.lambda_handler(job_event(), Context())  # type: ignore[arg-type]

    assert result == {"jobName": JOB, "sent": "success"}
    ((kind, sent),) = states.sent
    assert kind == "success"
    assert sent["taskToken"] == "t1"
    assert json.loads(sent["output"])["outputManifestUri"] == "s3://r/o.manifest"


def test_job_events_sends_failure_with_the_reason(
    aws: FakeSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = FakeStates()
    fake_clients(monkeypatch, events_handler, sagemaker=aws, stepfunctions=states)
    start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]
    aws.described = {"LabelingJobStatus": "Failed", "FailureReason": "no workers"}

    events_handler.lambda_handler(job_event("Failed"), Context())  # type: ignore[arg-type]

    assert states.sent == [
        ("failure", {"taskToken": "t1", "error": "LabelingJobFailed", "cause": "no workers"})
    ]


def test_job_events_ignores_unknown_jobs(
    aws: FakeSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = FakeStates()
    fake_clients(monkeypatch, events_handler, sagemaker=aws, stepfunctions=states)

    result = events_handler.lambda_handler(job_event(), Context())  # type: ignore[arg-type]

    assert result == {"jobName": JOB, "sent": "unknown-job"}
    assert states.sent == []


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken"])
def test_a_repeated_event_after_the_token_was_used_is_harmless(
    aws: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    fake_clients(monkeypatch, events_handler, sagemaker=aws, stepfunctions=FakeStates(code))
    start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]

    result = events_handler.lambda_handler(job_event(), Context())  # type: ignore[arg-type]

    assert result == {"jobName": JOB, "sent": "token-spent"}


def test_other_states_errors_propagate(aws: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    throttled = FakeStates("ThrottlingException")
    fake_clients(monkeypatch, events_handler, sagemaker=aws, stepfunctions=throttled)
    start_handler.lambda_handler(start_event("t1"), Context())  # type: ignore[arg-type]

    with pytest.raises(ClientError):
        events_handler.lambda_handler(job_event(), Context())  # type: ignore[arg-type]
