"""Label Studio configs: valid XML, the task data keys LabelFlow imports, the same labels."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest

from gt_contracts import SourceKind
from tests.worker_ui.cases import CASES, HOSTILE_TEXT, Case
from worker_ui import DATA_KEYS, label_studio_config

ALL = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
CONTROLS = {
    "image-classification": "Choices",
    "text-classification": "Choices",
    "image-classification-multilabel": "Choices",
    "text-classification-multilabel": "Choices",
    "bounding-box": "RectangleLabels",
    "semantic-segmentation": "BrushLabels",
    "named-entity": "Labels",
    "keypoint": "KeyPointLabels",
    "free-text": "TextArea",
    "numeric": "Number",
}


def _kind(case: Case) -> SourceKind:
    return "s3" if "source-ref" in case.line else "text"


def _config(case: Case, **project: Any) -> ET.Element:
    return ET.fromstring(label_studio_config(case.project(**project), source_kind=_kind(case)))


@ALL
def test_config_parses_and_reads_the_items_data_key(case):
    root = _config(case)

    objects = [el for el in root.iter() if el.get("value", "").startswith("$")]
    key = DATA_KEYS[_kind(case)]
    assert [(el.tag, el.get("name"), el.get("value")) for el in objects] == [
        ("Image" if key == "image" else "Text", key, f"${key}")
    ]


@ALL
def test_control_answers_under_the_answer_name_for_the_item(case):
    root = _config(case)

    control = root.find(CONTROLS[case.task_type])
    assert control is not None
    assert control.get("name") == "answer"
    assert control.get("toName") == DATA_KEYS[_kind(case)]


@ALL
def test_each_label_gets_its_hotkey_in_order(case):
    root = _config(case)

    options = [el for el in root.iter() if el.tag in ("Choice", "Label")]
    assert [o.get("value") for o in options] == list(case.labels)
    assert [o.get("hotkey") for o in options] == ["1", "2", "3"][: len(case.labels)]


def test_instructions_and_hotkeys_are_shown_as_headers():
    case = CASES["image-classification"]

    headers = [h.get("value") for h in _config(case).iter("Header")]

    assert headers == [
        "Label the item.",
        "Look closely.",
        "Then answer.",
        "Keyboard shortcuts: 1 = cat, 2 = dog",
    ]


def test_examples_are_listed_with_their_label_and_reason():
    case = CASES["text-classification"]
    example = {"kind": "bad", "label": "positive", "why": "Sarcasm.", "text": "Great, late again."}

    headers = [h.get("value") for h in _config(case, examples=(example,)).iter("Header")]

    assert "Bad example: positive: Great, late again. (Sarcasm.)" in headers


def test_labels_past_the_35th_get_no_hotkey():
    case = CASES["text-classification-multilabel"]
    labels = tuple(f"l{i}" for i in range(40))

    options = list(_config(case, labels=labels).iter("Choice"))

    assert [o.get("hotkey") for o in options[8:10]] == ["9", "a"]
    assert options[34].get("hotkey") == "z"
    assert all(o.get("hotkey") is None for o in options[35:])


def test_single_and_multiple_choice_follow_the_task_type():
    single = _config(CASES["text-classification"]).find("Choices")
    multiple = _config(CASES["image-classification-multilabel"]).find("Choices")

    assert single is not None and single.get("choice") == "single"
    assert multiple is not None and multiple.get("choice") == "multiple"


def test_segmentation_labels_get_distinct_colours():
    labels = [el.get("background") for el in _config(CASES["semantic-segmentation"]).iter("Label")]

    assert labels == ["#1f77b4", "#ff7f0e"]


def test_hostile_text_stays_inside_attribute_values():
    case = CASES["named-entity"]

    text = label_studio_config(
        case.project(labels=(HOSTILE_TEXT, "ok"), short_instruction=HOSTILE_TEXT)
    )

    root = ET.fromstring(text)
    assert "<script>" not in text
    assert [el.get("value") for el in root.iter("Label")] == [HOSTILE_TEXT, "ok"]
    assert root.find("View/Header") is not None
    assert {el.tag for el in root.iter()} <= {"View", "Header", "Labels", "Label", "Text"}


def test_project_text_starting_with_a_dollar_is_not_read_as_a_data_key():
    case = CASES["text-classification"]

    headers = [
        h.get("value")
        for h in _config(case, short_instruction="$text is the review").iter("Header")
    ]

    assert not any(value.startswith("$") for value in headers if value)


@pytest.mark.parametrize("task_type", ["free-text", "numeric"])
def test_either_kind_task_types_need_a_source_kind(task_type):
    with pytest.raises(ValueError, match="source_kind='s3' or source_kind='text'"):
        label_studio_config(CASES[task_type].project())


def test_a_source_kind_the_task_type_cannot_label_is_refused():
    with pytest.raises(ValueError, match="does not label 'text' items"):
        label_studio_config(CASES["bounding-box"].project(), source_kind="text")


@ALL
def test_hostile_text_round_trips_through_every_config(case):
    labels = (HOSTILE_TEXT, "fine") if case.labels else ()
    item = {"text": HOSTILE_TEXT} if "source" in case.line else {"image_url": "https://x/a.jpg"}
    example = {"kind": "good", "label": HOSTILE_TEXT, "why": HOSTILE_TEXT, **item}

    root = _config(case, labels=labels, full_instruction=HOSTILE_TEXT, examples=(example,))

    assert [el.get("value") for el in root.iter() if el.tag in ("Choice", "Label")] == list(labels)
    assert HOSTILE_TEXT in [h.get("value") for h in root.iter("Header")]
