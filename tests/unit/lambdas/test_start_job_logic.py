"""The intake trigger's pure core: parsing the S3 event and the start decision."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError, ProjectConfig
from job_contracts.layout import rejection_key
from job_contracts.steps import JobInput
from start_job.logic import ManifestDrop, Reject, Start, decide
from start_job.settings import Settings, SettingsError

PROJECTS = {"reviews": ProjectConfig(name="reviews", task_type="text-classification")}
ENVIRONMENT = {
    "LABELFLOW_PROJECTS": '{"reviews": {"task_type": "text-classification", "labels": ["a", "b"]}}',
    "RESULTS_BUCKET": "results",
    "JOBS_TABLE": "jobs",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:notifications",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:workflow",
}


def s3_event(key: str, *, version: str | None = "v1", etag: str = "abc") -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": 10, "etag": etag}
    if version is not None:
        obj["version-id"] = version
    return {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"version": "0", "bucket": {"name": "intake"}, "object": obj},
    }


def test_from_event_reads_bucket_key_version_and_etag() -> None:
    drop = ManifestDrop.from_event(s3_event("reviews/a.jsonl"))

    assert drop == ManifestDrop("intake", "reviews/a.jsonl", "v1", "abc")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"source": "aws.sagemaker", "detail-type": "Object Created"}, "not an S3"),
        ({"source": "aws.s3", "detail-type": "Object Created", "detail": []}, "detail"),
        (
            {"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {}}},
            "bucket.name",
        ),
    ],
)
def test_from_event_rejects_other_shapes(event: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        ManifestDrop.from_event(event)


def test_a_known_project_starts_its_job() -> None:
    drop = ManifestDrop.from_event(s3_event("reviews/batch/a.manifest"))

    decision = decide(drop, PROJECTS)

    assert isinstance(decision, Start)
    assert decision.project == "reviews"
    assert decision.execution_input == {
        "bucket": "intake",
        "key": "reviews/batch/a.manifest",
        "versionId": "v1",
        "project": "reviews",
        "jobId": decision.job_id,
        "taskType": "text-classification",
        "workforce": {"type": "private"},
        "backend": "ground-truth",
    }
    assert JobInput.from_event(decision.execution_input).job_id == decision.job_id


def test_an_unversioned_object_has_no_version_id_in_the_input() -> None:
    decision = decide(ManifestDrop.from_event(s3_event("reviews/a.jsonl", version=None)), PROJECTS)

    assert isinstance(decision, Start)
    assert "versionId" not in decision.execution_input


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("pets/a.jsonl", "project 'pets' is not configured"),
        ("a.jsonl", "no project prefix"),
        ("reviews/a.csv", "not a manifest"),
    ],
)
def test_other_keys_are_rejected(key: str, reason: str) -> None:
    decision = decide(ManifestDrop.from_event(s3_event(key)), PROJECTS)

    assert isinstance(decision, Reject)
    assert reason in decision.reason
    assert decision.record() == {"bucket": "intake", "key": key, "reason": decision.reason}


@pytest.mark.parametrize(
    ("key", "project"),
    [("pets/a.jsonl", "pets"), ("reviews/a.csv", "reviews"), ("a.jsonl", None), ("/a.jsonl", None)],
)
def test_a_rejection_names_the_project_of_the_keys_first_segment(
    key: str, project: str | None
) -> None:
    decision = decide(ManifestDrop.from_event(s3_event(key)), PROJECTS)

    assert isinstance(decision, Reject)
    assert decision.project == project


def test_rejection_key_keeps_the_whole_key() -> None:
    assert rejection_key("pets/x/a.jsonl") == "rejected/pets/x/a.jsonl.json"


def test_settings_parse() -> None:
    settings = Settings.from_env(ENVIRONMENT)

    assert settings.jobs_table == "jobs"
    assert settings.labelflow_projects["reviews"].task_type == "text-classification"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JOBS_TABLE", ""),
        ("TOPIC_ARN", "notifications"),
        ("STATE_MACHINE_ARN", ""),
        ("RESULTS_BUCKET", "s3://results"),
        ("LABELFLOW_PROJECTS", "[]"),
    ],
)
def test_settings_name_a_bad_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({**ENVIRONMENT, variable: value})
