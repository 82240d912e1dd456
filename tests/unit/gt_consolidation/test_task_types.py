"""Label values of every task type, consolidated through the library's task-type modules."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

import consolidation.boxes
import consolidation.free_text
import consolidation.keypoints
import consolidation.masks
import consolidation.multi_label
import consolidation.numeric
import consolidation.segmentation
import consolidation.spans
from gt_consolidation.batch import Batch, BatchResult, consolidate_batch
from gt_consolidation.task_types import MaskLocation
from gt_contracts import PayloadObject, PostAnnotationEvent, ProjectConfig, WorkerAnnotation

# The adapters import these modules lazily; importing them here makes a missing one fail loudly.
TASK_TYPE_MODULES = (
    consolidation.boxes,
    consolidation.free_text,
    consolidation.keypoints,
    consolidation.masks,
    consolidation.multi_label,
    consolidation.numeric,
    consolidation.segmentation,
    consolidation.spans,
)

MASKS = MaskLocation("gt-out", "out/job/annotations/consolidated-annotation/output/", "stamp")


def _run(
    task_type: Any,
    labels: tuple[str, ...],
    answers: dict[str, list[Any]],
    *,
    attribute: str = "attr",
    categories: tuple[str, ...] | None = None,
    **project: Any,
) -> BatchResult:
    request = PostAnnotationEvent(
        version=None,
        labeling_job_arn="arn:aws:sagemaker:us-east-1:111122223333:labeling-job/p-1",
        job_name="p-1",
        label_categories=categories,
        label_attribute_name=attribute,
        role_arn="arn:aws:iam::111122223333:role/gt",
        payload_uri="s3://gt-out/batch.json",
    )
    objects = [
        PayloadObject(
            object_id,
            {},
            tuple(
                WorkerAnnotation(f"w{k}", json.dumps({"answer": a}), None)
                for k, a in enumerate(contents)
            ),
        )
        for object_id, contents in answers.items()
    ]
    config = ProjectConfig(name="p", task_type=task_type, labels=labels, **project)
    return consolidate_batch(Batch(request=request, project=config, objects=objects, masks=MASKS))


def test_multilabel_value_follows_the_builtin_shape():
    answer = {"labels": ["person", "bicycle"]}

    result = _run(
        "image-classification-multilabel",
        ("bicycle", "car", "person"),
        {"0": [answer, answer, {"labels": ["person"]}]},
        method="majority-vote",
    )

    value = result.items[0].value
    assert value["class-ids"] == [0, 2]
    assert value["class-map"] == {"0": "bicycle", "2": "person"}
    assert value["confidence-map"] == {"0": pytest.approx(0.6667), "2": 1.0}
    assert value["workers"] == 3
    assert value["method"] == "multi-label"
    assert 0.0 <= value["confidence"] <= 1.0


def test_multilabel_reports_an_unknown_label():
    result = _run("text-classification-multilabel", ("a", "b"), {"0": [{"labels": ["a", "zzz"]}]})

    assert (
        result.items[0].value["reason"]
        == "worker 'w0' gave unknown label 'zzz' (labels: ['a', 'b'])"
    )


def _box(label: str, left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def test_bounding_box_value_follows_the_sample_shape():
    size = {"width": 640, "height": 480}
    dog = [_box("dog", 10, 20, 100, 50), _box("dog", 12, 20, 100, 52)]
    answers = [{"boundingBoxes": [b], "inputImageProperties": size} for b in dog]

    result = _run("bounding-box", ("dog", "cat"), {"0": answers})

    value = result.items[0].value
    assert value["image_size"] == [{"width": 640, "height": 480, "depth": 3}]
    assert value["annotations"] == [
        {"class_id": 0, "left": 11, "top": 20, "width": 100, "height": 51}
    ]
    consolidation = value["consolidation"]
    assert consolidation["class-map"] == {"0": "dog", "1": "cat"}
    assert len(consolidation["objects"]) == 1
    assert 0.9 < consolidation["objects"][0]["confidence"] <= 1.0
    assert consolidation["workers"] == 2
    assert consolidation["method"] == "box-clustering"
    assert consolidation["iou-threshold"] == 0.5


def test_bounding_box_method_params_reach_the_consolidator():
    answers = [{"boundingBoxes": [_box("dog", 0, 0, 10, 10)]}] * 2

    result = _run("bounding-box", ("dog",), {"0": answers}, method_params={"iou_threshold": 0.8})

    assert result.items[0].value["consolidation"]["iou-threshold"] == 0.8
    assert result.items[0].value["image_size"] == []


def test_bounding_box_reports_a_zero_sized_box_as_malformed():
    answers = [{"boundingBoxes": [_box("dog", 0, 0, 0, 10)]}, {"boundingBoxes": []}]

    result = _run("bounding-box", ("dog",), {"0": answers})

    assert result.items[0].problem == "malformed-answer"
    assert "must have a positive size" in result.items[0].value["reason"]


def test_named_entity_value_follows_the_builtin_shape():
    entity = {"label": "person", "startOffset": 0, "endOffset": 5}
    answers = [{"entities": [entity]}] * 3

    result = _run("named-entity", ("person", "date"), {"0": answers})

    value = result.items[0].value
    assert value["annotations"] == {
        "labels": [
            {"label": "person", "shortDisplayName": "person"},
            {"label": "date", "shortDisplayName": "date"},
        ],
        "entities": [entity],
    }
    assert value["consolidation"]["entities"] == [{"confidence": 1.0}]
    assert value["consolidation"]["workers"] == 3
    assert value["consolidation"]["method"] == "span-clustering"
    assert value["consolidation"]["confidence"] == 1.0


def test_keypoint_value_lists_points_with_confidence():
    size = {"width": 100, "height": 100}
    answers = [
        {"keypoints": [{"label": "nose", "x": 50, "y": 40}], "inputImageProperties": size},
        {"keypoints": [{"label": "nose", "x": 52, "y": 40}], "inputImageProperties": size},
    ]

    result = _run("keypoint", ("nose",), {"0": answers})

    value = result.items[0].value
    assert [p["label"] for p in value["keypoints"]] == ["nose"]
    assert value["keypoints"][0]["x"] == pytest.approx(51, abs=1)
    assert set(value) == {"keypoints", "confidence", "workers", "method"}
    assert value["method"] == "keypoint-clustering"


def test_free_text_value_holds_the_chosen_text():
    result = _run("free-text", (), {"0": ["The cat sat", "the cat  sat", "a dog"]})

    value = result.items[0].value
    assert value["text"] in {"The cat sat", "the cat  sat"}
    assert value["workers"] == 3
    assert value["method"] == "closest-text"


@pytest.mark.parametrize("categories", [None, ("transcription",)])
def test_free_text_is_not_checked_against_labels(categories):
    # Given a job whose labels come from the project or from labelCategories
    result = _run(
        "free-text",
        ("legible", "illegible"),
        {"0": ["The cat sat", "The cat sat"]},
        categories=categories,
    )

    # Then a transcription is consolidated, not rejected as an unknown label
    assert result.items[0].problem is None
    assert result.items[0].value["text"] == "The cat sat"


def test_numeric_is_not_checked_against_labels():
    result = _run("numeric", ("count",), {"0": ["4", 4]}, categories=("count",))

    assert result.items[0].problem is None
    assert result.items[0].value["value"] == 4


def test_free_text_reads_the_answer_the_project_names():
    def content(text: str) -> dict[str, Any]:
        return {"transcription": text, "comment": "hard to read"}

    objects = [
        PayloadObject(
            "0",
            {},
            tuple(
                WorkerAnnotation(f"w{k}", json.dumps(content("The cat sat")), None)
                for k in range(2)
            ),
        )
    ]
    request = PostAnnotationEvent(
        version=None,
        labeling_job_arn="arn:aws:sagemaker:us-east-1:111122223333:labeling-job/p-1",
        job_name="p-1",
        label_categories=None,
        label_attribute_name="attr",
        role_arn="arn:aws:iam::111122223333:role/gt",
        payload_uri="s3://gt-out/batch.json",
    )

    def run(**named: Any) -> BatchResult:
        config = ProjectConfig(name="p", task_type="free-text", **named)
        return consolidate_batch(Batch(request=request, project=config, objects=objects))

    assert run().items[0].problem == "malformed-answer"  # two string answers, none named
    named = run(answer_name="transcription").items[0]
    assert named.problem is None
    assert named.value["text"] == "The cat sat"


@pytest.mark.parametrize(("answers", "expected"), [([4, 4, 5], 4), (["2.5", 2.5, "2.5"], 2.5)])
def test_numeric_value_holds_the_estimate(answers, expected):
    result = _run("numeric", (), {"0": answers})

    value = result.items[0].value
    assert value["value"] == expected
    assert set(value) == {"value", "confidence", "workers", "method"}


def _png_base64(pixels: list[list[str]]) -> str:
    height, width = len(pixels), len(pixels[0])
    image = Image.new("RGB", (width, height))
    for y, row in enumerate(pixels):
        for x, color in enumerate(row):
            image.putpixel((x, y), tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


W, G = "#ffffff", "#2ca02c"


def test_segmentation_value_references_the_mask_written():
    pixels = [[G, G, W, W], [G, G, W, W], [W, W, W, W]]
    answer = {
        "inputImageProperties": {"width": 4, "height": 3},
        "labelMappings": {"Bird": {"color": G}},
        "labeledImage": {"pngImageData": _png_base64(pixels)},
    }

    result = _run("semantic-segmentation", ("Sky", "Bird"), {"7": [answer, answer]})

    value = result.items[0].value
    (mask,) = result.masks
    assert value["ref"] == f"s3://gt-out/{MASKS.prefix}7_stamp.png"
    assert (mask.bucket, mask.key) == ("gt-out", f"{MASKS.prefix}7_stamp.png")
    assert value["internal-color-map"]["0"]["class-name"] == "BACKGROUND"
    assert value["internal-color-map"]["0"]["hex-color"] == "#ffffff"
    assert value["internal-color-map"]["2"]["class-name"] == "Bird"
    assert value["internal-color-map"]["2"]["hex-color"] == G
    assert value["internal-color-map"]["1"]["hex-color"] not in {G, W}
    assert value["workers"] == 2
    written = np.asarray(Image.open(io.BytesIO(mask.body)))
    assert written.tolist() == [[2, 2, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0]]


def test_segmentation_reports_an_undecodable_mask():
    answer = {"labelMappings": {}, "labeledImage": {"pngImageData": "not base64!"}}

    result = _run("semantic-segmentation", ("Bird",), {"0": [answer]})

    assert result.items[0].problem == "malformed-answer"
    assert "pngImageData is not valid base64" in result.items[0].value["reason"]
    assert result.masks == []


def _bird_answer(mappings: dict[str, Any]) -> dict[str, Any]:
    pixels = [[G, G, W, W], [G, G, W, W], [W, W, W, W]]
    return {
        "inputImageProperties": {"width": 4, "height": 3},
        "labelMappings": mappings,
        "labeledImage": {"pngImageData": _png_base64(pixels)},
    }


@pytest.mark.parametrize(
    "mappings",
    [
        {"Bird": {"color": G}, "Sky": {"color": "#1f77b4"}},  # Sky listed, nobody painted it
        {"Bird": {"color": G}, "BACKGROUND": {"color": W}},
        {"Bird": {"color": G}, "background": {"color": "#000000"}},
        {"Bird": {"color": G}, "Dog": {"color": "#d62728"}},  # unknown, but not painted
    ],
)
def test_segmentation_ignores_background_and_unpainted_label_mappings(mappings):
    answer = _bird_answer(mappings)

    result = _run("semantic-segmentation", ("Sky", "Bird"), {"7": [answer, answer]})

    assert result.items[0].problem is None
    (mask,) = result.masks
    written = np.asarray(Image.open(io.BytesIO(mask.body)))
    assert written.tolist() == [[2, 2, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0]]


def test_segmentation_rejects_a_painted_colour_of_an_unknown_label():
    answer = _bird_answer({"Dog": {"color": G}})

    result = _run("semantic-segmentation", ("Sky", "Bird"), {"7": [answer]})

    assert result.items[0].problem == "malformed-answer"
    assert "mapped to label 'Dog'" in result.items[0].value["reason"]


def test_segmentation_under_a_ref_attribute_is_the_mask_uri_with_a_json_sidecar():
    answer = _bird_answer({"Bird": {"color": G}})

    result = _run(
        "semantic-segmentation", ("Sky", "Bird"), {"7": [answer, answer]}, attribute="birds-ref"
    )

    png_key = f"{MASKS.prefix}7_stamp.png"
    (response,) = result.to_response("birds-ref")
    assert response["consolidatedAnnotation"]["content"] == {"birds-ref": f"s3://gt-out/{png_key}"}
    mask, sidecar = result.masks
    assert (mask.bucket, mask.key, mask.content_type) == ("gt-out", png_key, "image/png")
    assert (sidecar.bucket, sidecar.key) == ("gt-out", f"{MASKS.prefix}7_stamp.json")
    assert sidecar.content_type == "application/json"
    details = json.loads(sidecar.body)
    assert set(details) == {
        "internal-color-map",
        "class-confidence",
        "confidence",
        "workers",
        "method",
    }
    assert details["internal-color-map"]["2"]["class-name"] == "Bird"
    assert details["workers"] == 2


def test_segmentation_no_consensus_under_a_ref_attribute_stays_an_object():
    answer = {"labelMappings": {}, "labeledImage": {"pngImageData": "not base64!"}}

    result = _run("semantic-segmentation", ("Bird",), {"0": [answer]}, attribute="birds-ref")

    (response,) = result.to_response("birds-ref")
    value = response["consolidatedAnnotation"]["content"]["birds-ref"]
    assert isinstance(value, dict)
    assert value["no-consensus"] is True
    assert result.masks == []
