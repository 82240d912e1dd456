from __future__ import annotations

import json
from typing import Any

import pytest

from gt_contracts import ContractError, PostAnnotationEvent, PreAnnotationEvent

JOB_ARN = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/pets-2024"


def test_pre_annotation_event_reads_a_source_ref_line(load_event):
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source-ref.json"))

    assert event.source_kind == "s3"
    assert event.task_object == "s3://my-sagemaker-gt-bucket/input/images/dog-0001.jpg"
    assert event.job_name == "pet-boxes-2024"
    assert event.version == "2018-10-16"
    assert event.metadata == {"camera": "front-door", "capture-date": "2024-05-02"}


def test_pre_annotation_event_reads_a_source_line(load_event):
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source.json"))

    assert event.source_kind == "text"
    assert event.task_object.startswith("The delivery was late")
    assert event.metadata == {"review-id": "r-9001"}


@pytest.mark.parametrize("version", ["2018-10-06", "2099-01-01", None])
def test_pre_annotation_event_tolerates_any_version(version):
    raw: dict[str, Any] = {"labelingJobArn": JOB_ARN, "dataObject": {"source": "hi"}}
    if version is not None:
        raw["version"] = version

    assert PreAnnotationEvent.from_event(raw).version == version


def test_pre_annotation_event_from_json_parses_text(load_event):
    text = json.dumps(load_event("pre-annotation-event.source.json"))

    assert PreAnnotationEvent.from_json(text).source_kind == "text"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be a JSON object"),
        ({"dataObject": {"source": "x"}}, "labelingJobArn is missing"),
        ({"labelingJobArn": "job", "dataObject": {"source": "x"}}, "not a labeling-job ARN"),
        ({"labelingJobArn": JOB_ARN}, "dataObject is missing"),
        ({"labelingJobArn": JOB_ARN, "dataObject": "x"}, "dataObject must be a JSON object"),
        (
            {"labelingJobArn": JOB_ARN, "dataObject": {"camera": "a"}},
            "neither 'source-ref' nor 'source'",
        ),
        (
            {"labelingJobArn": JOB_ARN, "dataObject": {"source": "a", "source-ref": "s3://b/k"}},
            "both",
        ),
        (
            {"labelingJobArn": JOB_ARN, "dataObject": {"source-ref": "/local/file.jpg"}},
            r"dataObject\.source-ref",
        ),
        ({"labelingJobArn": JOB_ARN, "dataObject": {"source": ""}}, r"dataObject\.source must be"),
        ({"labelingJobArn": JOB_ARN, "dataObject": {"source": 7}}, r"dataObject\.source must be"),
    ],
)
def test_pre_annotation_event_rejects_malformed_events(event, message):
    with pytest.raises(ContractError, match=message):
        PreAnnotationEvent.from_event(event)


def test_post_annotation_event_reads_the_documented_fields(load_event):
    event = PostAnnotationEvent.from_event(load_event("post-annotation-event.textclass.json"))

    assert event.label_categories == ("negative", "neutral", "positive")
    assert event.label_attribute_name == "sentiment"
    assert event.job_name == "review-sentiment-2024"
    assert event.role_arn.endswith("SageMakerGroundTruthExecutionRole")
    assert event.payload_location == (
        "my-sagemaker-gt-bucket",
        "output/review-sentiment-2024/annotations/consolidated-annotation/"
        "consolidation-request/iteration-1/2024-05-06_09:15:42.json",
    )


def test_post_annotation_event_ignores_undocumented_keys(load_event):
    raw = load_event("post-annotation-event.bbox.json")
    raw["kmsKeyId"] = "alias/x"

    event = PostAnnotationEvent.from_event(raw)

    assert event.label_attribute_name == "pet-boxes"
    assert not hasattr(event, "output_config")


@pytest.mark.parametrize("categories", [None, "absent"])
def test_post_annotation_event_accepts_missing_label_categories(load_event, categories):
    raw = load_event("post-annotation-event.textclass.json")
    if categories == "absent":
        del raw["labelCategories"]
    else:
        raw["labelCategories"] = None

    assert PostAnnotationEvent.from_event(raw).label_categories is None


def _without(raw: dict[str, Any], path: str) -> dict[str, Any]:
    if "." in path:
        outer, inner = path.split(".")
        raw[outer] = {k: v for k, v in raw[outer].items() if k != inner}
    else:
        del raw[path]
    return raw


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("labelingJobArn", "labelingJobArn is missing"),
        ("labelAttributeName", "labelAttributeName is missing"),
        ("roleArn", "roleArn is missing"),
        ("payload", "payload is missing"),
        ("payload.s3Uri", r"payload\.s3Uri is missing"),
    ],
)
def test_post_annotation_event_names_a_missing_field(load_event, missing, message):
    raw = _without(load_event("post-annotation-event.textclass.json"), missing)

    with pytest.raises(ContractError, match=message):
        PostAnnotationEvent.from_event(raw)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payload", {"s3Uri": "https://example.com/p.json"}, r"payload\.s3Uri must start"),
        ("payload", {"s3Uri": "s3://bucket-only"}, r"payload\.s3Uri has no object key"),
        ("payload", "s3://b/k", "payload must be a JSON object"),
        ("labelAttributeName", "", "labelAttributeName must be a non-empty string"),
        ("labelCategories", "dog", "labelCategories must be a list"),
        ("labelCategories", ["dog", 3], r"labelCategories\[1\] must be a string"),
    ],
)
def test_post_annotation_event_rejects_invalid_fields(load_event, field, value, message):
    raw = load_event("post-annotation-event.textclass.json")
    raw[field] = value

    with pytest.raises(ContractError, match=message):
        PostAnnotationEvent.from_event(raw)


def test_post_annotation_event_from_json_rejects_non_json():
    with pytest.raises(ContractError, match="post-annotation event is not valid JSON"):
        PostAnnotationEvent.from_json("{not json")
