from __future__ import annotations

import json
from typing import Any

import pytest

from gt_contracts import (
    TASK_TYPES,
    AnswerBox,
    AnswerError,
    AnswerKeypoint,
    AnswerSpan,
    BoxesAnswer,
    KeypointsAnswer,
    SegmentationAnswer,
    answer_from_content,
    boxes_from_content,
    class_label_from_content,
    class_labels_from_content,
    decode_content,
    entities_from_content,
    free_text_from_content,
    keypoints_from_content,
    number_from_content,
    segmentation_from_content,
)

# -- decode_content ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"q": {"label": "a"}}',
        b'{"q": {"label": "a"}}',
        json.dumps(json.dumps({"q": {"label": "a"}})),
        json.dumps(json.dumps(json.dumps({"q": {"label": "a"}}))),
        '[{"q": {"label": "a"}}]',
        {"q": {"label": "a"}},
    ],
    ids=["string", "bytes", "double-encoded", "triple-encoded", "envelope", "object"],
)
def test_decode_content_accepts_every_known_encoding(raw):
    assert decode_content(raw) == {"q": {"label": "a"}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "content is not JSON"),
        ("", "content is not JSON"),
        (b"\xff\xfe", "content is not UTF-8 text"),
        ("[1, 2]", "content is a JSON array, not an object"),
        ('"just text"', "content is a JSON string, not an object"),
        ("42", "content is a JSON number, not an object"),
        (None, "content is a JSON null, not an object"),
    ],
)
def test_decode_content_rejects_what_is_not_an_object(raw, message):
    with pytest.raises(AnswerError, match=message):
        decode_content(raw)


# -- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        {"sentiment": {"label": "positive"}},
        {"crowd-classifier": {"label": "positive"}, "note": "sure", "agree": {"on": True}},
        {"species": {"label": "positive", "workerComment": "blurry"}},
        {"hidden": json.dumps({"label": "positive"})},
    ],
    ids=["sample", "extra-fields", "worker-comment", "stringified"],
)
def test_class_label_from_content_finds_the_answer_by_shape(content):
    assert class_label_from_content(content) == "positive"


def test_class_label_from_content_reads_a_named_answer():
    content = {"first": {"label": "a"}, "second": {"label": "b"}}

    assert class_label_from_content(content, name="second") == "b"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({}, r"no top-level answer is an object with 'label' \(keys: \[\]\)"),
        (
            {"q": {"labels": ["a"]}},
            r"no top-level answer is an object with 'label' \(keys: \['q'\]\)",
        ),
        ({"a": {"label": "x"}, "b": {"label": "y"}}, r"several top-level answers .*\['a', 'b'\]"),
        ({"q": {"label": ""}}, r"q\.label must be a non-empty string, got empty string"),
        ({"q": {"label": 3}}, r"q\.label must be a non-empty string, got number"),
        ({"q": {"label": None}}, r"q\.label must be a non-empty string, got null"),
    ],
)
def test_class_label_from_content_explains_what_is_wrong(content, message):
    with pytest.raises(AnswerError, match=message):
        class_label_from_content(content)


def test_class_label_from_content_rejects_a_named_answer_of_another_shape():
    with pytest.raises(AnswerError, match="answer 'note' is not an object with 'label'"):
        class_label_from_content({"note": "text", "q": {"label": "a"}}, name="note")


def test_class_label_from_content_rejects_a_missing_named_answer():
    with pytest.raises(AnswerError, match=r"no answer named 'x' \(keys: \['q'\]\)"):
        class_label_from_content({"q": {"label": "a"}}, name="x")


def test_class_labels_from_content_returns_the_selected_set():
    content = {"tags": {"labels": ["person", "bicycle", "person"]}}

    assert class_labels_from_content(content) == frozenset({"person", "bicycle"})


def test_class_labels_from_content_allows_no_selection():
    assert class_labels_from_content({"tags": {"labels": []}}) == frozenset()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"tags": {"labels": "person"}}, r"tags\.labels must be a list, got string"),
        ({"tags": {"labels": ["a", 1]}}, r"tags\.labels\[1\] must be a non-empty string"),
    ],
)
def test_class_labels_from_content_rejects_bad_lists(content, message):
    with pytest.raises(AnswerError, match=message):
        class_labels_from_content(content)


