"""Running the deployed job workflow by hand in the emulator, for the workflow tests.

:func:`deployed_workflow` deploys a synthesized stage, detaches the intake trigger (the tests
start executions themselves) and returns a :class:`WorkflowRun` that puts manifests into the
intake bucket, starts executions, runs the fake labeling jobs and reads what the workflow
left behind: the execution's history, the jobs-table item and files in the results bucket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelflow.local.deploy import deploy
from labelflow.local.fake_sagemaker import register_workforce
from labelflow.local.server import LocalAws
from labelflow.local.workforce import SimulatedWorker, SimulatedWorkforce
from tests.local.conftest import STACK, remove_intake_trigger

__all__ = [
    "REVIEWS",
    "TERMINAL",
    "WorkflowRun",
    "deployed_workflow",
    "register_reviewers",
    "review_lines",
    "wait_for",
]

REVIEWS = {
    "r1": ("An absolute joy to use every day.", "positive"),
    "r2": ("Broke after two days and support never answered.", "negative"),
    "r3": ("It is a kettle. It boils water.", "neutral"),
}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def wait_for(condition: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    """Poll ``condition`` every 0.2 s until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s")


def review_lines(reviews: Mapping[str, tuple[str, str]] = REVIEWS) -> list[dict[str, Any]]:
    """Manifest lines of text reviews: ``{"source": <text>, "item-id": <key>}``."""
    return [{"source": text, "item-id": key} for key, (text, _) in reviews.items()]


def register_reviewers(truth: Mapping[str, tuple[str, str]] = REVIEWS) -> None:
    """Three simulated workers (two always right) for the ``reviews`` project's jobs."""
    register_workforce(
        SimulatedWorkforce(
            workers=[
                SimulatedWorker("private.us-east-1.00000000000000a1", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a2", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a3", 0.0),
            ],
            truth=lambda line: truth[line["item-id"]][1],
            seed=11,
        ),
        job_prefix="reviews-",
    )


@dataclass
class WorkflowRun:
    """The deployed workflow of one test, and the clients to drive and inspect it."""

    aws: LocalAws
    outputs: Mapping[str, str]

    def __post_init__(self) -> None:
        self.s3 = self.aws.client("s3")
        self.sfn = self.aws.client("stepfunctions")
        self.sagemaker = self.aws.client("sagemaker")

    @property
    def results(self) -> str:
        return self.outputs["ResultsBucketName"]

    def put_manifest(self, key: str, lines: Iterable[Mapping[str, Any] | str]) -> None:
        """Put a manifest into the intake bucket; strings are written as they are."""
        text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
        self.s3.put_object(Bucket=self.outputs["IntakeBucketName"], Key=key, Body=text.encode())

    def start(self, job_id: str, key: str, *, project: str = "reviews") -> str:
        """Start an execution for the manifest at ``key``, as the intake trigger would."""
        arn: str = self.sfn.start_execution(
            stateMachineArn=self.outputs["WorkflowStateMachineArn"],
            name=job_id,
            input=json.dumps(
                {
                    "bucket": self.outputs["IntakeBucketName"],
                    "key": key,
                    "project": project,
                    "jobId": job_id,
                    "taskType": "text-classification",
                }
            ),
        )["executionArn"]
        return arn

    def labeling_jobs(self) -> list[str]:
        """The names of the labeling jobs created so far, sorted."""
        summaries = self.sagemaker.list_labeling_jobs(MaxResults=100)["LabelingJobSummaryList"]
        return sorted(job["LabelingJobName"] for job in summaries)

    def wait_for_labeling_jobs(self, names: list[str]) -> None:
        """Wait until exactly the labeling jobs ``names`` exist."""
        wait_for(lambda: self.labeling_jobs() == sorted(names))

    def ended(self, execution: str) -> dict[str, Any]:
        """The execution, described, once it has ended."""

        def described() -> dict[str, Any] | None:
            found: dict[str, Any] = self.sfn.describe_execution(executionArn=execution)
            return found if found["status"] in TERMINAL else None

        result: dict[str, Any] = wait_for(described)
        return result

    def history(self, execution: str) -> list[dict[str, Any]]:
        """Every event of the execution's history, oldest first."""
        events: list[dict[str, Any]] = []
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution)
        for page in pages:
            events.extend(page["events"])
        return events

    def job_item(self, job_id: str) -> dict[str, str]:
        """The jobs-table item of ``job_id``, its string attributes as plain strings."""
        item = self.aws.client("dynamodb").get_item(
            TableName=self.outputs["JobsTableName"], Key={"jobId": {"S": job_id}}
        )["Item"]
        return {name: value["S"] for name, value in item.items() if "S" in value}

    def subscribe(self) -> Callable[[], list[dict[str, Any]]]:
        """Subscribe a queue to the notification topic; return a reader of its messages.

        The reader returns the messages received so far (each the published JSON, with the
        SNS ``Subject`` and the ``kind`` attribute, or None, added as ``_subject`` and
        ``_kind``).
        """
        sqs = self.aws.client("sqs")
        queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.aws.client("sns").subscribe(
            TopicArn=self.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=queue_arn
        )
        received: list[dict[str, Any]] = []

        def read() -> list[dict[str, Any]]:
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                envelope = json.loads(message["Body"])
                body = json.loads(envelope["Message"])
                body["_subject"] = envelope.get("Subject")
                kind = envelope.get("MessageAttributes", {}).get("kind", {})
                body["_kind"] = kind.get("Value")
                received.append(body)
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return list(received)

        return read

    def read_lines(self, uri_or_key: str) -> list[dict[str, Any]]:
        """The JSON lines of a results-bucket file, by ``s3://`` URI or by key."""
        key = uri_or_key.split("/", 3)[3] if uri_or_key.startswith("s3://") else uri_or_key
        body = self.s3.get_object(Bucket=self.results, Key=key)["Body"].read()
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def deployed_workflow(local_aws: LocalAws, cdk_out: Path) -> WorkflowRun:
    """Deploy the stage in ``cdk_out`` without its intake trigger; the tests start jobs."""
    outputs = deploy(cdk_out, STACK, client=local_aws.client).outputs
    remove_intake_trigger(local_aws.client("events"))
    return WorkflowRun(local_aws, outputs)
