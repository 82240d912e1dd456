"""Reading output manifests: statuses, metadata drift, built-in shapes, chunk union."""

from __future__ import annotations

import json
from typing import Any

import pytest

from publish_results.manifest import LabelMetadata, read_manifest, read_manifests

CUSTOM_META = {
    "type": "groundtruth/custom",
    "job-name": "review-sentiment-2024",
    "human-annotated": "yes",
    "creation-date": "2024-05-06T09:15:50.101000",
}
# The label value the consolidation Lambda writes (tests/events/consolidation-response.textclass).
POSITIVE = {
    "class-name": "positive",
    "class-id": 2,
    "confidence": 0.67,
    "votes": {"positive": 2, "neutral": 1},
    "workers": 3,
    "method": "majority-vote",
}
NO_CONSENSUS = {
    "no-consensus": True,
    "reason": "tie between ['negative', 'positive']",
    "workers": 2,
    "method": "majority-vote",
}


def _line(source: str, value: Any = None, meta: Any = CUSTOM_META, *, key: str = "source") -> str:
    line: dict[str, Any] = {key: source, "review-id": "r-1"}
    if value is not None:
        line["sentiment"] = value
    if meta is not None:
        line["sentiment-metadata"] = meta
    return json.dumps(line)


def test_read_manifest_reads_a_labeled_custom_line():
    manifest = read_manifest(_line("Great service.", POSITIVE))

    (record,) = manifest.records
    assert record.status == "labeled"
    assert record.source_key == "source"
    assert record.source == "Great service."
    assert record.label_attribute == "sentiment"
    assert record.label == POSITIVE
    assert record.confidence == 0.67
    assert record.workers == 3
    assert record.method == "majority-vote"
    assert record.reason is None
    assert record.fields["review-id"] == "r-1"


def test_read_manifest_keeps_the_no_consensus_reason():
    (record,) = read_manifest(_line("Meh.", NO_CONSENSUS)).records

    assert record.status == "no-consensus"
    assert record.reason == "tie between ['negative', 'positive']"
    assert record.label is None
    assert record.workers == 2
    assert record.method == "majority-vote"


def test_read_manifest_marks_ground_truth_failures():
    meta = {
        "retry-count": 1,
        "failure-reason": "ClientError: Annotation tasks expired.",
        "human-annotated": "true",
    }

    (record,) = read_manifest(_line("Late.", None, meta)).records

    assert record.status == "failed"
    assert record.reason == "ClientError: Annotation tasks expired."


@pytest.mark.parametrize(
    ("value", "meta", "reason"),
    [
        (None, None, "no label attribute"),
        ({}, {**CUSTOM_META, "worker-response-ref": "s3://b/wr.json"}, "s3://b/wr.json"),
        (None, CUSTOM_META, "no 'sentiment' value"),
    ],
)
def test_read_manifest_marks_unlabeled_lines(value, meta, reason):
    (record,) = read_manifest(_line("x", value, meta)).records

    assert record.status == "unlabeled"
    assert record.reason is not None
    assert reason in record.reason


@pytest.mark.parametrize(
    "raw",
    [
        {"job-name": "labeling-job/pets", "type": "groundtruth/custom", "creation-date": "d"},
        {"job_name": "pets", "type": "groundTruth/custom", "creation_date": "d"},
    ],
)
def test_label_metadata_resolves_spelling_drift(raw):
    metadata = LabelMetadata.from_json(raw)

    assert metadata.job_name == "pets"
    assert metadata.type == "groundtruth/custom"
    assert metadata.creation_date == "d"


@pytest.mark.parametrize("index", [2, "2", 2.0])
def test_read_manifest_converts_builtin_classification(index):
    meta = {
        "class-name": "positive",
        "confidence": 0.81,
        "type": "groundtruth/text-classification",
        "job-name": "labeling-job/review-sentiment-2024",
    }

    (record,) = read_manifest(_line("Fixed quickly.", index, meta)).records

    assert record.status == "labeled"
    assert record.label == {"class-name": "positive", "class-id": 2, "confidence": 0.81}
    assert record.metadata is not None
    assert record.metadata.job_name == "review-sentiment-2024"


def test_read_manifest_accepts_a_numeric_string_class_id_in_a_custom_value():
    (record,) = read_manifest(_line("x", {**POSITIVE, "class-id": "2"})).records

    assert record.label is not None
    assert record.label["class-id"] == 2


def test_read_manifest_converts_builtin_multilabel():
    meta = {
        "class-map": {"1": "bicycle", "0": "person"},
        "confidence-map": {"1": 0.95, "0": 0.77},
        "type": "groundtruth/image-classification-multilabel",
    }
    line = json.dumps({"source-ref": "s3://b/i.jpg", "tags": [1, "0"], "tags-metadata": meta})

    (record,) = read_manifest(line).records

    assert record.label == {
        "class-ids": [1, 0],
        "class-map": {"1": "bicycle", "0": "person"},
        "confidence-map": {"1": 0.95, "0": 0.77},
        "confidence": 0.77,
    }


