"""Converted Label Studio answers through the real consolidation (post_annotation), moto S3.

Each case is three workers' Label Studio annotations of one item, in the export's shape; the
backend's plan writes them as Ground Truth's consolidation request, and the post-annotation
Lambda's own code consolidates them into the label values of docs/contracts.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

import handler_support
from gt_consolidation import consolidate_request
from gt_contracts import ProjectConfig
from job_contracts.skill_store import table_definition
from labelstudio_backend import aws
from labelstudio_backend.logic import (
    LINE_KEY,
    WaitingJob,
    consolidation_event,
    labeling_job_arn,
    plan_finish,
)

RESULTS = "results"
ARTIFACTS = "artifacts"
SKILLS = "skills"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:labelstudio"


@pytest.fixture
def buckets() -> Iterator[None]:
    handler_support.reset_clients()
    with mock_aws():
        for bucket in (RESULTS, ARTIFACTS):
            boto3.client("s3").create_bucket(Bucket=bucket)
        boto3.client("dynamodb").create_table(**table_definition(SKILLS))
        yield
    handler_support.reset_clients()


def regions(kind: str, value: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"from_name": "answer", "to_name": "x", "type": kind, "value": value, **extra}]


def rect(label: str, x: float, y: float) -> list[dict[str, Any]]:
    value = {"x": x, "y": y, "width": 25, "height": 50, "rotation": 0, "rectanglelabels": [label]}
    return regions("rectanglelabels", value, original_width=400, original_height=200)


def span(label: str, start: int, end: int) -> list[dict[str, Any]]:
    return regions("labels", {"start": start, "end": end, "labels": [label]})


LINE_IMAGE = {"source-ref": "s3://images/dog.png"}
LINE_TEXT = {"source": "Paris in May 2024"}
CASES: dict[str, tuple[ProjectConfig, dict[str, Any], list[list[dict[str, Any]]]]] = {
    "image-classification": (
        ProjectConfig(name="pets", task_type="image-classification", labels=("dog", "cat")),
        LINE_IMAGE,
        [regions("choices", {"choices": [label]}) for label in ("cat", "cat", "dog")],
    ),
    "text-classification-multilabel": (
        ProjectConfig(
            name="topics", task_type="text-classification-multilabel", labels=("travel", "food")
        ),
        LINE_TEXT,
        [
            regions("choices", {"choices": ["travel", "food"]}),
            regions("choices", {"choices": ["travel"]}),
            regions("choices", {"choices": ["travel"]}),
        ],
    ),
    "image-classification-multilabel": (
        ProjectConfig(
            name="tags", task_type="image-classification-multilabel", labels=("dog", "grass")
        ),
        LINE_IMAGE,
        [regions("choices", {"choices": ["dog", "grass"]}) for _ in range(3)],
    ),
    "bounding-box": (
        ProjectConfig(name="boxes", task_type="bounding-box", labels=("dog", "cat")),
        LINE_IMAGE,
        [rect("dog", 10, 10), rect("dog", 10.5, 10), rect("dog", 10, 11)],
    ),
    "named-entity": (
        ProjectConfig(name="ner", task_type="named-entity", labels=("City", "Date")),
        LINE_TEXT,
        [span("City", 0, 5), span("City", 0, 5), span("Date", 9, 17)],
    ),
    "free-text": (
        ProjectConfig(name="captions", task_type="free-text"),
        LINE_IMAGE,
        [regions("textarea", {"text": [text]}) for text in ("a dog", "a dog", "A dog.")],
    ),
    "numeric": (
        ProjectConfig(name="count", task_type="numeric"),
        LINE_IMAGE,
        [regions("number", {"number": n}) for n in (3, 3, 4)],
    ),
}


def run(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan, write and consolidate one case; return the label value and the worker file."""
    project, line, answers = CASES[case]
    job = WaitingJob(
        job_name=f"{project.name}-job-0",
        task_token="t",
        job_id="job",
        project=project.name,
        label_studio_project=1,
        deadline=0,
        manifest_uri=f"s3://{RESULTS}/jobs/job/chunks/0.manifest",
        stored_at=0,
    )
    data = {LINE_KEY: 0, **line}
    exported = [
        {
            "id": 1,
            "data": data,
            "annotations": [
                {"completed_by": worker, "result": result, "was_cancelled": False}
                for worker, result in enumerate(answers, start=1)
            ],
        }
    ]
    plan = plan_finish(job, project, [line], exported, issuer="http://ls")
    assert plan.unconvertible == 0
    aws.write_json(RESULTS, plan.request_key, plan.payload)
    event = consolidation_event(
        labeling_job_arn=labeling_job_arn(FUNCTION, job.job_name),
        project=project,
        payload_uri=f"s3://{RESULTS}/{plan.request_key}",
        role_arn=FUNCTION,
    )
    (entry,) = consolidate_request(
        event, projects={project.name: project}, artifacts_bucket=ARTIFACTS, skills_table=SKILLS
    )
    assert entry["datasetObjectId"] == "0"
    value: dict[str, Any] = entry["consolidatedAnnotation"]["content"][project.name]
    return value, plan.responses["0"]


@pytest.mark.usefixtures("buckets")
def test_single_label_images_consolidate_to_the_majority():
    value, _ = run("image-classification")

    assert (value["class-name"], value["class-id"], value["workers"]) == ("cat", 1, 3)


@pytest.mark.usefixtures("buckets")
@pytest.mark.parametrize(
    "case", ["text-classification-multilabel", "image-classification-multilabel"]
)
def test_multi_labels_consolidate_to_class_ids(case):
    value, _ = run(case)

    names = {value["class-map"][str(i)] for i in value["class-ids"]}
    assert names == ({"travel"} if case.startswith("text") else {"dog", "grass"})


@pytest.mark.usefixtures("buckets")
def test_rectangles_consolidate_to_one_pixel_box():
    value, worker_file = run("bounding-box")

    assert value["image_size"][0]["width"] == 400
    (box,) = value["annotations"]
    assert box["class_id"] == 0
    assert abs(box["left"] - 40) <= 2
    assert abs(box["top"] - 20) <= 2
    assert (box["width"], box["height"]) == (100, 100)
    first = worker_file["answers"][0]["answerContent"]["answer"]
    assert first["inputImageProperties"] == {"width": 400, "height": 200}


@pytest.mark.usefixtures("buckets")
def test_spans_consolidate_to_the_agreed_entities():
    value, _ = run("named-entity")

    entities = value["annotations"]["entities"]
    assert {"label": "City", "startOffset": 0, "endOffset": 5} in entities


@pytest.mark.usefixtures("buckets")
def test_text_areas_consolidate_to_a_text():
    value, worker_file = run("free-text")

    assert value["text"].lower().rstrip(".") == "a dog"
    assert worker_file["answers"][0]["answerContent"] == {"answer": "a dog"}


@pytest.mark.usefixtures("buckets")
def test_numbers_consolidate_to_a_value():
    value, worker_file = run("numeric")

    assert value["value"] == 3
    assert worker_file["answers"][2]["answerContent"] == {"answer": "4"}
