"""A manifest above the stage's per-job limit is labeled as parallel chunks, then united."""

from __future__ import annotations

import json
from pathlib import Path

from labelflow.local.server import LocalAws
from tests.local.conftest import SMALL_CHUNK
from tests.local.workflow_run import REVIEWS, deployed_workflow, register_reviewers, review_lines

MORE_REVIEWS = {
    **REVIEWS,
    "r4": ("Quiet, quick, and the lid never leaks.", "positive"),
    "r5": ("The handle melted on the first use.", "negative"),
}


def test_a_manifest_above_the_job_limit_runs_one_job_per_chunk(
    local_aws: LocalAws, small_chunks_cdk_out: Path
) -> None:
    # Given a stage labeling at most two items per job, and a manifest of five
    workflow = deployed_workflow(local_aws, small_chunks_cdk_out)
    register_reviewers(MORE_REVIEWS)
    workflow.put_manifest("reviews/big.jsonl", review_lines(MORE_REVIEWS))

    # When the job runs
    execution = workflow.start("big-1", "reviews/big.jsonl")
    names = [f"reviews-big-1-{index}" for index in range(3)]
    workflow.wait_for_labeling_jobs(names)
    assert sorted(local_aws.run_jobs()) == names
    described = workflow.ended(execution)

    # Then three chunks of at most two items were labeled, one labeling job each
    assert described["status"] == "SUCCEEDED", workflow.history(execution)[-3:]
    output = json.loads(described["output"])
    chunks = output["validation"]["chunks"]
    assert [(c["index"], c["first"], c["count"]) for c in chunks] == [
        (0, 0, 2),
        (1, 2, 2),
        (2, 4, 1),
    ]
    assert all(c["count"] <= SMALL_CHUNK for c in chunks)
    assert sorted(job["jobName"] for job in output["jobs"]) == names
    per_chunk = {
        job["jobName"]: {row["item-id"] for row in workflow.read_lines(job["outputManifestUri"])}
        for job in output["jobs"]
    }
    assert per_chunk == {
        "reviews-big-1-0": {"r1", "r2"},
        "reviews-big-1-1": {"r3", "r4"},
        "reviews-big-1-2": {"r5"},
    }
    # And the job's output manifest is their union, every item labeled
    rows = workflow.read_lines(output["publication"]["outputUri"])
    assert len(rows) == len(MORE_REVIEWS)
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        key: label for key, (_, label) in MORE_REVIEWS.items()
    }
    assert workflow.job_item("big-1")["status"] == "SUCCEEDED"
