"""What the reconciliation sweep decides for one waiting labeling job, and how it counts."""

from __future__ import annotations

from typing import Any

import pytest

from job_contracts.tokens import Failure, Success, WaitingStep
from job_contracts.tokens import labeling_job_outcome as outcome
from reconcile_jobs.logic import (
    MISSING_JOB_ERROR,
    MISSING_JOB_GRACE_SECONDS,
    Resume,
    SweepReport,
    Wait,
    classify_error,
    decide,
    tally,
)
from reconcile_jobs.settings import Settings

STORED = 1_700_000_000
ROW = WaitingStep(
    job_name="reviews-batch-1-0",
    task_token="token-1",
    job_id="",
    project="",
    stored_at=STORED,
    expires_at=0,
)


def test_a_waiting_step_is_read_from_its_item() -> None:
    item = {
        "jobName": {"S": "reviews-batch-1-0"},
        "taskToken": {"S": "token-1"},
        "storedAt": {"N": str(STORED)},
    }

    assert WaitingStep.from_item(item) == ROW


@pytest.mark.parametrize(
    "described",
    [
        {
            "LabelingJobStatus": "Completed",
            "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://results/out.manifest"},
            "LabelCounters": {"TotalLabeled": 4},
        },
        {"LabelingJobStatus": "Failed", "FailureReason": "template not found"},
        {"LabelingJobStatus": "Stopped"},
    ],
)
def test_an_ended_job_resumes_with_what_the_event_would_send(described: dict[str, Any]) -> None:
    decision = decide(ROW, described, now=STORED + 10)

    assert decision == Resume(outcome(ROW.job_name, described))  # type: ignore[arg-type]


def test_a_completed_job_resumes_with_success_and_its_output() -> None:
    decision = decide(
        ROW,
        {"LabelingJobStatus": "Completed", "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://o"}},
        now=STORED,
    )

    assert isinstance(decision, Resume)
    assert isinstance(decision.result, Success)
    assert decision.result.output["outputManifestUri"] == "s3://o"


@pytest.mark.parametrize("status", ["Initializing", "InProgress", "Stopping"])
def test_a_running_job_is_left_waiting(status: str) -> None:
    assert decide(ROW, {"LabelingJobStatus": status}, now=STORED + 86_400) == Wait("in-progress")


def test_a_missing_job_within_the_grace_period_may_not_be_created_yet() -> None:
    now = STORED + MISSING_JOB_GRACE_SECONDS - 1

    assert decide(ROW, None, now=now) == Wait("awaiting-job")


def test_a_missing_job_after_the_grace_period_fails_its_step_with_a_named_error() -> None:
    decision = decide(ROW, None, now=STORED + MISSING_JOB_GRACE_SECONDS)

    assert isinstance(decision, Resume)
    assert isinstance(decision.result, Failure)
    assert decision.result.error == MISSING_JOB_ERROR == "LabelingJobMissing"
    assert "reviews-batch-1-0 does not exist 3600 s after" in decision.result.cause


def test_the_grace_period_is_a_parameter() -> None:
    assert isinstance(decide(ROW, None, now=STORED + 61, grace_seconds=60), Resume)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ResourceNotFound", "missing"),
        ("ValidationException", "missing"),
        ("ThrottlingException", "throttled"),
        ("TooManyRequestsException", "throttled"),
        ("ProvisionedThroughputExceededException", "throttled"),
        ("AccessDeniedException", "error"),
        (None, "error"),
    ],
)
def test_errors_are_classified(code: str | None, kind: str) -> None:
    assert classify_error(code) == kind


def test_tally_counts_every_outcome() -> None:
    report = tally(
        ["resumed", "resumed", "token-spent", "in-progress", "awaiting-job", "error"],
        stopped_early="throttled",
    )

    assert report == SweepReport(
        checked=6,
        resumed=2,
        token_spent=1,
        in_progress=1,
        awaiting_job=1,
        errors=1,
        stopped_early="throttled",
    )
    assert report.to_dict() == {
        "checked": 6,
        "resumed": 2,
        "tokenSpent": 1,
        "inProgress": 1,
        "awaitingJob": 1,
        "errors": 1,
        "stoppedEarly": "throttled",
    }


def test_an_empty_sweep_counts_nothing() -> None:
    assert tally([], stopped_early=None).to_dict()["checked"] == 0


def test_settings_read_the_tokens_table() -> None:
    assert Settings.from_env({"TOKENS_TABLE": "tokens"}).tokens_table == "tokens"
