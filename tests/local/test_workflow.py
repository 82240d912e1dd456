"""The job workflow state machine deployed into the emulator and run end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from labelflow.local.deploy import TemplateResolver, load_template, state_machine_definitions
from labelflow.local.server import LocalAws
from tests.local.conftest import REPO_ROOT, STACK
from tests.local.workflow_run import (
    REVIEWS,
    deployed_workflow,
    register_reviewers,
    review_lines,
    wait_for,
)


def test_workflow_labels_a_manifest_end_to_end(local_aws: LocalAws, cdk_out: Path) -> None:
    # Given the synthesized stack deployed, a simulated workforce and a manifest in intake
    workflow = deployed_workflow(local_aws, cdk_out)
    register_reviewers()
    workflow.put_manifest("reviews/batch.jsonl", review_lines())

    # When an execution is started and its labeling job runs
    execution = workflow.start("batch-1", "reviews/batch.jsonl")
    assert wait_for(workflow.labeling_jobs) == ["reviews-batch-1-0"]
    assert local_aws.run_jobs() == ["reviews-batch-1-0"]
    described = workflow.ended(execution)

    # Then the execution succeeds with the job's output manifest
    assert described["status"] == "SUCCEEDED", workflow.history(execution)[-3:]
    output = json.loads(described["output"])
    (job,) = output["jobs"]
    assert job["jobName"] == "reviews-batch-1-0"
    assert job["status"] == "Completed"
    assert job["labelCounters"]["TotalLabeled"] == 3
    uri = job["outputManifestUri"]
    assert uri.startswith(f"s3://{workflow.results}/jobs/batch-1/gt/reviews-batch-1-0/")
    rows = workflow.read_lines(uri)
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        key: label for key, (_, label) in REVIEWS.items()
    }
    assert output["validation"]["accepted"] == 3
    assert output["publication"]["outputUri"] == (
        f"s3://{workflow.results}/jobs/batch-1/output/output.manifest"
    )

    # And the job's token was stored under its name
    item = local_aws.client("dynamodb").get_item(
        TableName=workflow.outputs["TokensTableName"], Key={"jobName": {"S": "reviews-batch-1-0"}}
    )["Item"]
    assert item["jobId"] == {"S": "batch-1"}


def test_state_machine_definitions_pass_asl_validator(cdk_out: Path, tmp_path: Path) -> None:
    resolver = TemplateResolver(load_template(cdk_out, STACK), stack_name=STACK)
    definitions = state_machine_definitions(resolver)
    assert definitions
    for logical_id, definition in definitions.items():
        path = tmp_path / f"{logical_id}.asl.json"
        path.write_text(json.dumps(definition))
        result = subprocess.run(
            ["npx", "--no-install", "asl-validator", "--json-path", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{logical_id}: {result.stdout}{result.stderr}"
