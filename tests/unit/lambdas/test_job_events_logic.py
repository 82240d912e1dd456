"""Which labeling job an event says has ended."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError
from job_events.logic import DETAIL_TYPE, JobEvent
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


def test_settings() -> None:
    assert Settings.from_env({"TOKENS_TABLE": "t"}).tokens_table == "t"
    with pytest.raises(SettingsError, match="TOKENS_TABLE"):
        Settings.from_env({})
