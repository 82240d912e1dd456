"""The reconciliation sweep, in-process against moto DynamoDB and the SageMaker fakes.

Labeling jobs are real (fake) Ground Truth jobs: created through the SageMaker API, run by
:mod:`labelflow.local.fake_sagemaker` to Completed, Failed or Stopped, or left Initializing.
Step Functions is :class:`Tokens`, which accepts each open task token once and answers
``TaskTimedOut`` afterwards, as Step Functions does for a task that has already ended.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler_support
from job_events import handler as events_handler
from job_events.logic import DETAIL_TYPE
from job_events.settings import get_settings
from labelflow.local import fake_sagemaker
from labelflow.local.workforce import WorkerAnswer, WorkerTask
from reconcile_jobs import handler as sweep
from reconcile_jobs.logic import MISSING_JOB_GRACE_SECONDS
from tests.handlers.fakes import fake_clients

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "tokens"
BUCKET = "results"
MANIFEST = f"s3://{BUCKET}/jobs/batch-1/chunks/0.manifest"


@dataclass
class Context:
    remaining_ms: int = 300_000
    function_name: str = "reconcile"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reconcile"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class NoAnswers:
    """A work team that answers nothing: the job still completes."""

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]:
        return []


class Tokens:
    """Step Functions' task-token calls: each open token resumes its step once."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.error: str | None = None
        self.on_send: Callable[[], None] | None = None

    def send_task_success(self, **kwargs: Any) -> None:
        self._send("success", kwargs)

    def send_task_failure(self, **kwargs: Any) -> None:
        self._send("failure", kwargs)

    def _send(self, kind: str, kwargs: dict[str, Any]) -> None:
        if self.on_send is not None:
            self.on_send()
        if self.error:
            raise ClientError({"Error": {"Code": self.error}}, kind)
        if kwargs["taskToken"] not in self.open:
            raise ClientError({"Error": {"Code": "TaskTimedOut"}}, kind)
        self.open.remove(kwargs["taskToken"])
        self.sent.append((kind, kwargs))


def _clear_caches() -> None:
    get_settings.cache_clear()
    handler_support.reset_clients()


@pytest.fixture
def states(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tokens]:
    monkeypatch.setenv("TOKENS_TABLE", TABLE)
    _clear_caches()
    fake_sagemaker.install()
    tokens = Tokens()
    fake_clients(monkeypatch, sweep, events_handler, stepfunctions=tokens)
    try:
        with mock_aws():
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "jobName", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "jobName", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(
                Bucket=BUCKET,
                Key="jobs/batch-1/chunks/0.manifest",
                Body=b'{"source": "great product"}\n',
            )
            s3.put_object(
                Bucket=BUCKET,
                Key="template.liquid.html",
                Body=b'<crowd-form><crowd-classifier name="tone"></crowd-classifier></crowd-form>',
            )
            yield tokens
    finally:
        fake_sagemaker.uninstall()
        fake_sagemaker.runner().stop()
        fake_sagemaker.clear_workforces()
        _clear_caches()


def create_job(name: str) -> None:
    boto3.client("sagemaker").create_labeling_job(
        LabelingJobName=name,
        LabelAttributeName="tone",
        InputConfig={"DataSource": {"S3DataSource": {"ManifestS3Uri": MANIFEST}}},
        OutputConfig={"S3OutputPath": f"s3://{BUCKET}/jobs/batch-1/gt/"},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/labeling",
        HumanTaskConfig={
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/team",
            "UiConfig": {"UiTemplateS3Uri": f"s3://{BUCKET}/template.liquid.html"},
            "TaskTitle": "Tone",
            "TaskDescription": "Choose the tone",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
        },
    )


def ended_job(name: str, status: str) -> None:
    """Create a job and run it to ``status``."""
    create_job(name)
    if status == "Completed":
        fake_sagemaker.register_workforce(NoAnswers(), job_prefix=name)
    elif status == "Stopped":
        boto3.client("sagemaker").stop_labeling_job(LabelingJobName=name)
    fake_sagemaker.runner().run_pending()
    described = boto3.client("sagemaker").describe_labeling_job(LabelingJobName=name)
    assert described["LabelingJobStatus"] == status


def wait_for(tokens: Tokens, name: str, *, stored_ago: int = 60) -> str:
    """Store a waiting step's token for job ``name``, as StartLabelingJob does."""
    token = f"token-{name}"
    stored = int(time.time()) - stored_ago
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "jobName": {"S": name},
            "taskToken": {"S": token},
            "jobId": {"S": "batch-1"},
            "project": {"S": "reviews"},
            "expiresAt": {"N": str(stored + 30 * 24 * 3600)},
            "storedAt": {"N": str(stored)},
        },
    )
    tokens.open.add(token)
    return token


