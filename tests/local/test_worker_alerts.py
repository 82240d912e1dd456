"""Worker alerts in the emulator: every function acts as its own role, and IAM decides."""

from __future__ import annotations

import json
from pathlib import Path

from labelflow.local.server import LocalAws
from tests.local.workflow_run import deployed_workflow, register_reviewers, review_lines, wait_for

BAD = "private.us-east-1.00000000000000a3"


def test_a_worker_who_is_always_wrong_is_flagged_once_mid_job(
    local_aws: LocalAws, alerts_cdk_out: Path
) -> None:
    # Given a stage whose project flags workers, and two right workers and a wrong one
    workflow = deployed_workflow(local_aws, alerts_cdk_out)
    notifications = workflow.subscribe()
    register_reviewers()
    workflow.put_manifest("reviews/batch.jsonl", review_lines())

    # When a job runs
    execution = workflow.start("batch-1", "reviews/batch.jsonl")
    assert wait_for(workflow.labeling_jobs) == ["reviews-batch-1-0"]
    assert local_aws.run_jobs() == ["reviews-batch-1-0"]
    described = workflow.ended(execution)

    # Then the job succeeds, and the project's subscribers heard of the wrong worker once
    assert described["status"] == "SUCCEEDED", workflow.history(execution)[-3:]
    flags = [n for n in notifications() if n["_kind"] == "worker-flagged"]
    assert [(f["worker"], f["jobName"], f["answers"]) for f in flags] == [
        (BAD, "reviews-batch-1-0", 3)
    ]
    assert flags[0]["_subject"] == "LabelFlow: worker flagged in reviews-batch-1-0"
    marker = local_aws.client("s3").get_object(
        Bucket=workflow.outputs["ArtifactsBucketName"],
        Key=f"alerts/reviews/reviews-batch-1-0/{BAD}.json",
    )
    assert json.loads(marker["Body"].read())["accuracy"] == 0.0