# -- boxes -----------------------------------------------------------------------------------------


def test_boxes_from_content_reads_the_sample_answer(load_event):
    content = decode_content(
        load_event("payload.bbox.3workers.json")[0]["annotations"][0]["annotationData"]["content"]
    )

    answer = boxes_from_content(content)

    assert answer == BoxesAnswer(
        (
            AnswerBox("dog", 100.0, 220.0, 410.0, 500.0),
            AnswerBox("cat", 720.0, 400.0, 260.0, 300.0),
        ),
        1280,
        960,
    )


def test_boxes_from_content_allows_no_boxes_and_no_image_size():
    assert boxes_from_content({"annotatedResult": {"boundingBoxes": []}}) == BoxesAnswer(())


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"left": 1, "top": 1, "width": 5, "height": 5}, r"boundingBoxes\[0\]\.label must be"),
        (
            {"label": "dog", "left": "1", "top": 1, "width": 5, "height": 5},
            r"\.left must be a finite number, got string",
        ),
        (
            {"label": "dog", "left": 1, "top": 1, "width": 0, "height": 5},
            "must have a positive size",
        ),
        (
            {"label": "dog", "left": 1, "top": 1, "width": 5, "height": -2},
            "must have a positive size",
        ),
        (
            {"label": "dog", "left": 1, "top": True, "width": 5, "height": 5},
            r"\.top must be a finite number, got boolean",
        ),
    ],
)
def test_boxes_from_content_rejects_malformed_boxes(box, message):
    with pytest.raises(AnswerError, match=message):
        boxes_from_content({"bb": {"boundingBoxes": [box]}})


def test_boxes_from_content_rejects_a_bad_image_size():
    content = {"bb": {"boundingBoxes": [], "inputImageProperties": {"width": 0, "height": 5}}}

    with pytest.raises(AnswerError, match=r"bb\.inputImageProperties must be positive"):
        boxes_from_content(content)


# -- entities, keypoints, segmentation -------------------------------------------------------------


def test_entities_from_content_reads_spans():
    content = {
        "crowd-entity-annotation": {
            "entities": [
                {"label": "person", "startOffset": 0, "endOffset": 5},
                {"label": "date", "startOffset": 18.0, "endOffset": 27},
            ]
        }
    }

    assert entities_from_content(content) == (
        AnswerSpan("person", 0, 5),
        AnswerSpan("date", 18, 27),
    )


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (
            {"label": "p", "startOffset": 5, "endOffset": 5},
            r"offsets 5\.\.5; need 0 <= start < end",
        ),
        ({"label": "p", "startOffset": -1, "endOffset": 5}, "need 0 <= start < end"),
        (
            {"label": "p", "startOffset": 1.5, "endOffset": 5},
            r"startOffset must be an integer, got 1\.5",
        ),
        ({"startOffset": 0, "endOffset": 5}, r"entities\[0\]\.label must be"),
    ],
)
def test_entities_from_content_rejects_bad_offsets(entity, message):
    with pytest.raises(AnswerError, match=message):
        entities_from_content({"ner": {"entities": [entity]}})


def test_keypoints_from_content_reads_points_and_image_size():
    content = {
        "kp": {
            "inputImageProperties": {"width": 962, "height": 1314},
            "keypoints": [{"label": "nose", "x": 155, "y": 275.5}],
        }
    }

    assert keypoints_from_content(content) == KeypointsAnswer(
        (AnswerKeypoint("nose", 155.0, 275.5),), 962, 1314
    )


def test_keypoints_from_content_rejects_missing_coordinates():
    with pytest.raises(AnswerError, match=r"kp\.keypoints\[0\]\.y must be a finite number"):
        keypoints_from_content({"kp": {"keypoints": [{"label": "nose", "x": 1}]}})