def stored_token(name: str) -> str | None:
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"jobName": {"S": name}})
    return item["Item"]["taskToken"]["S"] if "Item" in item else None


def run_sweep(context: Context | None = None) -> dict[str, Any]:
    return sweep.lambda_handler({}, context or Context())  # type: ignore[arg-type]


def job_event(name: str, status: str = "Completed") -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": DETAIL_TYPE,
        "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}"],
        "detail": {"LabelingJobStatus": status},
    }


def test_the_sweep_resumes_ended_jobs_and_leaves_running_ones(states: Tokens) -> None:
    # Given three ended jobs and one still running, each with a waiting step
    for name, status in (("done", "Completed"), ("broken", "Failed"), ("halted", "Stopped")):
        ended_job(name, status)
        wait_for(states, name)
    create_job("running")
    wait_for(states, "running")

    # When the sweep runs
    result = run_sweep()

    # Then the ended jobs' steps are resumed as job_events would, and the running one waits
    assert result == {
        "checked": 4,
        "resumed": 3,
        "tokenSpent": 0,
        "inProgress": 1,
        "awaitingJob": 0,
        "errors": 0,
        "stoppedEarly": None,
    }
    sent = {kwargs["taskToken"]: (kind, kwargs) for kind, kwargs in states.sent}
    kind, success = sent["token-done"]
    assert kind == "success"
    output = json.loads(success["output"])
    assert output["jobName"] == "done"
    assert output["status"] == "Completed"
    assert output["outputManifestUri"].endswith("/done/manifests/output/output.manifest")
    assert sent["token-broken"][1]["error"] == "LabelingJobFailed"
    assert "no simulated workforce" in sent["token-broken"][1]["cause"]
    assert sent["token-halted"][1]["error"] == "LabelingJobStopped"
    assert "token-running" not in sent


def test_resumed_rows_are_deleted_and_waiting_rows_kept(states: Tokens) -> None:
    ended_job("done", "Completed")
    wait_for(states, "done")
    create_job("running")
    wait_for(states, "running")

    run_sweep()

    assert stored_token("done") is None
    assert stored_token("running") == "token-running"


def test_a_missing_job_fails_its_step_after_the_grace_period(states: Tokens) -> None:
    wait_for(states, "vanished", stored_ago=MISSING_JOB_GRACE_SECONDS + 60)
    wait_for(states, "starting", stored_ago=30)

    result = run_sweep()

    assert (result["resumed"], result["awaitingJob"]) == (1, 1)
    ((kind, sent),) = states.sent
    assert kind == "failure"
    assert sent["taskToken"] == "token-vanished"
    assert sent["error"] == "LabelingJobMissing"
    assert stored_token("vanished") is None
    assert stored_token("starting") == "token-starting"


def test_label_studio_jobs_are_left_to_their_own_sweep(states: Tokens) -> None:
    # Given a Label Studio job's token, long past the missing-job grace period
    wait_for(states, "ls-job", stored_ago=MISSING_JOB_GRACE_SECONDS + 60)
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"jobName": {"S": "ls-job"}},
        UpdateExpression="SET backend = :backend",
        ExpressionAttributeValues={":backend": {"S": "label-studio"}},
    )

    result = run_sweep()

    # Then SageMaker is not asked about it and its step keeps waiting
    assert result["checked"] == 0
    assert states.sent == []
    assert stored_token("ls-job") == "token-ls-job"


def test_event_then_sweep_resumes_once(states: Tokens) -> None:
    # Given a completed job whose event already resumed the step
    ended_job("done", "Completed")
    wait_for(states, "done")
    first = events_handler.lambda_handler(job_event("done"), Context())  # type: ignore[arg-type]
    assert first == {"jobName": "done", "sent": "success"}

    # When the sweep runs afterwards
    result = run_sweep()

    # Then it finds the token spent, sends nothing more and clears the row
    assert (result["resumed"], result["tokenSpent"], result["errors"]) == (0, 1, 0)
    assert [kind for kind, _ in states.sent] == ["success"]
    assert stored_token("done") is None


def test_sweep_then_event_resumes_once(states: Tokens) -> None:
    ended_job("done", "Completed")
    wait_for(states, "done")

    assert run_sweep()["resumed"] == 1
    late = events_handler.lambda_handler(job_event("done"), Context())  # type: ignore[arg-type]

    assert late == {"jobName": "done", "sent": "unknown-job"}
    assert [kind for kind, _ in states.sent] == ["success"]


def test_two_sweeps_resume_once(states: Tokens) -> None:
    ended_job("done", "Completed")
    wait_for(states, "done")

    run_sweep()
    again = run_sweep()

    assert again["checked"] == 0
    assert len(states.sent) == 1