def test_read_manifest_converts_builtin_object_detection():
    # The first line of the built-in reference sample (ground-truth.md §4.2).
    line = {
        "source-ref": "s3://my-sagemaker-gt-bucket/input/images/dog-0001.jpg",
        "pet-boxes": {
            "image_size": [{"width": 1280, "height": 960, "depth": 3}],
            "annotations": [
                {"class_id": "0", "left": 101, "top": 220, "width": 409, "height": 501}
            ],
        },
        "pet-boxes-metadata": {
            "objects": [{"confidence": 0.94}],
            "class-map": {"0": "dog"},
            "type": "groundtruth/object-detection",
            "job-name": "labeling-job/pet-boxes-2024",
        },
    }

    (record,) = read_manifest(json.dumps(line)).records

    assert record.label is not None
    assert record.label["annotations"][0]["class_id"] == 0
    assert record.label["consolidation"] == {
        "class-map": {"0": "dog"},
        "objects": [{"confidence": 0.94}],
        "confidence": 0.94,
    }
    assert record.confidence == 0.94


def test_read_manifest_converts_builtin_segmentation():
    meta = {
        "internal-color-map": {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.81},
            "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.81},
        },
        "type": "groundtruth/semantic-segmentation",
    }
    line = {"source-ref": "s3://b/c.jpg", "cats-ref": "s3://b/out/0.png", "cats-ref-metadata": meta}

    (record,) = read_manifest(json.dumps(line)).records

    assert record.label is not None
    assert record.label["ref"] == "s3://b/out/0.png"
    assert record.label["internal-color-map"]["1"]["class-name"] == "cat"
    assert record.confidence == 0.81


def test_read_manifest_reads_a_custom_job_mask_uri_as_a_labeled_segmentation():
    meta = {"type": "groundtruth/custom", "job-name": "cells-1", "human-annotated": "yes"}
    line = {
        "source-ref": "s3://b/c.jpg",
        "cells-ref": "s3://b/out/0.png",
        "cells-ref-metadata": meta,
    }

    (record,) = read_manifest(json.dumps(line)).records

    assert record.status == "labeled"
    assert record.label == {"ref": "s3://b/out/0.png", "internal-color-map": {}}


def test_read_manifest_uses_the_named_label_attribute():
    line = {
        "source": "x",
        "old": {"text": "stale"},
        "old-metadata": CUSTOM_META,
        "new": {"text": "fresh", "confidence": 1.0},
        "new-metadata": CUSTOM_META,
    }

    (record,) = read_manifest(json.dumps(line), label_attribute="new").records

    assert record.label == {"text": "fresh", "confidence": 1.0}


def test_read_manifest_reports_ambiguous_label_attributes():
    line = {"source": "x", "a": {}, "a-metadata": {}, "b": {}, "b-metadata": {}}

    manifest = read_manifest(json.dumps(line))

    assert manifest.records == ()
    assert manifest.invalid[0].reason == "several label attributes ['a', 'b']; name the one to read"


def test_read_manifest_reports_invalid_lines_and_skips_blank_ones():
    text = "\n".join(["not json", "[1, 2]", '{"other": 1}', "", _line("ok", POSITIVE)])

    manifest = read_manifest(text)

    assert [r.source for r in manifest.records] == ["ok"]
    assert [(i.line, i.reason.split(":")[0]) for i in manifest.invalid] == [
        (1, "not JSON"),
        (2, "not a JSON object but list"),
        (3, "no 'source-ref' or 'source' string"),
    ]


def test_read_manifests_unions_chunks_in_order_and_keeps_repeated_sources():
    first = "\n".join([_line("a", POSITIVE), _line("b", POSITIVE)])
    second = "\n".join([_line("c", POSITIVE), _line("a", NO_CONSENSUS), "not json"]).encode()

    manifest = read_manifests([first, second])

    assert [(r.source, r.chunk, r.line) for r in manifest.records] == [
        ("a", 0, 1),
        ("b", 0, 2),
        ("c", 1, 1),
        ("a", 1, 2),
    ]
    assert [r.status for r in manifest.records] == ["labeled"] * 3 + ["no-consensus"]
    (duplicate,) = manifest.duplicates
    assert (duplicate.source, duplicate.chunk, duplicate.line) == ("a", 1, 2)
    assert duplicate.reason == "repeats the source of chunk 0 line 1 (both are kept)"
    # Every line is kept as read, the invalid one too.
    assert len(manifest.lines) == 5
    assert manifest.lines[-1] == "not json"


def test_read_manifests_tells_source_ref_and_source_apart():
    manifest = read_manifests(
        [_line("s3://b/x.jpg", POSITIVE, key="source-ref"), _line("s3://b/x.jpg", POSITIVE)]
    )

    assert [r.source_key for r in manifest.records] == ["source-ref", "source"]
    assert manifest.duplicates == ()


def test_manifest_with_status_groups_records():
    text = "\n".join([_line("a", POSITIVE), _line("b", NO_CONSENSUS), _line("c", POSITIVE)])

    manifest = read_manifest(text)

    assert [r.source for r in manifest.labeled] == ["a", "c"]
    assert [r.source for r in manifest.with_status("no-consensus")] == ["b"]
