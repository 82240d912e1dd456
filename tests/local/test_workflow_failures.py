"""How the deployed job workflow ends when a job cannot be (fully) labeled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labelflow.local import fake_sagemaker, patches
from labelflow.local.server import LocalAws
from tests.local.workflow_run import (
    WorkflowRun,
    deployed_workflow,
    register_reviewers,
    review_lines,
    wait_for,
)

KEY = "reviews/batch.jsonl"


@pytest.fixture
def workflow(local_aws: LocalAws, cdk_out: Path) -> WorkflowRun:
    return deployed_workflow(local_aws, cdk_out)


def _execution_failure(workflow: WorkflowRun, execution: str) -> dict[str, Any]:
    """The ``ExecutionFailed`` event's details."""
    (failed,) = [e for e in workflow.history(execution) if e["type"] == "ExecutionFailed"]
    details: dict[str, Any] = failed["executionFailedEventDetails"]
    return details


def test_a_failed_labeling_job_fails_the_job_with_its_reason(workflow: WorkflowRun) -> None:
    # Given a manifest whose labeling job no workforce answers
    workflow.put_manifest(KEY, review_lines())
    notifications = workflow.subscribe()

    # When the job is started and its labeling job runs
    execution = workflow.start("fails-1", KEY)
    workflow.wait_for_labeling_jobs(["reviews-fails-1-0"])
    workflow.aws.run_jobs()
    described = workflow.ended(execution)

    # Then the execution fails with SageMaker's reason, recorded in the jobs table
    sagemaker_reason = workflow.sagemaker.describe_labeling_job(
        LabelingJobName="reviews-fails-1-0"
    )["FailureReason"]
    assert "no simulated workforce is registered" in sagemaker_reason
    reason = f"chunk 0 (labeling job reviews-fails-1-0) failed: {sagemaker_reason}"
    assert described["status"] == "FAILED"
    assert _execution_failure(workflow, execution) == {
        "error": "LabelingJobFailed",
        "cause": reason,
    }
    item = workflow.job_item("fails-1")
    assert (item["status"], item["error"], item["reason"]) == (
        "FAILED",
        "LabelingJobFailed",
        reason,
    )
    # And the failure is announced on the notification topic
    (message,) = wait_for(notifications)
    assert message["_kind"] == "job-failed"
    assert (message["status"], message["error"], message["failedChunks"]) == (
        "FAILED",
        "LabelingJobFailed",
        [0],
    )


def test_a_stopped_labeling_job_stops_the_job(workflow: WorkflowRun) -> None:
    # Given a started job whose labeling job is stopped before it runs
    register_reviewers()
    workflow.put_manifest(KEY, review_lines())
    execution = workflow.start("stops-1", KEY)
    workflow.wait_for_labeling_jobs(["reviews-stops-1-0"])
    workflow.sagemaker.stop_labeling_job(LabelingJobName="reviews-stops-1-0")

    # When the labeling job runs
    workflow.aws.run_jobs()
    described = workflow.ended(execution)

    # Then the job is recorded as STOPPED, and the execution ends in its Fail state
    reason = "chunk 0 (labeling job reviews-stops-1-0) was stopped"
    assert described["status"] == "FAILED"
    assert _execution_failure(workflow, execution) == {
        "error": "LabelingJobStopped",
        "cause": reason,
    }
    item = workflow.job_item("stops-1")
    assert (item["status"], item["error"], item["reason"]) == (
        "STOPPED",
        "LabelingJobStopped",
        reason,
    )
    status = workflow.sagemaker.describe_labeling_job(LabelingJobName="reviews-stops-1-0")
    assert status["LabelingJobStatus"] == "Stopped"


INVALID = [
    ("this is not JSON", "not-json"),
    ('["a", "list"]', "not-an-object"),
    ('{"source-ref": "s3://photos/cat.jpg"}', "wrong-source-for-task"),
    ('{"item-id": "x9"}', "no-source"),
]


def test_a_manifest_without_a_valid_line_is_rejected(workflow: WorkflowRun) -> None:
    # Given a manifest none of whose lines can be labeled
    workflow.put_manifest(KEY, [line for line, _ in INVALID])

    # When the job is started
    execution = workflow.start("rejected-1", KEY)
    described = workflow.ended(execution)

    # Then it fails as ManifestRejected, pointing at the rejects file, which names every line
    rejects_uri = f"s3://{workflow.results}/jobs/rejected-1/rejects.jsonl"
    assert described["status"] == "FAILED"
    failure = _execution_failure(workflow, execution)
    assert failure["error"] == "ManifestRejected"
    assert rejects_uri in failure["cause"]
    item = workflow.job_item("rejected-1")
    assert (item["status"], item["error"]) == ("FAILED", "ManifestRejected")
    assert rejects_uri in item["reason"]
    rejects = workflow.read_lines(rejects_uri)
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (number, reason) for number, (_, reason) in enumerate(INVALID, start=1)
    ]
    assert all(r["detail"] for r in rejects)
    assert workflow.labeling_jobs() == []