def test_a_token_replaced_by_a_retried_step_is_kept(states: Tokens) -> None:
    # Given a step retried while the sweep resumes it: the retry stores a new token
    ended_job("done", "Completed")
    wait_for(states, "done")

    def retry_step() -> None:
        states.on_send = None
        wait_for(states, "done")  # same job, new write
        boto3.client("dynamodb").update_item(
            TableName=TABLE,
            Key={"jobName": {"S": "done"}},
            UpdateExpression="SET taskToken = :token",
            ExpressionAttributeValues={":token": {"S": "token-retried"}},
        )
        states.open.add("token-retried")

    states.on_send = retry_step

    # When the sweep resumes the old token
    run_sweep()

    # Then the new token stays for the next sweep, which resumes it
    assert stored_token("done") == "token-retried"
    assert run_sweep()["resumed"] == 1
    assert [kwargs["taskToken"] for _, kwargs in states.sent] == ["token-done", "token-retried"]


class ThrottlingSageMaker:
    """Describes the first job, then answers ThrottlingException."""

    def __init__(self, calls_allowed: int) -> None:
        self.calls = 0
        self.calls_allowed = calls_allowed

    def describe_labeling_job(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls > self.calls_allowed:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "DescribeLabelingJob",
            )
        return boto3.client("sagemaker").describe_labeling_job(**kwargs)


def test_throttling_stops_the_sweep_early_without_failing(
    states: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three ended jobs and SageMaker throttling after the first describe
    for name in ("a", "b", "c"):
        ended_job(name, "Stopped")
        wait_for(states, name)
    throttling = ThrottlingSageMaker(calls_allowed=1)
    fake_clients(monkeypatch, sweep, stepfunctions=states, sagemaker=throttling)

    # When the sweep runs
    result = run_sweep()

    # Then it stops at the throttled describe, reports it, and leaves the rest for later
    assert throttling.calls == 2
    assert result["stoppedEarly"] == "throttled"
    assert (result["checked"], result["resumed"], result["errors"]) == (1, 1, 0)
    assert sum(stored_token(name) is not None for name in ("a", "b", "c")) == 2

    # And the next run continues where SageMaker lets it
    fake_clients(monkeypatch, sweep, stepfunctions=states)
    assert run_sweep()["resumed"] == 2


def test_throttled_task_responses_also_stop_the_sweep(states: Tokens) -> None:
    ended_job("done", "Completed")
    token = wait_for(states, "done")
    states.error = "ThrottlingException"

    result = run_sweep()

    assert result["stoppedEarly"] == "throttled"
    assert stored_token("done") == token


def test_the_clients_back_off_before_giving_up(
    states: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: dict[str, Any] = {}

    def client(service: str, **options: Any) -> Any:
        made[service] = handler_support.client(service, **options)
        return states if service == "stepfunctions" else made[service]

    monkeypatch.setattr(sweep, "client", client)
    ended_job("done", "Completed")
    wait_for(states, "done")

    assert run_sweep()["resumed"] == 1

    assert sorted(made) == ["dynamodb", "sagemaker", "stepfunctions"]
    for made_client in made.values():
        retries: dict[str, Any] = getattr(made_client.meta.config, "retries", {})
        assert retries["mode"] == "standard"
        assert retries.get("total_max_attempts") == sweep.MAX_ATTEMPTS == 5


def test_the_sweep_stops_before_running_out_of_time(states: Tokens) -> None:
    ended_job("done", "Completed")
    wait_for(states, "done")

    result = run_sweep(Context(remaining_ms=sweep.TIME_RESERVE_MS - 1))

    assert (result["checked"], result["stoppedEarly"]) == (0, "time")
    assert states.sent == []


class DenyingSageMaker:
    def describe_labeling_job(self, **kwargs: Any) -> Any:
        if kwargs["LabelingJobName"] == "forbidden":
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeLabelingJob")
        return boto3.client("sagemaker").describe_labeling_job(**kwargs)


def test_failed_items_are_counted_the_rest_reconciled_and_the_sweep_fails(
    states: Tokens, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job the sweep may not describe, a malformed item and a job that ended
    fake_clients(monkeypatch, sweep, stepfunctions=states, sagemaker=DenyingSageMaker())
    wait_for(states, "forbidden")
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"jobName": {"S": "no-token"}})
    ended_job("done", "Completed")
    wait_for(states, "done")

    # When the sweep runs, it fails after reconciling what it could
    with pytest.raises(sweep.SweepError, match="2 of 3 waiting jobs failed"):
        run_sweep()

    # Then the ended job was resumed, and the counts were logged before failing
    assert [kwargs["taskToken"] for _, kwargs in states.sent] == ["token-done"]
    (summary,) = [r for r in caplog.records if r.getMessage() == "reconciliation sweep done"]
    assert (summary.checked, summary.resumed, summary.errors) == (3, 1, 2)  # type: ignore[attr-defined]
    assert stored_token("forbidden") == "token-forbidden"
