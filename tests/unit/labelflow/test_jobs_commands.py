"""The job commands' arguments, errors and AWS look-ups (moto in-process, no emulator)."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from job_contracts.worker_alerts import FlaggedWorker, WorkerFlag
from labelflow import jobs_cli
from labelflow.cli import main
from labelflow.jobs import CommandError, JobRecord, StackInfo, WorkflowView
from labelflow.jobs_aws import JobsAws, find_local_stack, find_stack
from start_job.logic import ManifestDrop, Start, decide
from tests.unit.lambdas.test_start_job_logic import PROJECTS


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty AWS configuration, so nothing of this machine's leaks into a test."""
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["local", "up", "--worker-accuracy", "1.5"], "worker accuracy must be from 0 to 1"),
        (["local", "up", "--workers", "0"], "expected at least 1"),
        (["submit", "pets"], "the following arguments are required: manifest"),
        (["submit", "pets", "a.jsonl", "--interval", "0"], "expected a positive number"),
        (["status", "--limit", "many"], "expected a whole number"),
        (["results"], "the following arguments are required: job"),
        (["local"], "the following arguments are required: ACTION"),
    ],
)
def test_argument_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["submit", "status", "results", "report", "local"])
def test_help_teaches_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "examples:" in capsys.readouterr().out


def test_status_watch_needs_a_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--watch"]) == 2
    assert "--watch needs a job id" in capsys.readouterr().err


def test_submit_refuses_a_missing_file_before_looking_for_the_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", "pets", str(tmp_path / "nope.jsonl")]) == 2
    assert f"no manifest file {tmp_path / 'nope.jsonl'}" in capsys.readouterr().err


def test_submit_refuses_an_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["submit", "pets", str(empty)]) == 2
    assert "is empty" in capsys.readouterr().err


def test_submit_refuses_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", "pets", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