def test_a_partly_invalid_manifest_labels_the_valid_lines(workflow: WorkflowRun) -> None:
    # Given a manifest of three reviews with an invalid line before and after each but the last
    register_reviewers()
    reviews = [json.dumps(line) for line in review_lines()]
    lines = [INVALID[0][0], reviews[0], INVALID[3][0], reviews[1], reviews[2]]
    workflow.put_manifest(KEY, lines)

    # When the job runs
    execution = workflow.start("partly-1", KEY)
    workflow.wait_for_labeling_jobs(["reviews-partly-1-0"])
    workflow.aws.run_jobs()
    described = workflow.ended(execution)

    # Then it succeeds with only the valid lines labeled, and the others in the rejects file
    assert described["status"] == "SUCCEEDED", workflow.history(execution)[-3:]
    output = json.loads(described["output"])
    assert (output["validation"]["accepted"], output["validation"]["rejected"]) == (3, 2)
    rows = workflow.read_lines(output["publication"]["outputUri"])
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        "r1": "positive",
        "r2": "negative",
        "r3": "neutral",
    }
    rejects = workflow.read_lines(output["validation"]["rejectsUri"])
    assert [(r["line"], r["reason"]) for r in rejects] == [(1, "not-json"), (3, "no-source")]
    assert workflow.job_item("partly-1")["status"] == "SUCCEEDED"


def _chunk_task_ends(workflow: WorkflowRun, execution: str) -> list[tuple[str, str | None]]:
    """How each attempt of the chunk's StartLabelingJob step ended: event type and error."""
    (run,) = workflow.sfn.list_map_runs(executionArn=execution)["mapRuns"]
    return [
        (event["type"], event.get("taskFailedEventDetails", {}).get("error"))
        for event in patches.map_run_history(run["mapRunArn"])
        if event["type"] in ("TaskFailed", "TaskSucceeded")
    ]


def _start_throttled(workflow: WorkflowRun, job_id: str) -> str:
    register_reviewers()
    workflow.put_manifest(KEY, review_lines())
    return workflow.start(job_id, KEY)


@pytest.fixture
def one_sdk_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions' boto3 clients send each request once.

    botocore retries throttling itself (5 attempts, up to 15 s of real back-off per call);
    with one attempt each refused request reaches the StartLabelingJob step as ``Throttled``,
    whose retries are what these tests look at.
    """
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.mark.usefixtures("one_sdk_attempt")
def test_throttled_job_creation_is_retried_until_it_succeeds(workflow: WorkflowRun) -> None:
    # Given SageMaker refusing the next two CreateLabelingJob requests
    fake_sagemaker.throttle_job_creation(2)

    # When a job is started and its labeling job runs
    execution = _start_throttled(workflow, "throttled-1")
    workflow.wait_for_labeling_jobs(["reviews-throttled-1-0"])
    workflow.aws.run_jobs()
    described = workflow.ended(execution)

    # Then the step was retried past both refusals and the job succeeded
    history = workflow.history(execution)
    assert described["status"] == "SUCCEEDED", history[-3:]
    assert fake_sagemaker.throttled_job_creations() == 2
    assert _chunk_task_ends(workflow, execution) == [
        ("TaskFailed", "Throttled"),
        ("TaskFailed", "Throttled"),
        ("TaskSucceeded", None),
    ]


@pytest.mark.usefixtures("one_sdk_attempt")
def test_endless_throttling_fails_the_job_after_the_retries(workflow: WorkflowRun) -> None:
    # Given SageMaker refusing every CreateLabelingJob request
    fake_sagemaker.throttle_job_creation(None)

    # When a job is started
    execution = _start_throttled(workflow, "throttled-2")
    described = workflow.ended(execution)

    # Then the step gave up after its first attempt and 8 retries, creating no labeling job
    assert described["status"] == "FAILED"
    assert _chunk_task_ends(workflow, execution) == [("TaskFailed", "Throttled")] * 9
    assert fake_sagemaker.throttled_job_creations() == 9
    assert workflow.labeling_jobs() == []
    # And the job is recorded as failed, naming the chunk whose labeling job was never
    # created and the Map's own error (under LabelFlow's error name: "States." is reserved)
    item = workflow.job_item("throttled-2")
    assert (item["status"], item["error"], item["reason"]) == (
        "FAILED",
        "JobFailed",
        "chunk 0 (labeling job reviews-throttled-2-0) was never created; "
        f"States.ExceedToleratedFailureThreshold: {patches.MAP_THRESHOLD_CAUSE}",
    )
    assert described["error"] == "JobFailed"
    exited = [
        e["stateExitedEventDetails"]["name"]
        for e in workflow.history(execution)
        if e["type"] == "TaskStateExited"
    ]
    assert exited[-1] == "Record failure"
