"""Why a job failed: the record the workflow keeps and sends."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError
from job_contracts.steps import FailureRequest, ValidationSummary
from record_failure.logic import MAX_REASON, ChunkJob, involves_labeling_jobs, summarize


def request(**overrides: Any) -> FailureRequest:
    event = {
        "jobId": "batch-1",
        "project": "reviews",
        "error": "States.ExceedToleratedFailureThreshold",
        "cause": "The specified tolerated failure threshold was exceeded",
        "chunks": [{"index": 0}, {"index": 1}],
        **overrides,
    }
    return FailureRequest.from_event(event)


def test_a_rejected_manifest_keeps_its_cause() -> None:
    rejected = request(error="ManifestRejected", cause="every line was rejected", chunks=None)
    assert not involves_labeling_jobs(rejected)
    record = summarize(rejected, []).as_dict(rejected, None)
    assert record == {
        "jobId": "batch-1",
        "project": "reviews",
        "status": "FAILED",
        "error": "ManifestRejected",
        "reason": "every line was rejected",
        "failedChunks": [],
        "validation": None,
    }


def test_the_record_carries_what_validation_counted() -> None:
    rejected = request(error="ManifestRejected", cause="every line was rejected", chunks=None)
    counts = ValidationSummary(
        manifest="s3://intake/reviews/a.jsonl",
        lines=4,
        rejected=4,
        by_reason={"not-json": 3, "object-missing": 1},
        rejects_uri="s3://results/jobs/batch-1/rejects.jsonl",
    )

    record = summarize(rejected, []).as_dict(rejected, counts)

    assert record["validation"] == {
        "manifest": "s3://intake/reviews/a.jsonl",
        "lines": 4,
        "accepted": 0,
        "rejected": 4,
        "blank": 0,
        "byReason": {"not-json": 3, "object-missing": 1},
        "rejectsUri": "s3://results/jobs/batch-1/rejects.jsonl",
        "repeated": 0,
    }


def test_a_failed_chunk_is_named_with_its_labeling_job_and_reason() -> None:
    failed = request()
    assert involves_labeling_jobs(failed)
    jobs = [
        ChunkJob(0, "reviews-batch-1-0", "Completed"),
        ChunkJob(1, "reviews-batch-1-1", "Failed", "ClientError: template not found"),
    ]
    record = summarize(failed, jobs)
    assert record.status == "FAILED"
    assert record.error == "LabelingJobFailed"
    assert record.failed_chunks == (1,)
    assert record.reason == (
        "chunk 1 (labeling job reviews-batch-1-1) failed: ClientError: template not found; "
        "1 other chunk(s) did not end badly; their output is kept"
    )


def test_stopped_jobs_without_failures_stop_the_job() -> None:
    jobs = [ChunkJob(0, "a", "Stopped"), ChunkJob(1, "b", "Stopped")]
    record = summarize(request(), jobs)
    assert (record.status, record.error, record.failed_chunks) == (
        "STOPPED",
        "LabelingJobStopped",
        (0, 1),
    )
    assert record.reason.startswith("chunk 0 (labeling job a) was stopped; chunk 1")


def test_step_functions_errors_get_labelflows_name_and_keep_theirs_in_the_reason() -> None:
    record = summarize(request(error="States.Timeout", cause=""), [])
    assert (record.status, record.error, record.reason) == (
        "FAILED",
        "JobFailed",
        "States.Timeout",
    )


def test_a_chunk_whose_labeling_job_was_never_created_is_named() -> None:
    record = summarize(request(), [ChunkJob(0, "a", "Completed"), ChunkJob(1, "b", None)])
    assert record.error == "JobFailed"
    assert record.failed_chunks == (1,)
    assert record.reason == (
        "chunk 1 (labeling job b) was never created; States.ExceedToleratedFailureThreshold: "
        "The specified tolerated failure threshold was exceeded"
    )


def test_long_reasons_are_cut() -> None:
    record = summarize(request(error="X", cause="y" * (MAX_REASON + 50)), [])
    assert len(record.reason) == MAX_REASON
    assert record.reason.endswith("…")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"jobId": "a/b"}, "jobId"),
        ({"project": ""}, "project"),
        ({"chunks": "0"}, "chunks"),
        ({"chunks": [{"index": -1}]}, r"chunks\[0\].index"),
    ],
)
def test_malformed_events_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError, match=field):
        request(**overrides)