def test_segmentation_from_content_reads_png_and_colours():
    content = {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": 4, "height": 3},
            "labelMappings": {"Bird": {"color": "#2CA02C"}},
            "labeledImage": {"pngImageData": "data:image/png;base64,iVBORw0KGgo="},
        }
    }

    assert segmentation_from_content(content) == SegmentationAnswer(
        "iVBORw0KGgo=", {"Bird": "#2ca02c"}, 4, 3
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"labeledImage": {}}, r"seg\.labeledImage\.pngImageData must be a non-empty string"),
        (
            {"labeledImage": {"pngImageData": "x"}, "labelMappings": {"Bird": {"color": "green"}}},
            "must be '#rrggbb'",
        ),
        (
            {"labeledImage": {"pngImageData": "x"}, "labelMappings": {"Bird": "#00ff00"}},
            r"labelMappings\['Bird'\] must be an object",
        ),
    ],
)
def test_segmentation_from_content_rejects_bad_answers(answer, message):
    with pytest.raises(AnswerError, match=message):
        segmentation_from_content({"seg": answer})


# -- free text and numbers -------------------------------------------------------------------------


def test_free_text_from_content_reads_the_only_string():
    content = {"transcription": "line one\nline two", "agree": {"on": True}}

    assert free_text_from_content(content) == "line one\nline two"


def test_free_text_from_content_needs_a_name_when_several_strings_exist():
    content = {"transcription": "words", "comment": "hard to read"}

    with pytest.raises(AnswerError, match=r"several top-level answers are a string"):
        free_text_from_content(content)
    assert free_text_from_content(content, name="transcription") == "words"


def test_free_text_from_content_rejects_content_without_text():
    with pytest.raises(AnswerError, match="no top-level answer is a string"):
        free_text_from_content({"q": {"label": "a"}})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"fluency": 4}, 4),
        ({"fluency": "4"}, 4),
        ({"fluency": " 3.5 "}, 3.5),
        ({"fluency": 2.25, "comment": "fine"}, 2.25),
    ],
)
def test_number_from_content_reads_numbers_and_numeric_text(content, expected):
    value = number_from_content(content)

    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"comment": "fine"}, "no top-level answer is a number"),
        ({"a": 1, "b": 2}, "several top-level answers are a number"),
        ({"a": "nan"}, "no top-level answer is a number"),
        ({"a": True}, "no top-level answer is a number"),
    ],
)
def test_number_from_content_rejects_missing_or_ambiguous_numbers(content, message):
    with pytest.raises(AnswerError, match=message):
        number_from_content(content)


def test_number_from_content_rejects_a_named_non_number():
    with pytest.raises(AnswerError, match="'a' must be a finite number"):
        number_from_content({"a": "inf"}, name="a")


# -- dispatch ------------------------------------------------------------------------------------

ANSWERS: dict[str, tuple[dict[str, Any], Any]] = {
    "image-classification": ({"q": {"label": "cat"}}, "cat"),
    "text-classification": ({"q": {"label": "cat"}}, "cat"),
    "image-classification-multilabel": ({"q": {"labels": ["cat"]}}, frozenset({"cat"})),
    "text-classification-multilabel": ({"q": {"labels": ["cat"]}}, frozenset({"cat"})),
    "bounding-box": ({"q": {"boundingBoxes": []}}, BoxesAnswer(())),
    "semantic-segmentation": (
        {"q": {"labeledImage": {"pngImageData": "iVBOR"}}},
        SegmentationAnswer("iVBOR"),
    ),
    "named-entity": ({"q": {"entities": []}}, ()),
    "free-text": ({"q": "text"}, "text"),
    "numeric": ({"q": 2}, 2),
    "keypoint": ({"q": {"keypoints": []}}, KeypointsAnswer(())),
}


def test_answer_from_content_covers_every_task_type():
    assert set(ANSWERS) == set(TASK_TYPES)


@pytest.mark.parametrize("task_type", sorted(ANSWERS))
def test_answer_from_content_dispatches_on_the_task_type(task_type):
    content, expected = ANSWERS[task_type]

    assert answer_from_content(task_type, content) == expected
