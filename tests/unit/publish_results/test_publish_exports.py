"""Exports per task type, from output-manifest lines shaped by ``gt_consolidation``."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from gt_consolidation.batch import Batch, consolidate_batch
from gt_consolidation.task_types import MaskLocation
from gt_contracts import PayloadObject, PostAnnotationEvent, ProjectConfig, WorkerAnnotation
from publish_results.exports import (
    Token,
    bio_tags,
    build_exports,
    classification_csv,
    coco_json,
    conll,
    jsonl,
    segmentation_csv,
    spacy_json,
    tokenize,
    voc_xml,
    yolo,
)
from publish_results.manifest import Manifest, read_manifest

META = {
    "type": "groundtruth/custom",
    "job-name": "p-1",
    "human-annotated": "yes",
    "creation-date": "2024-05-03T14:02:19.512000",
}
EXPIRED = {"retry-count": 1, "failure-reason": "ClientError: Annotation tasks expired."}


def _manifest(*lines: tuple[str, str, Any], attr: str = "attr") -> Manifest:
    """Output-manifest text from ``(source key, source, label value or EXPIRED)`` triples."""
    out = []
    for key, source, value in lines:
        if value is EXPIRED:
            out.append({key: source, f"{attr}-metadata": EXPIRED})
        else:
            out.append({key: source, attr: value, f"{attr}-metadata": META})
    return read_manifest("\n".join(json.dumps(line) for line in out))


def _consolidated(task_type: Any, labels: tuple[str, ...], answers: list[Any]) -> dict[str, Any]:
    """The label value ``gt_consolidation`` writes for one item with these answers."""
    request = PostAnnotationEvent(
        version=None,
        labeling_job_arn="arn:aws:sagemaker:us-east-1:111122223333:labeling-job/p-1",
        job_name="p-1",
        label_categories=None,
        label_attribute_name="attr",
        role_arn="arn:aws:iam::111122223333:role/gt",
        payload_uri="s3://gt-out/batch.json",
    )
    annotations = tuple(
        WorkerAnnotation(f"w{k}", json.dumps({"answer": a}), None) for k, a in enumerate(answers)
    )
    result = consolidate_batch(
        Batch(
            request=request,
            project=ProjectConfig(name="p", task_type=task_type, labels=labels),
            objects=[PayloadObject("0", {}, annotations)],
            masks=MaskLocation("gt-out", "out/masks/", "stamp"),
        )
    )
    value = dict(result.items[0].value)
    assert "no-consensus" not in value, value
    return value


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- classification -------------------------------------------------------------------------------

POSITIVE = {
    "class-name": "positive",
    "class-id": 2,
    "confidence": 0.67,
    "votes": {"positive": 2, "neutral": 1},
    "workers": 3,
    "method": "majority-vote",
}
TIE = {"no-consensus": True, "reason": "tie between ['a', 'b']", "workers": 2, "method": "mv"}


def test_classification_csv_lists_labeled_items():
    manifest = _manifest(("source", "Fixed quickly.", POSITIVE), ("source", "Meh.", TIE))

    assert _rows(classification_csv(manifest.records)) == [
        ["source", "label", "confidence", "workers", "method", "reason"],
        ["Fixed quickly.", "positive", "0.67", "3", "majority-vote", ""],
    ]


def test_classification_csv_can_include_excluded_items_with_their_reason():
    manifest = _manifest(("source", "Fixed quickly.", POSITIVE), ("source", "Meh.", TIE))

    rows = _rows(classification_csv(manifest.records, excluded="include"))

    assert rows[2] == ["Meh.", "", "", "2", "", "tie between ['a', 'b']"]


def test_classification_csv_from_a_consolidated_value():
    value = _consolidated(
        "image-classification",
        ("cat", "dog"),
        [{"label": "dog"}, {"label": "dog"}, {"label": "cat"}],
    )
    manifest = _manifest(("source-ref", "s3://b/i.jpg", value))

    rows = _rows(classification_csv(manifest.records))

    assert rows[0][0] == "source-ref"
    assert rows[1][:2] == ["s3://b/i.jpg", "dog"]
    assert rows[1][3:5] == ["3", value["method"]]


def test_classification_csv_writes_multilabel_labels_as_a_json_array():
    value = _consolidated(
        "image-classification-multilabel",
        ("bicycle", "car", "person"),
        [{"labels": ["person", "bicycle"]}] * 2 + [{"labels": ["person"]}],
    )
    manifest = _manifest(("source-ref", "s3://b/i.jpg", value))

    rows = _rows(classification_csv(manifest.records, multi=True))

    assert rows[0][1] == "labels"
    assert json.loads(rows[1][1]) == ["bicycle", "person"]
    assert rows[1][3] == "3"


# -- bounding boxes -------------------------------------------------------------------------------

# The custom-workflow sample line of tests/events/consolidation-response.bbox.json.
DOG_CAT = {
    "image_size": [{"width": 1280, "height": 960, "depth": 3}],
    "annotations": [
        {"class_id": 0, "left": 101, "top": 220, "width": 409, "height": 501},
        {"class_id": 1, "left": 716, "top": 405, "width": 265, "height": 293},
    ],
    "consolidation": {
        "class-map": {"0": "dog", "1": "cat"},
        "objects": [{"confidence": 0.94}, {"confidence": 0.61}],
        "workers": 3,
        "method": "iou-cluster-mean",
        "iou-threshold": 0.5,
    },
}
EMPTY = {
    "image_size": [{"width": 1280, "height": 720, "depth": 3}],
    "annotations": [],
    "consolidation": {"class-map": {"0": "dog", "1": "cat"}, "objects": [], "workers": 3},
}
NO_SIZE = {**EMPTY, "image_size": []}


def _boxes() -> Manifest:
    return _manifest(
        ("source-ref", "s3://my-bucket/input/images/dog-0001.jpg", DOG_CAT),
        ("source-ref", "s3://my-bucket/input/images/porch-0002.jpg", EMPTY),
        ("source-ref", "s3://my-bucket/input/images/nosize.jpg", NO_SIZE),
        ("source-ref", "s3://my-bucket/input/images/late.jpg", EXPIRED),
    )


def test_coco_json_numbers_images_categories_and_boxes():
    export = coco_json(_boxes().records)

    doc = json.loads(export.files["coco/annotations.json"])
    assert doc["categories"] == [
        {"id": 1, "name": "dog", "supercategory": "none"},
        {"id": 2, "name": "cat", "supercategory": "none"},
    ]
    assert doc["images"] == [
        {
            "id": 1,
            "file_name": "input/images/dog-0001.jpg",
            "width": 1280,
            "height": 960,
            "source-ref": "s3://my-bucket/input/images/dog-0001.jpg",
        },
        {
            "id": 2,
            "file_name": "input/images/porch-0002.jpg",
            "width": 1280,
            "height": 720,
            "source-ref": "s3://my-bucket/input/images/porch-0002.jpg",
        },
    ]
    assert doc["annotations"] == [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [101, 220, 409, 501],
            "area": 409 * 501,
            "iscrowd": 0,
            "confidence": 0.94,
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 2,
            "bbox": [716, 405, 265, 293],
            "area": 265 * 293,
            "iscrowd": 0,
            "confidence": 0.61,
        },
    ]


def test_box_exports_skip_and_report_images_without_a_size():
    for export in (coco_json(_boxes().records), yolo(_boxes().records), voc_xml(_boxes().records)):
        (skipped,) = export.skipped
        assert skipped.source == "s3://my-bucket/input/images/nosize.jpg"
        assert skipped.status == "skipped"
        assert skipped.reason == "no image_size in the label; box exports need it"


def test_yolo_writes_normalized_centre_boxes_and_classes():
    export = yolo(_boxes().records)

    assert export.files["yolo/classes.txt"] == "dog\ncat\n"
    lines = export.files["yolo/labels/input/images/dog-0001.txt"].splitlines()
    assert lines == [
        f"0 {(101 + 409 / 2) / 1280:.6f} {(220 + 501 / 2) / 960:.6f} "
        f"{409 / 1280:.6f} {501 / 960:.6f}",
        f"1 {(716 + 265 / 2) / 1280:.6f} {(405 + 293 / 2) / 960:.6f} "
        f"{265 / 1280:.6f} {293 / 960:.6f}",
    ]
    assert lines[0] == "0 0.238672 0.490104 0.319531 0.521875"
    assert export.files["yolo/labels/input/images/porch-0002.txt"] == ""
    assert "yolo/labels/input/images/nosize.txt" not in export.files


def test_yolo_clips_boxes_to_the_image():
    value = {
        **EMPTY,
        "image_size": [{"width": 100, "height": 100, "depth": 3}],
        "annotations": [{"class_id": 0, "left": -10, "top": 90, "width": 30, "height": 20}],
    }

    export = yolo(_manifest(("source-ref", "s3://b/x.png", value)).records)

    assert export.files["yolo/labels/x.txt"] == "0 0.100000 0.950000 0.200000 0.100000\n"


def test_voc_xml_parses_with_pixel_corners():
    export = voc_xml(_boxes().records)

    root = ET.fromstring(export.files["voc/Annotations/input/images/dog-0001.xml"])
    assert root.findtext("folder") == "input/images"
    assert root.findtext("filename") == "dog-0001.jpg"
    assert root.findtext("path") == "s3://my-bucket/input/images/dog-0001.jpg"
    assert [root.findtext(f"size/{k}") for k in ("width", "height", "depth")] == [
        "1280",
        "960",
        "3",
    ]
    objects = [
        (
            o.findtext("name"),
            [o.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")],
        )
        for o in root.iter("object")
    ]
    assert objects == [("dog", ["101", "220", "510", "721"]), ("cat", ["716", "405", "981", "698"])]
    empty = ET.fromstring(export.files["voc/Annotations/input/images/porch-0002.xml"])
    assert empty.findall("object") == []


def test_box_exports_of_a_consolidated_value():
    size = {"width": 640, "height": 480}
    answers = [
        {"boundingBoxes": [{"label": "dog", "left": 10, "top": 20, "width": 100, "height": h}]}
        | {"inputImageProperties": size}
        for h in (50, 52)
    ]
    value = _consolidated("bounding-box", ("dog", "cat"), answers)
    manifest = _manifest(("source-ref", "s3://b/a/dog.png", value))

    coco = json.loads(coco_json(manifest.records).files["coco/annotations.json"])
    label_file = yolo(manifest.records).files["yolo/labels/a/dog.txt"]

    assert coco["annotations"][0]["bbox"] == [10, 20, 100, 51]
    assert label_file == f"0 {60 / 640:.6f} {45.5 / 480:.6f} {100 / 640:.6f} {51 / 480:.6f}\n"


def test_box_exports_report_colliding_file_names():
    manifest = _manifest(
        ("source-ref", "s3://one/x.jpg", EMPTY), ("source-ref", "s3://two/x.jpg", EMPTY)
    )

    export = yolo(manifest.records)

    assert list(export.files) == ["yolo/classes.txt", "yolo/labels/x.txt"]
    assert export.skipped[0].reason == "file name x.jpg already used by s3://one/x.jpg"


# -- named entities -------------------------------------------------------------------------------

TEXT = "Amazon SageMaker launched in November 2017."
NER = {
    "annotations": {
        "labels": [{"label": "org"}, {"label": "date"}],
        "entities": [
            {"label": "date", "startOffset": 29, "endOffset": 42},
            {"label": "org", "startOffset": 0, "endOffset": 16},
        ],
    },
    "consolidation": {
        "entities": [{"confidence": 0.8}, {"confidence": 1.0}],
        "confidence": 0.8,
        "workers": 3,
        "method": "span-clustering",
    },
}


def test_tokenize_keeps_character_offsets():
    assert tokenize("  a bc\td ") == [Token("a", 2, 3), Token("bc", 4, 6), Token("d", 7, 8)]


def test_bio_tags_mark_begin_inside_and_outside():
    tokens = tokenize(TEXT)

    tags = bio_tags(tokens, [(0, 16, "org"), (29, 42, "date")])

    assert list(zip([t.text for t in tokens], tags, strict=True)) == [
        ("Amazon", "B-org"),
        ("SageMaker", "I-org"),
        ("launched", "O"),
        ("in", "O"),
        ("November", "B-date"),
        ("2017.", "I-date"),
    ]


def test_conll_writes_one_token_per_line_with_offsets_and_tags():
    manifest = _manifest(("source", TEXT, NER), ("source", "Nothing here.", TIE))

    text = conll(manifest.records).files["ner/train.conll"]

    assert text == (
        "-DOCSTART-\t-1\t-1\tO\n\n"
        "Amazon\t0\t6\tB-org\n"
        "SageMaker\t7\t16\tI-org\n"
        "launched\t17\t25\tO\n"
        "in\t26\t28\tO\n"
        "November\t29\t37\tB-date\n"
        "2017.\t38\t43\tI-date\n\n"
    )


def test_spacy_json_lists_sorted_entity_offsets():
    manifest = _manifest(("source", TEXT, NER))

    data = json.loads(spacy_json(manifest.records).files["ner/spacy.json"])

    assert data == [[TEXT, {"entities": [[0, 16, "org"], [29, 42, "date"]]}]]
    assert TEXT[0:16] == "Amazon SageMaker"
    assert TEXT[29:42] == "November 2017"


def test_ner_exports_drop_and_warn_about_overlapping_entities():
    value = {
        "annotations": {
            "labels": [],
            "entities": [
                {"label": "org", "startOffset": 0, "endOffset": 16},
                {"label": "product", "startOffset": 7, "endOffset": 16},
                {"label": "date", "startOffset": 40, "endOffset": 99},
            ],
        }
    }
    manifest = _manifest(("source", TEXT, value))

    export = spacy_json(manifest.records)

    assert json.loads(export.files["ner/spacy.json"])[0][1] == {"entities": [[0, 16, "org"]]}
    assert export.warnings == (
        "entity 'product' [7, 16) overlaps another in source at chunk 0 line 1",
        "entity 'date' [40, 99) is outside the text of source at chunk 0 line 1",
    )


def test_ner_exports_of_a_consolidated_value():
    text = "Ada Lovelace wrote notes"
    answer = {"entities": [{"label": "person", "startOffset": 0, "endOffset": 12}]}
    value = _consolidated("named-entity", ("person",), [answer, answer, answer])
    manifest = _manifest(("source", text, value))

    data = json.loads(spacy_json(manifest.records).files["ner/spacy.json"])
    lines = conll(manifest.records).files["ner/train.conll"].splitlines()

    assert data == [[text, {"entities": [[0, 12, "person"]]}]]
    assert [line.split("\t")[-1] for line in lines[2:6]] == ["B-person", "I-person", "O", "O"]


# -- free text, numbers, keypoints, segmentation --------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "labels", "answers", "key"),
    [
        ("free-text", (), ["The cat sat", "the cat  sat", "The cat sat"], "text"),
        ("numeric", (), [4, 4, 5], "value"),
        (
            "keypoint",
            ("nose",),
            [
                {"keypoints": [{"label": "nose", "x": 150 + d, "y": 275}]}
                | {"inputImageProperties": {"width": 640, "height": 480}}
                for d in (0, 5, 10)
            ],
            "keypoints",
        ),
    ],
)
def test_jsonl_writes_one_object_per_labeled_item(task_type, labels, answers, key):
    value = _consolidated(task_type, labels, answers)
    manifest = _manifest(("source-ref", "s3://b/1.png", value), ("source-ref", "s3://b/2", TIE))

    lines = jsonl(manifest.records).splitlines()

    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row == {"source-ref": "s3://b/1.png", **value}
    assert key in row


def test_segmentation_csv_indexes_mask_uris():
    value = {
        "ref": "s3://b/out/annotations/consolidated-annotation/output/0_stamp.png",
        "internal-color-map": {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.8},
            "1": {"class-name": "cat", "hex-color": "#1f77b4", "confidence": 0.8},
        },
        "class-confidence": {"cat": 0.85},
        "confidence": 0.8,
        "workers": 3,
        "method": "pixel-vote",
    }
    manifest = _manifest(("source-ref", "s3://b/c.jpg", value), ("source-ref", "s3://b/d", TIE))

    rows = _rows(segmentation_csv(manifest.records))

    assert rows[0] == [
        "source-ref",
        "mask-ref",
        "confidence",
        "workers",
        "method",
        "internal-color-map",
    ]
    assert rows[1][:5] == [
        "s3://b/c.jpg",
        "s3://b/out/annotations/consolidated-annotation/output/0_stamp.png",
        "0.8",
        "3",
        "pixel-vote",
    ]
    assert json.loads(rows[1][5])["1"]["class-name"] == "cat"
    assert len(rows) == 2


# -- the bundle and excluded.csv ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "files"),
    [
        ("text-classification", {"labels.csv", "builtin.manifest"}),
        ("image-classification-multilabel", {"labels.csv", "builtin.manifest"}),
        ("named-entity", {"ner/train.conll", "ner/spacy.json"}),
        ("free-text", {"labels.jsonl"}),
        ("numeric", {"labels.jsonl"}),
        ("keypoint", {"labels.jsonl"}),
        ("semantic-segmentation", {"masks.csv"}),
    ],
)
def test_build_exports_picks_the_formats_of_the_task_type(task_type, files):
    bundle = build_exports(_manifest(("source", "x", TIE)), task_type=task_type)

    assert set(bundle.files) == {*files, "excluded.csv"}


def test_build_exports_lists_every_excluded_item_with_its_reason():
    lines: list[tuple[str, Any, dict[str, Any]]] = [
        ("dog-0001", DOG_CAT, META),
        ("nosize", NO_SIZE, META),
        ("tie", TIE, META),
        ("late", None, EXPIRED),
        ("dog-0001", EMPTY, META),
    ]
    boxes = "\n".join(
        json.dumps(
            {
                "source-ref": f"s3://my-bucket/input/images/{name}.jpg",
                "b": value,
                "b-metadata": meta,
            }
        )
        for name, value, meta in lines
    )
    manifest = read_manifest(boxes + "\nnot json")

    bundle = build_exports(manifest, task_type="bounding-box")

    assert {path for path in bundle.files if not path.startswith(("yolo/labels", "voc/"))} == {
        "coco/annotations.json",
        "yolo/classes.txt",
        "builtin.manifest",
        "excluded.csv",
    }
    rows = _rows(bundle.files["excluded.csv"].decode())
    assert rows[0] == ["source-ref", "status", "reason", "chunk", "line"]
    assert [row[:2] for row in rows[1:]] == [
        ["s3://my-bucket/input/images/tie.jpg", "no-consensus"],
        ["s3://my-bucket/input/images/late.jpg", "failed"],
        ["", "invalid"],
        ["s3://my-bucket/input/images/nosize.jpg", "skipped"],
    ]
    assert rows[1][2:] == ["tie between ['a', 'b']", "0", "3"]
    assert rows[2][2] == "ClientError: Annotation tasks expired."
    assert rows[3][2].startswith("not JSON")
    assert rows[4][2] == "no image_size in the label; box exports need it"
    assert len(bundle.excluded) == 4
    # The repeated image is a data object of its own, in every export.
    coco = json.loads(bundle.files["coco/annotations.json"])
    names = [image["file_name"] for image in coco["images"]]
    assert names.count("input/images/dog-0001.jpg") == 2


def test_build_exports_writes_a_header_only_excluded_csv_when_nothing_is_excluded():
    bundle = build_exports(_manifest(("source", "x", POSITIVE)), task_type="text-classification")

    assert bundle.files["excluded.csv"] == b"source,status,reason,chunk,line\n"
    assert bundle.excluded == ()


# -- the built-in layout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "task_type"),
    [("textclass", "text-classification"), ("bbox", "bounding-box")],
)
def test_builtin_manifest_writes_ground_truths_built_in_layout(load_text, sample, task_type):
    custom = load_text(f"output-manifest.{sample}.custom.jsonl")
    reference = [
        json.loads(row)
        for row in load_text(f"output-manifest.{sample}.builtin-reference.jsonl").splitlines()
    ]

    bundle = build_exports(read_manifest(custom), task_type=task_type)
    written = [json.loads(row) for row in bundle.files["builtin.manifest"].decode().splitlines()]

    assert len(written) == len(reference)
    for got, want in zip(written, reference, strict=True):
        attribute = next(k for k in want if k.endswith("-metadata")).removesuffix("-metadata")
        # Same keys everywhere, the same label value, the same metadata but for the figures:
        # the reference's confidences are illustrative, and LabelFlow's creation date is the
        # consolidation's own.
        assert set(got) == set(want)
        assert got[attribute] == want[attribute]
        meta, expected = got[f"{attribute}-metadata"], want[f"{attribute}-metadata"]
        assert set(meta) == set(expected)
        for key in set(expected) - {"confidence", "objects", "creation-date"}:
            assert meta[key] == expected[key], key
        if "objects" in expected:
            assert len(meta["objects"]) == len(expected["objects"])


def test_builtin_manifest_keeps_an_unlabeled_line_with_its_failure_reason():
    line = {
        "source": "late",
        "s-metadata": {
            "failure-reason": "ClientError: Annotation tasks expired.",
            "human-annotated": "true",
        },
    }

    bundle = build_exports(read_manifest(json.dumps(line)), task_type="text-classification")
    (written,) = [json.loads(r) for r in bundle.files["builtin.manifest"].decode().splitlines()]

    assert "s" not in written
    assert written["s-metadata"]["failure-reason"] == "ClientError: Annotation tasks expired."
    assert written["s-metadata"]["type"] == "groundtruth/text-classification"