@mock_aws
def test_a_missing_stack_names_the_region_and_profile_tried(
    no_aws_config: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--stage", "prod", "--region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert "no stack named labelflow-prod-Labeling (region eu-west-1, profile default)" in err
    assert "--local" in err


@mock_aws
def test_find_stack_reads_the_outputs() -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    template = {
        "Resources": {"Intake": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "IntakeBucketName": {"Value": {"Ref": "Intake"}},
            "ProjectNames": {"Value": "pets,street-objects"},
        },
    }
    cloudformation.create_stack(
        StackName="labelflow-dev-Labeling", TemplateBody=json.dumps(template)
    )

    stack = find_stack("labelflow-dev-Labeling", region="eu-west-1")

    bucket = boto3.client("s3", region_name="eu-west-1").list_buckets()["Buckets"][0]["Name"]
    assert stack.outputs["IntakeBucketName"] == bucket
    assert stack.projects == ("pets", "street-objects")
    assert stack.where == "region eu-west-1, profile default"


def test_find_stack_without_a_region_says_how_to_give_one(
    no_aws_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(CommandError, match="no AWS region: pass --region"):
        find_stack("labelflow-dev-Labeling")


def test_find_stack_with_an_unknown_profile(no_aws_config: None) -> None:
    with pytest.raises(CommandError, match="no AWS profile named 'ml'"):
        find_stack("labelflow-dev-Labeling", profile="ml")


def test_local_stack_without_a_state_file_says_how_to_start_it(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"not running .*labelflow local up"):
        find_local_stack(tmp_path / "local.json")


def test_local_stack_whose_emulator_stopped_says_how_to_start_it(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = tmp_path / "local.json"
    state.write_text(json.dumps({"endpoint": f"http://127.0.0.1:{port}", "outputs": {}}))
    with pytest.raises(CommandError, match=f"nothing answers at http://127.0.0.1:{port}"):
        find_local_stack(state)


@mock_aws
def test_the_printed_job_id_is_the_one_the_intake_trigger_computes(tmp_path: Path) -> None:
    # Given a versioned intake bucket and a manifest
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="intake")
    s3.put_bucket_versioning(Bucket="intake", VersioningConfiguration={"Status": "Enabled"})
    manifest = tmp_path / "batch.jsonl"
    manifest.write_text('{"source": "fine"}\n')
    stack = StackInfo("s", {"IntakeBucketName": "intake"}, "us-east-1", "region us-east-1")

    # When the command uploads it
    upload = JobsAws(stack).upload_manifest(manifest, "reviews/batch.jsonl")

    # Then the id equals what start_job decides from the upload's Object Created event
    head = s3.head_object(Bucket="intake", Key="reviews/batch.jsonl")
    drop = ManifestDrop("intake", "reviews/batch.jsonl", head["VersionId"], head["ETag"].strip('"'))
    decision = decide(drop, PROJECTS)
    assert isinstance(decision, Start)
    assert upload.job_id == decision.job_id
    assert upload.version_id == head["VersionId"]


FLAG = WorkerFlag(
    worker_id="private.us-east-1.w7",
    accuracy=0.41,
    answers=57,
    upper_bound=0.5189,
    threshold=0.6,
    min_answers=20,
)
RUNNING = JobRecord("417297aafeaa353a", "pets", "RUNNING", execution_arn="arn:exec")


def test_the_flagged_workers_of_a_job_are_read_from_its_labeling_jobs_markers() -> None:
    stack = StackInfo("s", {"ArtifactsBucketName": "artifacts"}, "us-east-1", "region us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        for job, worker in (
            ("pets-417297aafeaa353a-0", "private.us-east-1.w7"),
            ("pets-417297aafeaa353a-1", "private.us-east-1.w2"),
            ("pets-0000000000000000-0", "private.us-east-1.other-job"),
        ):
            flag = FlaggedWorker(
                project="pets", job_name=job, flag=dataclasses.replace(FLAG, worker_id=worker)
            )
            s3.put_object(
                Bucket="artifacts",
                Key=f"alerts/pets/{job}/{worker}.json",
                Body=json.dumps(flag.to_json()).encode(),
            )

        flagged = JobsAws(stack).flagged_workers(RUNNING, WorkflowView(chunks=2))

    assert sorted(f.flag.worker_id for f in flagged) == [
        "private.us-east-1.w2",
        "private.us-east-1.w7",
    ]


def test_a_malformed_flag_names_its_object() -> None:
    stack = StackInfo("s", {"ArtifactsBucketName": "artifacts"}, "us-east-1", "region us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        key = "alerts/pets/pets-417297aafeaa353a-0/w7.json"
        s3.put_object(Bucket="artifacts", Key=key, Body=b"{}")

        with pytest.raises(CommandError, match=rf"s3://artifacts/{key} is not a flagged worker"):
            JobsAws(stack).flagged_workers(RUNNING, WorkflowView(chunks=1))


def test_a_job_before_its_chunks_are_planned_has_no_flagged_workers() -> None:
    stack = StackInfo("s", {}, "us-east-1", "region us-east-1")
    assert JobsAws(stack).flagged_workers(RUNNING, WorkflowView(status="RUNNING")) == []


class _Api:
    """What `status <job>` reads, for a running job with one flagged worker."""

    def find_job(self, job: str) -> JobRecord:
        return RUNNING

    def workflow(self, record: JobRecord) -> WorkflowView:
        return WorkflowView(status="RUNNING", stage="Label chunks", chunks=1)

    def labeling_jobs(self, record: JobRecord, workflow: WorkflowView) -> list[object]:
        return []

    def line_counts(self, job_id: str) -> None:
        return None

    def flagged_workers(self, record: JobRecord, workflow: WorkflowView) -> list[FlaggedWorker]:
        return [FlaggedWorker(project="pets", job_name="pets-417297aafeaa353a-0", flag=FLAG)]


def test_status_of_a_job_shows_a_line_per_flagged_worker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(jobs_cli, "_connect", lambda args: _Api())

    assert main(["status", "417297aafeaa353a"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "Flagged    1 worker" in lines
    assert (
        "  worker private.us-east-1.w7 flagged: accuracy 0.41 over 57 answers, below 0.60" in lines
    )


def test_status_json_lists_the_flagged_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(jobs_cli, "_connect", lambda args: _Api())

    assert main(["status", "417297aafeaa353a", "--json"]) == 0

    (flagged,) = json.loads(capsys.readouterr().out)["flaggedWorkers"]
    assert (flagged["worker"], flagged["answers"], flagged["threshold"]) == (
        "private.us-east-1.w7",
        57,
        0.6,
    )
