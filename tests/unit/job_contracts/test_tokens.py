"""The task-token store and resume: one writer, case-insensitive names, one outcome type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gt_contracts import ContractError
from job_contracts.tokens import (
    LABEL_STUDIO,
    MAX_CAUSE,
    THROTTLING_ERRORS,
    Failure,
    Success,
    Throttled,
    TokenStore,
    WaitingStep,
    completed,
    error_code,
    send_outcome,
)
from job_contracts.tokens import labeling_job_outcome as outcome

TABLE = "tokens"


def step(**overrides: Any) -> WaitingStep:
    fields: dict[str, Any] = {
        "job_name": "Reviews-AB12-0",
        "task_token": "token-1",
        "job_id": "ab12",
        "project": "reviews",
        "stored_at": 1_700_000_000,
        "expires_at": 1_700_900_000,
    }
    return WaitingStep(**{**fields, **overrides})


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenStore]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "jobName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield TokenStore(dynamodb, TABLE)


def test_a_step_is_found_whatever_the_case_ground_truth_sends(store: TokenStore) -> None:
    assert store.put(step()) is True

    # Ground Truth lower-cases job names in its events' ARNs.
    found = store.get("reviews-ab12-0")

    assert found == step()
    assert store.get("REVIEWS-AB12-0") == step()
    assert store.get("reviews-ab12-1") is None


def test_a_retried_step_replaces_the_token_and_keeps_the_first_deadline(
    store: TokenStore,
) -> None:
    studio = {"backend": LABEL_STUDIO, "label_studio_project": 7, "manifest_uri": "s3://r/c"}
    assert store.put(step(deadline=100, **studio)) is True

    assert store.put(step(task_token="token-2", deadline=999, **studio)) is False

    found = store.get("reviews-ab12-0")
    assert found is not None
    assert (found.task_token, found.deadline, found.label_studio_project) == ("token-2", 100, 7)


def test_forget_keeps_a_token_a_retried_step_stored_meanwhile(store: TokenStore) -> None:
    store.put(step())
    store.put(step(task_token="token-2"))

    assert store.forget(step()) is False
    assert store.get("reviews-ab12-0") is not None
    assert store.forget(step(task_token="token-2")) is True
    assert store.get("reviews-ab12-0") is None


def test_one_finish_holds_the_claim_until_it_is_released(store: TokenStore) -> None:
    store.put(step())
    now = 1_700_000_100

    assert store.claim(step(), now) is True
    assert store.claim(step(), now + 10) is False
    store.release(step())
    assert store.claim(step(), now + 20) is True
    assert store.claim(step(task_token="old"), now + 30) is False


def test_a_stale_claim_is_taken_over(store: TokenStore) -> None:
    store.put(step())
    assert store.claim(step(), 1_000)

    assert store.claim(step(), 1_000 + 1801) is True


def test_scan_separates_the_backends(store: TokenStore) -> None:
    store.put(step())
    store.put(
        step(
            job_name="notes-ab12-0",
            backend=LABEL_STUDIO,
            label_studio_project=3,
            deadline=5,
            manifest_uri="s3://r/c",
        )
    )

    ground_truth = [WaitingStep.from_item(i).job_name for i in store.scan(backend=None)]
    studio = [WaitingStep.from_item(i).job_name for i in store.scan(backend=LABEL_STUDIO)]

    assert (ground_truth, studio) == (["Reviews-AB12-0"], ["notes-ab12-0"])
    found = store.find_label_studio_project(3)
    assert found is not None
    assert found.job_name == "notes-ab12-0"
    assert store.find_label_studio_project(4) is None


def test_throttling_is_raised_as_the_error_the_workflow_retries() -> None:
    class Throttling:
        def update_item(self, **_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )

    with pytest.raises(Throttled, match="ProvisionedThroughputExceededException"):
        TokenStore(Throttling(), TABLE).put(step())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"taskToken": {"S": ""}}, "taskToken"),
        ({"jobName": None}, "jobName"),
        ({"storedAt": {"S": "soon"}}, "storedAt"),
        ({"storedAt": {"N": "1.5e9"}}, "a number is malformed"),
        ({"backend": {"S": LABEL_STUDIO}}, "labelStudioProjectId"),
    ],
)
def test_malformed_items_are_refused_naming_the_attribute(
    overrides: dict[str, Any], message: str
) -> None:
    item = {
        "jobName": {"S": "reviews-1"},
        "taskToken": {"S": "token-1"},
        "storedAt": {"N": "1700000000"},
        **overrides,
    }
    with pytest.raises(ContractError, match=message):
        WaitingStep.from_item({k: v for k, v in item.items() if v is not None})


class StepFunctions:
    """Accepts a token once; answers TaskTimedOut afterwards."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def _take(self, token: str) -> None:
        if any(sent == token for sent, _ in self.sent):
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "x"}}, "Send")

    def send_task_success(self, *, taskToken: str, output: str) -> None:
        self._take(taskToken)
        self.sent.append((taskToken, json.loads(output)))

    def send_task_failure(self, *, taskToken: str, error: str, cause: str) -> None:
        self._take(taskToken)
        self.sent.append((taskToken, (error, cause)))


def test_an_outcome_is_sent_once_and_a_spent_token_fails_nothing() -> None:
    sfn = StepFunctions()
    result = completed("j", "s3://r/out.manifest", {"TotalLabeled": 2})

    assert send_outcome(sfn, "t", result) == "success"
    assert send_outcome(sfn, "t", result) == "token-spent"
    assert send_outcome(sfn, "u", Failure("LabelingJobFailed", "why")) == "failure"
    assert send_outcome(sfn, "v", None) == "not-ended"
    assert sfn.sent == [
        ("t", {"jobName": "j", "status": "Completed", "outputManifestUri": "s3://r/out.manifest",
               "labelCounters": {"TotalLabeled": 2}}),
        ("u", ("LabelingJobFailed", "why")),
    ]  # fmt: skip


def test_error_codes_are_read_from_client_errors_only() -> None:
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "Op")

    assert error_code(throttled) == "ThrottlingException"
    assert error_code(ValueError("x")) is None
    assert "ThrottlingException" in THROTTLING_ERRORS


def test_completed_job_sends_its_output() -> None:
    described = {
        "LabelingJobStatus": "Completed",
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://r/out.manifest"},
        "LabelCounters": {"TotalLabeled": 3, "HumanLabeled": 3},
    }
    assert outcome("job", described) == Success(
        {
            "jobName": "job",
            "status": "Completed",
            "outputManifestUri": "s3://r/out.manifest",
            "labelCounters": {"TotalLabeled": 3, "HumanLabeled": 3},
        }
    )


def test_failed_job_sends_its_failure_reason() -> None:
    described = {"LabelingJobStatus": "Failed", "FailureReason": "x" * (MAX_CAUSE + 5)}
    result = outcome("job", described)
    assert isinstance(result, Failure)
    assert result.error == "LabelingJobFailed"
    assert result.cause == "x" * MAX_CAUSE


def test_stopped_job_sends_labeling_job_stopped() -> None:
    assert outcome("job", {"LabelingJobStatus": "Stopped"}) == Failure(
        "LabelingJobStopped", "labeling job job stopped"
    )


@pytest.mark.parametrize("status", ["InProgress", "Initializing", "Stopping"])
def test_running_job_sends_nothing(status: str) -> None:
    assert outcome("job", {"LabelingJobStatus": status}) is None
