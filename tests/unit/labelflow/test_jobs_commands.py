"""The job commands' arguments, errors and AWS look-ups (moto in-process, no emulator)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from labelflow.cli import main
from labelflow.jobs import CommandError, StackInfo
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
