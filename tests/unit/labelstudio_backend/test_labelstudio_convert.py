"""Label Studio answers become the answer shapes of docs/contracts.md, which the contracts read."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import (
    AnswerBox,
    AnswerSpan,
    BoxesAnswer,
    KeypointsAnswer,
    answer_from_content,
)
from labelstudio_backend.convert import (
    CONVERTIBLE_TASK_TYPES,
    ConversionError,
    answer_content,
    utf16_to_index,
)


def region(kind: str, value: dict[str, Any], name: str = "answer", **extra: Any) -> dict[str, Any]:
    return {"from_name": name, "to_name": "x", "type": kind, "value": value, **extra}


def rectangle(label: str, x: float, y: float, w: float, h: float, **extra: Any) -> dict[str, Any]:
    value = {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}
    return region("rectanglelabels", value, original_width=1280, original_height=960, **extra)


@pytest.mark.parametrize("task_type", ["image-classification", "text-classification"])
def test_single_choice_is_a_crowd_classifier_label(task_type):
    content = answer_content(task_type, [region("choices", {"choices": ["dog"]})], name="answer")

    assert content == {"answer": {"label": "dog"}}
    assert answer_from_content(task_type, content) == "dog"


@pytest.mark.parametrize(
    "task_type", ["image-classification-multilabel", "text-classification-multilabel"]
)
def test_multiple_choices_are_a_multi_select_labels_list(task_type):
    content = answer_content(
        task_type, [region("choices", {"choices": ["dog", "cat"]})], name="answer"
    )

    assert content == {"answer": {"labels": ["dog", "cat"]}}
    assert answer_from_content(task_type, content) == frozenset({"dog", "cat"})


def test_no_choice_in_multilabel_is_an_empty_labels_list():
    content = answer_content("text-classification-multilabel", [], name="answer")

    assert content == {"answer": {"labels": []}}


def test_regions_of_other_controls_are_ignored():
    regions = [
        region("choices", {"choices": ["dog"]}),
        region("textarea", {"text": ["a comment"]}, name="comment"),
    ]

    assert answer_content("image-classification", regions, name="answer") == {
        "answer": {"label": "dog"}
    }


def test_rectangles_in_percent_become_pixel_boxes():
    regions = [rectangle("dog", 10, 25, 50, 50), rectangle("cat", 0, 0, 12.5, 10)]

    content = answer_content("bounding-box", regions, name="answer")

    assert content == {
        "answer": {
            "boundingBoxes": [
                {"label": "dog", "left": 128, "top": 240, "width": 640, "height": 480},
                {"label": "cat", "left": 0, "top": 0, "width": 160, "height": 96},
            ],
            "inputImageProperties": {"width": 1280, "height": 960},
        }
    }
    parsed = answer_from_content("bounding-box", content)
    assert parsed == BoxesAnswer(
        (AnswerBox("dog", 128, 240, 640, 480), AnswerBox("cat", 0, 0, 160, 96)), 1280, 960
    )


def test_no_rectangles_is_an_empty_box_answer():
    content = answer_content("bounding-box", [], name="answer")

    assert content == {"answer": {"boundingBoxes": []}}
    parsed = answer_from_content("bounding-box", content)
    assert isinstance(parsed, BoxesAnswer)
    assert parsed.boxes == ()


def test_a_rotated_rectangle_has_no_pixel_box():
    rotated = rectangle("dog", 10, 10, 20, 20)
    rotated["value"]["rotation"] = 30

    with pytest.raises(ConversionError, match="rotated"):
        answer_content("bounding-box", [rotated], name="answer")


def test_a_rectangle_without_the_image_size_is_refused():
    box = region(
        "rectanglelabels", {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["dog"]}
    )

    with pytest.raises(ConversionError, match="original_width"):
        answer_content("bounding-box", [box], name="answer")


def test_label_spans_become_entities_with_character_offsets():
    text = "Amazon SageMaker launched in November 2017."
    spans = [
        region("labels", {"start": 28, "end": 41, "text": "November 2017", "labels": ["Date"]})
    ]

    content = answer_content("named-entity", spans, name="answer", text=text)

    assert content == {
        "answer": {"entities": [{"label": "Date", "startOffset": 28, "endOffset": 41}]}
    }
    assert answer_from_content("named-entity", content) == (AnswerSpan("Date", 28, 41),)


def test_span_offsets_after_an_emoji_count_characters_not_utf16_units():
    text = "\U0001f600 Paris is lovely"  # the emoji is two UTF-16 code units
    spans = [region("labels", {"start": 3, "end": 8, "labels": ["City"]})]

    content = answer_content("named-entity", spans, name="answer", text=text)

    entity = content["answer"]["entities"][0]
    assert text[entity["startOffset"] : entity["endOffset"]] == "Paris"


@pytest.mark.parametrize(("offset", "index"), [(0, 0), (2, 1), (3, 2)])
def test_utf16_offsets_map_to_indexes(offset, index):
    assert utf16_to_index("\U0001f600ab", offset) == index


@pytest.mark.parametrize("offset", [1, 9, -1])
def test_utf16_offsets_inside_a_pair_or_outside_the_text_are_refused(offset):
    with pytest.raises(ConversionError):
        utf16_to_index("\U0001f600ab", offset)


def test_text_area_is_a_string_answer():
    content = answer_content(
        "free-text",
        [region("textarea", {"text": ["a red bicycle"]}, name="caption")],
        name="caption",
    )

    assert content == {"caption": "a red bicycle"}
    assert answer_from_content("free-text", content) == "a red bicycle"


def test_empty_text_area_is_refused():
    with pytest.raises(ConversionError, match="no text"):
        answer_content("free-text", [], name="answer")


@pytest.mark.parametrize(("number", "text"), [(4, "4"), (4.0, "4"), (2.5, "2.5")])
def test_number_is_the_string_crowd_input_submits(number, text):
    content = answer_content("numeric", [region("number", {"number": number})], name="answer")

    assert content == {"answer": text}
    assert answer_from_content("numeric", content) == number


def test_key_points_in_percent_become_pixels():
    point = region(
        "keypointlabels",
        {"x": 50, "y": 25, "width": 1, "keypointlabels": ["nose"]},
        original_width=200,
        original_height=100,
    )

    content = answer_content("keypoint", [point], name="answer")

    assert content == {
        "answer": {
            "keypoints": [{"label": "nose", "x": 100, "y": 25}],
            "inputImageProperties": {"width": 200, "height": 100},
        }
    }
    parsed = answer_from_content("keypoint", content)
    assert isinstance(parsed, KeypointsAnswer)
    assert parsed.points[0].label == "nose"


def test_two_choices_for_a_single_label_task_are_refused():
    with pytest.raises(ConversionError, match="exactly one"):
        answer_content(
            "text-classification", [region("choices", {"choices": ["a", "b"]})], name="answer"
        )


def test_segmentation_is_not_converted():
    assert "semantic-segmentation" not in CONVERTIBLE_TASK_TYPES
    with pytest.raises(ConversionError, match="not converted"):
        answer_content("semantic-segmentation", [], name="answer")
