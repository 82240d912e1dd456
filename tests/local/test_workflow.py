"""The job workflow state machine deployed into the emulator and run end to end."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labelflow.local.deploy import (
    TemplateResolver,
    deploy,
    load_template,
    state_machine_definitions,
)
from labelflow.local.fake_sagemaker import register_workforce
from labelflow.local.server import LocalAws
from labelflow.local.workforce import SimulatedWorker, SimulatedWorkforce
from tests.local.conftest import REPO_ROOT, STACK, remove_intake_trigger

REVIEWS = {
    "r1": ("An absolute joy to use every day.", "positive"),
    "r2": ("Broke after two days and support never answered.", "negative"),
    "r3": ("It is a kettle. It boils water.", "neutral"),
}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _wait_for(condition: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s")


def test_workflow_labels_a_manifest_end_to_end(local_aws: LocalAws, cdk_out: Path) -> None:
    # Given the synthesized stack deployed, a simulated workforce and a manifest in intake
    deployment = deploy(cdk_out, STACK, client=local_aws.client)
    outputs = deployment.outputs
    intake, results = outputs["IntakeBucketName"], outputs["ResultsBucketName"]
    s3, sfn, sagemaker = (local_aws.client(name) for name in ("s3", "stepfunctions", "sagemaker"))
    remove_intake_trigger(local_aws.client("events"))
    register_workforce(
        SimulatedWorkforce(
            workers=[
                SimulatedWorker("private.us-east-1.00000000000000a1", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a2", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a3", 0.0),
            ],
            truth=lambda line: REVIEWS[line["item-id"]][1],
            seed=11,
        ),
        job_prefix="reviews-",
    )
    lines = [{"source": text, "item-id": key} for key, (text, _) in REVIEWS.items()]
    s3.put_object(
        Bucket=intake,
        Key="reviews/batch.jsonl",
        Body="\n".join(json.dumps(line) for line in lines).encode(),
    )

    # When an execution is started and its labeling job runs
    execution = sfn.start_execution(
        stateMachineArn=outputs["WorkflowStateMachineArn"],
        input=json.dumps(
            {
                "bucket": intake,
                "key": "reviews/batch.jsonl",
                "project": "reviews",
                "jobId": "batch-1",
                "taskType": "text-classification",
            }
        ),
    )["executionArn"]

    def job_created() -> list[str]:
        return [
            job["LabelingJobName"]
            for job in sagemaker.list_labeling_jobs()["LabelingJobSummaryList"]
        ]

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        return described if described["status"] in TERMINAL else None

    assert _wait_for(job_created) == ["reviews-batch-1-0"]
    assert local_aws.run_jobs() == ["reviews-batch-1-0"]
    described = _wait_for(ended)

    # Then the execution succeeds with the job's output manifest
    history = sfn.get_execution_history(executionArn=execution)["events"]
    assert described["status"] == "SUCCEEDED", history[-3:]
    output = json.loads(described["output"])
    (job,) = output["jobs"]
    assert job["jobName"] == "reviews-batch-1-0"
    assert job["status"] == "Completed"
    assert job["labelCounters"]["TotalLabeled"] == 3
    uri = job["outputManifestUri"]
    assert uri.startswith(f"s3://{results}/jobs/batch-1/gt/reviews-batch-1-0/")
    body = s3.get_object(Bucket=results, Key=uri.split("/", 3)[3])["Body"].read()
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        key: label for key, (_, label) in REVIEWS.items()
    }
    assert output["validation"]["accepted"] == 3
    assert output["publication"]["outputUri"] == (
        f"s3://{results}/jobs/batch-1/output/output.manifest"
    )

    # And the job's token was stored under its name
    table = outputs["TokensTableName"]
    item = local_aws.client("dynamodb").get_item(
        TableName=table, Key={"jobName": {"S": "reviews-batch-1-0"}}
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
