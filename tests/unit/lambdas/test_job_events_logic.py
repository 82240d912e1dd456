"""What a labeling job's end sends to the waiting workflow step."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError
from job_events.logic import DETAIL_TYPE, MAX_CAUSE, Failure, JobEvent, Success, outcome
from job_events.settings import Settings, SettingsError

ARN = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/reviews-batch-1-0"


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": DETAIL_TYPE,
        "resources": [ARN],
        "detail": {"LabelingJobStatus": "Completed"},
        **overrides,
    }


def test_event_names_the_job_and_status() -> None:
    assert JobEvent.from_event(event()) == JobEvent("reviews-batch-1-0", "Completed")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": "aws.s3"}, "not a labeling-job state change"),
        ({"resources": []}, "resources"),
        ({"resources": ["arn:aws:s3:::bucket"]}, "resources"),
        ({"detail": {}}, "LabelingJobStatus"),
    ],
)
def test_event_rejects_other_events(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        JobEvent.from_event(event(**overrides))


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


def test_settings() -> None:
    assert Settings.from_env({"TOKENS_TABLE": "t"}).tokens_table == "t"
    with pytest.raises(SettingsError, match="TOKENS_TABLE"):
        Settings.from_env({})
