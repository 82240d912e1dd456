"""The payloads passed between the workflow's states."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError
from job_contracts.steps import (
    JobInput,
    StartRequest,
    ValidationSummary,
    WorkforcePrice,
)


def start_event(**overrides: Any) -> dict[str, Any]:
    return {
        "taskToken": "token-1",
        "jobId": "2026-01.batch_1",
        "project": "reviews",
        "chunk": {"index": 2, "manifestUri": "s3://results/jobs/x/chunks/2.manifest"},
        **overrides,
    }


def test_a_start_request_parses_the_chunk_event() -> None:
    request = StartRequest.from_event(start_event())
    assert request.task_token == "token-1"
    assert request.chunk.index == 2
    assert request.chunk.manifest_uri.endswith("2.manifest")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"taskToken": ""}, "taskToken"),
        ({"jobId": "a/b"}, "jobId"),
        ({"project": None}, "project"),
        ({"chunk": []}, "chunk"),
        ({"chunk": {"index": -1, "manifestUri": "s3://b/k"}}, "chunk.index"),
        ({"chunk": {"index": True, "manifestUri": "s3://b/k"}}, "chunk.index"),
        ({"chunk": {"index": 0, "manifestUri": "https://b/k"}}, "chunk.manifestUri"),
    ],
)
def test_a_start_request_names_a_malformed_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError, match=field):
        StartRequest.from_event(start_event(**overrides))


def test_the_execution_input_round_trips() -> None:
    job = JobInput(
        bucket="intake",
        key="reviews/my batch.jsonl",
        version_id="v1",
        project="reviews",
        job_id="ab12",
        task_type="text-classification",
        workforce=WorkforcePrice("public", 0.036),
        backend="labelstudio",
    )

    assert JobInput.from_event(job.to_json()) == job
    assert job.layout.rejects == "jobs/ab12/rejects.jsonl"
    assert job.uri == "s3://intake/reviews/my batch.jsonl"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key": "other/a.jsonl"}, "not under the project's prefix"),
        ({"key": "reviews/a.csv"}, "must end with .jsonl or .manifest"),
        ({"taskType": "boxes"}, "taskType 'boxes' is not one of"),
        ({"jobId": "-x"}, "jobId"),
        ({"backend": "mturk"}, "backend 'mturk'"),
        ({"workforce": {"type": "crowd"}}, "workforce.type"),
        ({"versionId": ""}, "versionId"),
    ],
)
def test_the_execution_input_names_a_bad_field(overrides: dict[str, Any], message: str) -> None:
    event = {
        "bucket": "intake",
        "key": "reviews/a.jsonl",
        "project": "reviews",
        "jobId": "ab12",
        "taskType": "text-classification",
        **overrides,
    }
    with pytest.raises(ContractError, match=message):
        JobInput.from_event(event)


def test_validation_counts_become_job_record_attributes() -> None:
    counts = ValidationSummary.from_json(
        {
            "manifest": "s3://intake/reviews/a.jsonl",
            "lines": 24,
            "accepted": 20,
            "rejected": 3,
            "blank": 1,
            "byReason": {"not-json": 1, "object-missing": 1, "wrong-source-kind": 1},
            "rejectsUri": "s3://results/jobs/ab12/rejects.jsonl",
            "chunks": [],
        }
    )

    assert counts is not None
    assert ValidationSummary.from_json(counts.to_json()) == counts
    assert counts.item_updates() == {
        "lines": {"N": "24"},
        "accepted": {"N": "20"},
        "rejected": {"N": "3"},
        "blank": {"N": "1"},
        "repeated": {"N": "0"},
        "rejectedByReason": {
            "M": {
                "not-json": {"N": "1"},
                "object-missing": {"N": "1"},
                "wrong-source-kind": {"N": "1"},
            }
        },
        "rejectsUri": {"S": "s3://results/jobs/ab12/rejects.jsonl"},
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"lines": -1}, "validation.lines"),
        ({"rejected": "3"}, "validation.rejected"),
        ({"byReason": {"x": "1"}}, "validation.byReason"),
        ({"rejectsUri": 3}, "validation.rejectsUri"),
        ([], "validation must be an object"),
    ],
)
def test_validation_counts_name_a_bad_field(raw: Any, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        ValidationSummary.from_json(raw)


def test_validation_json_is_read_through_the_client_given(monkeypatch) -> None:
    import boto3
    from moto import mock_aws

    from job_contracts.steps import read_validation

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="results")

        assert read_validation(s3, "results", "ab12") is None

        s3.put_object(Bucket="results", Key="jobs/ab12/validation.json", Body=b'{"lines": 2}')
        found = read_validation(s3, "results", "ab12")
        assert found is not None
        assert found.lines == 2

        s3.put_object(Bucket="results", Key="jobs/ab12/validation.json", Body=b"oops")
        with pytest.raises(ContractError, match="is not JSON"):
            read_validation(s3, "results", "ab12")
