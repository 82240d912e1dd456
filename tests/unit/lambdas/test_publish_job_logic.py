"""The Publish step's pure core: the event, the union and what is written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gt_contracts import ContractError
from job_contracts.layout import skills_prefix
from job_contracts.steps import PublishRequest
from publish_job.audit import build_audit
from publish_job.cost import job_cost
from publish_job.logic import build_publication
from publish_job.settings import Settings, SettingsError

META = {"type": "groundtruth/custom", "job-name": "reviews-j-0", "human-annotated": "yes"}
ENVIRONMENT = {
    "RESULTS_BUCKET": "results",
    "ARTIFACTS_BUCKET": "artifacts",
    "AUDIT_BUCKET": "audit",
    "JOBS_TABLE": "jobs",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:notifications",
}


def label(name: str) -> dict[str, Any]:
    return {"class-name": name, "class-id": 0, "confidence": 0.9, "workers": 3, "method": "mv"}


def line(source: str, value: str) -> str:
    return json.dumps({"source": source, "reviews": label(value), "reviews-metadata": META})


def event(chunks: int = 2) -> dict[str, Any]:
    return {
        "jobId": "j",
        "project": "reviews",
        "taskType": "text-classification",
        "validation": {"accepted": 3},
        "jobs": [
            {
                "jobName": f"reviews-j-{index}",
                "status": "Completed",
                "outputManifestUri": f"s3://results/jobs/j/gt/reviews-j-{index}/output.manifest",
            }
            for index in range(chunks)
        ],
    }


def test_from_event_reads_each_chunk() -> None:
    request = PublishRequest.from_event(event())

    assert request.job_id == "j"
    assert [c.job_name for c in request.chunks] == ["reviews-j-0", "reviews-j-1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobId": "a b"}, "jobId"),
        ({"taskType": "painting"}, "taskType"),
        ({"jobs": []}, "jobs"),
        ({"jobs": [{"jobName": "x", "outputManifestUri": "http://x"}]}, "outputManifestUri"),
        ({"jobs": [{"outputManifestUri": "s3://b/k"}]}, "jobName"),
    ],
)
def test_from_event_names_a_bad_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        PublishRequest.from_event({**event(), **change})


def test_publication_unions_the_chunks_and_writes_output_exports_and_report() -> None:
    request = PublishRequest.from_event(event())
    manifests = [
        f"{line('great', 'positive')}\n{line('bad', 'negative')}\n".encode(),
        f"{line('ok', 'neutral')}\n{line('great', 'positive')}\n".encode(),
    ]
    skills = [b'{"workers": []}', b"not json"]

    audits = [
        build_audit(job_id="j", project="reviews", job_name=c.job_name, manifest=m, responses=[])
        for c, m in zip(request.chunks, manifests, strict=True)
    ]

    publication = build_publication(
        request,
        manifests,
        skills,
        audits=audits,
        results_bucket="results",
        audit_bucket="audit",
        validation=request.validation,
    )

    keys = set(publication.objects)
    assert {
        "jobs/j/output/output.manifest",
        "jobs/j/output/report.json",
        "jobs/j/output/report.html",
        "jobs/j/output/exports/labels.csv",
        "jobs/j/output/exports/excluded.csv",
    } <= keys
    union, content_type = publication.objects["jobs/j/output/output.manifest"]
    assert content_type == "application/jsonlines"
    # Every line of every chunk, the repeated source too, as Ground Truth keeps them.
    assert [json.loads(row)["source"] for row in union.decode().splitlines()] == [
        "great",
        "bad",
        "ok",
        "great",
    ]
    report = json.loads(publication.objects["jobs/j/output/report.json"][0])
    assert report["items"] == 4
    assert report["repeated_sources"] == 1
    assert report["skill_documents"] == 1
    assert publication.objects["jobs/j/output/report.html"][1].startswith("text/html")
    assert publication.summary == {
        "jobId": "j",
        "project": "reviews",
        "taskType": "text-classification",
        "chunks": 2,
        "items": 4,
        "labeled": 4,
        "excluded": 0,
        "skippedSkills": 1,
        "outputUri": "s3://results/jobs/j/output/output.manifest",
        "reportUri": "s3://results/jobs/j/output/report.html",
        "rejectsUri": None,
        "validation": {
            "manifest": None,
            "lines": 0,
            "accepted": 3,
            "rejected": 0,
            "blank": 0,
            "byReason": {},
            "rejectsUri": None,
            "repeated": 0,
        },
        "audit": {"objects": 2, "records": 4, "answers": 0, "uri": "s3://audit/audit/reviews/j/"},
        "cost": job_cost(None, 0),
    }
    assert set(publication.audit) == {
        "audit/reviews/j/reviews-j-0.jsonl",
        "audit/reviews/j/reviews-j-1.jsonl",
    }
    assert report["job_cost"] == job_cost(None, 0)


def test_publication_needs_one_manifest_per_chunk() -> None:
    with pytest.raises(ValueError, match="1 manifests for 2 chunks"):
        build_publication(
            PublishRequest.from_event(event()),
            [b""],
            [],
            audits=[],
            results_bucket="r",
            audit_bucket="a",
        )


def test_skills_prefix_is_per_labeling_job() -> None:
    assert skills_prefix("reviews", "reviews-j-0") == "skills/reviews/reviews-j-0/"


def test_settings_parse_and_name_a_bad_variable() -> None:
    assert Settings.from_env(ENVIRONMENT).artifacts_bucket == "artifacts"
    with pytest.raises(SettingsError, match="TOPIC_ARN"):
        Settings.from_env({**ENVIRONMENT, "TOPIC_ARN": "topic"})


def test_the_rejects_go_out_with_the_job_and_left_out_items_say_why() -> None:
    request = PublishRequest.from_event(event(chunks=1))
    text_line = json.dumps({"source": "a text"})  # no label: Ground Truth left it out
    image_line = json.dumps({"source-ref": "s3://b/a.jpg"})
    manifest = f"{line('great', 'positive')}\n{text_line}\n{image_line}\n".encode()
    audits = [
        build_audit(
            job_id="j", project="reviews", job_name="reviews-j-0", manifest=manifest, responses=[]
        )
    ]
    rejects = b'{"line": 4, "reason": "not-json"}\n'

    publication = build_publication(
        request,
        [manifest],
        [],
        audits=audits,
        results_bucket="results",
        audit_bucket="audit",
        rejects=rejects,
    )

    assert publication.objects["jobs/j/output/rejects.jsonl"] == (rejects, "application/jsonlines")
    assert publication.summary["rejectsUri"] == "s3://results/jobs/j/output/rejects.jsonl"
    excluded = publication.objects["jobs/j/output/exports/excluded.csv"][0].decode()
    assert "a text,unlabeled," in excluded
    assert (
        "s3://b/a.jpg,unlabeled,left out before labeling: project 'reviews' "
        "(text-classification) labels 'source' lines; this is a 'source-ref' line"
    ) in excluded
