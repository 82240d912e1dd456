"""Manifests dropped into the intake bucket of the emulator start, and publish, one job each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labelflow.local import patches
from labelflow.local.deploy import deploy
from labelflow.local.server import LocalAws
from tests.local.conftest import STACK
from tests.local.workflow_run import (
    REVIEWS,
    TERMINAL,
    WorkflowRun,
    register_reviewers,
    review_lines,
    wait_for,
)

KEY = "reviews/batch.jsonl"


def _manifest() -> bytes:
    return "\n".join(json.dumps(line) for line in review_lines()).encode()


def _replay(events: Any, intake: str, s3: Any) -> None:
    """Deliver the manifest's upload event once more, as EventBridge may."""
    events.put_events(
        Entries=[
            {
                "Source": "aws.s3",
                "DetailType": "Object Created",
                "Detail": json.dumps(_drop_event(intake, s3)["detail"]),
            }
        ]
    )
    patches.drain_async_invocations()


def _drop_event(intake: str, s3: Any) -> dict[str, Any]:
    head = s3.head_object(Bucket=intake, Key=KEY)
    return {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "version": "0",
            "bucket": {"name": intake},
            "object": {
                "key": KEY,
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "version-id": head.get("VersionId"),
            },
        },
    }


def test_a_dropped_manifest_is_labeled_and_published(local_aws: LocalAws, cdk_out: Path) -> None:
    # Given the stack deployed and a simulated workforce
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    intake, results = outputs["IntakeBucketName"], outputs["ResultsBucketName"]
    machine = outputs["WorkflowStateMachineArn"]
    s3, sfn, events = (local_aws.client(name) for name in ("s3", "stepfunctions", "events"))
    register_reviewers()

    # When a manifest is dropped into intake, and its upload event is delivered once more
    s3.put_object(Bucket=intake, Key=KEY, Body=_manifest())
    patches.drain_async_invocations()
    _replay(events, intake, s3)

    # Then exactly one execution runs, and ends with the job's output published
    (execution,) = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    job_id = execution["name"]
    wait_for(lambda: local_aws.run_jobs() == [f"reviews-{job_id}-0"])

    def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        return found if found["status"] in TERMINAL else None

    described = wait_for(ended)
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    assert described["status"] == "SUCCEEDED", history[-3:]
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    publication = json.loads(described["output"])["publication"]
    assert publication["items"] == 3
    prefix = f"jobs/{job_id}/output/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=results, Prefix=prefix)["Contents"]}
    assert {
        f"{prefix}output.manifest",
        f"{prefix}report.html",
        f"{prefix}report.json",
        f"{prefix}exports/labels.csv",
        f"{prefix}exports/excluded.csv",
    } <= keys
    body = s3.get_object(Bucket=results, Key=f"{prefix}output.manifest")["Body"].read()
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        key: label for key, (_, label) in REVIEWS.items()
    }
    item = local_aws.client("dynamodb").get_item(
        TableName=outputs["JobsTableName"], Key={"jobId": {"S": job_id}}
    )["Item"]
    assert item["status"] == {"S": "SUCCEEDED"}


def test_an_unknown_project_is_rejected_and_starts_nothing(
    local_aws: LocalAws, cdk_out: Path
) -> None:
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    intake, results = outputs["IntakeBucketName"], outputs["ResultsBucketName"]
    s3, sfn = local_aws.client("s3"), local_aws.client("stepfunctions")

    s3.put_object(Bucket=intake, Key="pets/batch.jsonl", Body=_manifest())
    patches.drain_async_invocations()

    record = wait_for(
        lambda: s3.list_objects_v2(Bucket=results, Prefix="rejected/").get("Contents")
    )
    assert [o["Key"] for o in record] == ["rejected/pets/batch.jsonl.json"]
    body = s3.get_object(Bucket=results, Key="rejected/pets/batch.jsonl.json")["Body"].read()
    assert json.loads(body) == {
        "bucket": intake,
        "key": "pets/batch.jsonl",
        "reason": "project 'pets' is not configured",
    }
    executions = sfn.list_executions(stateMachineArn=outputs["WorkflowStateMachineArn"])
    assert executions["executions"] == []


def test_an_event_replayed_after_the_job_ended_starts_nothing(
    local_aws: LocalAws, cdk_out: Path
) -> None:
    # Given a dropped manifest whose job has run to its end
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    run = WorkflowRun(local_aws, outputs)
    intake, machine = outputs["IntakeBucketName"], outputs["WorkflowStateMachineArn"]
    register_reviewers()
    run.s3.put_object(Bucket=intake, Key=KEY, Body=_manifest())
    patches.drain_async_invocations()
    (execution,) = wait_for(lambda: run.sfn.list_executions(stateMachineArn=machine)["executions"])
    wait_for(local_aws.run_jobs)
    assert run.ended(execution["executionArn"])["status"] == "SUCCEEDED"

    # When its upload event is delivered once more
    _replay(local_aws.client("events"), intake, run.s3)

    # Then no second execution starts, and the job stays as it ended
    assert len(run.sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert run.job_item(execution["name"])["status"] == "SUCCEEDED"


def test_an_unknown_projects_manifest_is_announced_and_records_no_job(
    local_aws: LocalAws, cdk_out: Path
) -> None:
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    run = WorkflowRun(local_aws, outputs)
    notifications = run.subscribe()

    run.s3.put_object(Bucket=outputs["IntakeBucketName"], Key="pets/batch.jsonl", Body=_manifest())
    patches.drain_async_invocations()

    (message,) = wait_for(notifications)
    message.pop("_kind")
    assert message == {
        "bucket": outputs["IntakeBucketName"],
        "key": "pets/batch.jsonl",
        "reason": "project 'pets' is not configured",
        "_subject": "LabelFlow manifest rejected",
    }
    jobs = local_aws.client("dynamodb").scan(TableName=outputs["JobsTableName"])
    assert jobs["Count"] == 0
