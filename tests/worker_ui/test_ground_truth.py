"""Ground Truth templates: rendered with Ground Truth's Liquid for lines of their task type."""

from __future__ import annotations

import json

import pytest
from liquid.exceptions import UndefinedError

from gt_contracts import REVIEW_TASK_INPUT_KEYS, TASK_INPUT_KEYS
from tests.worker_ui.cases import CASES, HOSTILE_TEXT, Case, review_input, task_input
from tests.worker_ui.html_parse import Tags
from worker_ui import MAX_TEMPLATE_CHARS, ground_truth_template, review_template
from worker_ui.liquid import render_template, template_variables

ALL = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


def _rendered(case: Case, **project: object) -> Tags:
    spec = case.project(**project)
    return Tags(render_template(ground_truth_template(spec), task_input(spec, case.line)))


@ALL
def test_template_reads_only_keys_the_pre_annotation_lambda_produces(case):
    variables = template_variables(ground_truth_template(case.project()))

    assert variables <= set(TASK_INPUT_KEYS)
    assert {"taskObject", "shortInstruction", "fullInstruction"} <= variables


@ALL
def test_review_template_reads_only_review_keys_and_the_prediction(case):
    variables = template_variables(review_template(case.project()))

    assert variables <= set(REVIEW_TASK_INPUT_KEYS)
    assert {"prediction", "confidence"} <= variables


@ALL
def test_template_renders_its_element_with_the_answer_name(case):
    tags = _rendered(case)

    element = tags.one(case.element)
    assert element["name"] == "answer"
    form_count = 0 if case.task_type == "named-entity" else 1
    assert len(tags.named("crowd-form")) == form_count
    assert len(tags.named("short-instructions")) == 1
    assert tags.one("full-instructions")["header"] == "Instructions"


def test_template_uses_the_projects_answer_name():
    case = CASES["text-classification"]

    assert _rendered(case, answer_name="sentiment").one(case.element)["name"] == "sentiment"


@pytest.mark.parametrize(
    ("task_type", "attribute"),
    [
        ("image-classification", "categories"),
        ("image-classification-multilabel", "categories"),
        ("text-classification", "categories"),
        ("text-classification-multilabel", "categories"),
        ("bounding-box", "labels"),
        ("semantic-segmentation", "labels"),
        ("keypoint", "labels"),
    ],
)
def test_labels_reach_the_element_as_a_json_array(task_type, attribute):
    case = CASES[task_type]

    element = _rendered(case).one(case.element)

    assert json.loads(element[attribute] or "") == list(case.labels)


def test_entity_labels_are_label_objects():
    case = CASES["named-entity"]

    element = _rendered(case).one(case.element)

    assert json.loads(element["labels"] or "") == [{"label": "person"}, {"label": "place"}]
    assert element["text"] == case.line["source"]


@pytest.mark.parametrize("task_type", ["image-classification", "bounding-box", "keypoint"])
def test_images_are_shown_through_grant_read_access(task_type):
    case = CASES[task_type]

    element = _rendered(case).one(case.element)

    assert element["src"] == "https://labelflow-intake.s3.amazonaws.com/items/0001.jpg"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ({"source-ref": "s3://labelflow-intake/k.png"}, "img"),
        ({"source": "hello"}, "div"),
    ],
)
def test_free_text_shows_an_image_or_a_text_item(line, shown):
    case = CASES["free-text"]
    spec = case.project()

    tags = Tags(render_template(ground_truth_template(spec), task_input(spec, line)))

    items = [a for name, a in tags.tags if a.get("class") == "labelflow-item"]
    assert [name for name, a in tags.tags if a.get("class") == "labelflow-item"] == [shown]
    assert len(items) == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_ground_truth_and_review_pages_list_no_shortcuts_nothing_would_bind(name):
    project = CASES[name].project()

    for template in (ground_truth_template(project), review_template(project)):
        assert "Keyboard shortcuts" not in template
        assert "<kbd>" not in template


def test_examples_are_baked_into_the_instructions():
    case = CASES["image-classification"]
    examples = (
        {
            "kind": "good",
            "label": "cat",
            "why": "Whole cat, in focus.",
            "image_url": "https://x/c.jpg",
        },
        {
            "kind": "bad",
            "label": "dog",
            "why": "Only a tail shows.",
            "image_url": "https://x/t.jpg",
        },
    )

    tags = _rendered(case, examples=examples)

    images = [a["src"] for a in tags.named("img")]
    assert images == ["https://x/c.jpg", "https://x/t.jpg"] * 2  # short and full instructions
    text = " ".join(tags.text)
    assert "Whole cat, in focus." in text
    assert "Only a tail shows." in text


HOSTILE = HOSTILE_TEXT


def test_hostile_project_and_item_text_renders_inert():
    # Given a label, both instructions, an example and the item itself carrying markup,
    # quotes and Liquid delimiters
    case = CASES["text-classification"]
    spec = case.project(
        labels=(HOSTILE, "fine"),
        short_instruction=HOSTILE,
        full_instruction=HOSTILE,
        examples=({"kind": "good", "label": HOSTILE, "why": HOSTILE, "text": HOSTILE},),
    )
    line = {"source": HOSTILE}

    # When the template renders
    rendered = render_template(ground_truth_template(spec), task_input(spec, line))

    # Then the only script is the crowd elements loader, and the texts come back verbatim
    tags = Tags(rendered)
    assert [name for name, _ in tags.tags].count("script") == 1
    assert json.loads(tags.one(case.element)["categories"] or "") == [HOSTILE, "fine"]
    assert tags.one(case.element)["header"] == HOSTILE
    assert "".join(tags.text).count(HOSTILE) >= 4
    assert "front" not in rendered  # metadata was never interpolated
    assert "alert('x')</script>" not in rendered


@ALL
def test_rendered_templates_stay_under_the_size_limit(case):
    labels = tuple(f"label-{i:02d}" for i in range(10)) if case.labels else ()
    examples = tuple(
        {"kind": "good", "label": labels[0] if labels else "x", "why": "w" * 500}
        | ({"text": "t" * 500} if "source" in case.line else {"image_url": "https://x/a.jpg"})
        for _ in range(5)
    )
    spec = case.project(labels=labels, examples=examples)

    template = ground_truth_template(spec)
    rendered = render_template(template, task_input(spec, case.line))

    assert len(template) < MAX_TEMPLATE_CHARS
    assert len(rendered) < MAX_TEMPLATE_CHARS


def test_oversized_examples_are_refused_with_the_limit():
    case = CASES["text-classification"]
    spec = case.project(
        examples=({"kind": "good", "label": "positive", "why": "w", "text": "t" * 70_000},)
    )

    with pytest.raises(ValueError, match=r"128,000"):
        ground_truth_template(spec)


@pytest.mark.parametrize("task_type", ["image-classification", "bounding-box"])
def test_more_labels_than_the_element_shows_are_refused(task_type):
    spec = CASES[task_type].project(labels=tuple(f"l{i}" for i in range(11)))

    with pytest.raises(ValueError, match="at most 10 labels"):
        ground_truth_template(spec)


def test_a_variable_outside_task_input_is_reported():
    with pytest.raises(ValueError, match=r"reads 'labels', which is not in task\.input"):
        template_variables("{{ labels }}")


def test_a_variable_outside_task_input_fails_rendering():
    with pytest.raises(UndefinedError):
        render_template("{{ task.input.nothing }}", {"taskObject": "x"})


@ALL
def test_review_template_prefills_or_announces_the_prediction(case):
    spec = case.project()

    rendered = render_template(review_template(spec), review_input(case, spec))

    tags = Tags(rendered)
    alert = " ".join(tags.text)
    assert "confidence 58%" in alert
    element = tags.one(case.element)
    prefill = element.get("initial-value") or element.get("value")
    if case.task_type in ("bounding-box", "keypoint", "named-entity"):
        key = {"bounding-box": "boundingBoxes", "keypoint": "keypoints"}.get(
            case.task_type, "entities"
        )
        assert json.loads(prefill or "") == case.prediction[key]
    elif case.task_type == "semantic-segmentation":
        assert json.loads(prefill or "") == {
            "labelMappings": case.prediction["labelMappings"],
            "src": "https://labelflow-models.s3.amazonaws.com/masks/0001.png",
        }
    elif case.task_type == "text-classification":
        assert prefill == "positive"
    elif case.task_type in ("free-text", "numeric"):
        assert prefill == str(case.prediction)
    else:  # the image classifiers and multi-selects have no pre-fill; the alert names it
        assert case.prediction.get("label", ", ".join(case.prediction.get("labels", []))) in alert


@ALL
def test_hostile_labels_instructions_and_examples_are_inert_in_every_template(case):
    labels = (HOSTILE, "fine") if case.labels else ()
    item = {"text": HOSTILE} if "source" in case.line else {"image_url": "https://x/a.jpg"}
    example = {"kind": "bad", "label": HOSTILE, "why": HOSTILE, **item}
    spec = case.project(
        labels=labels,
        short_instruction=HOSTILE,
        full_instruction=HOSTILE,
        examples=(example,),
    )

    for template, task in (
        (ground_truth_template(spec), task_input(spec, case.line)),
        (review_template(spec), review_input(case, spec)),
    ):
        rendered = render_template(template, task)
        tags = Tags(rendered)
        assert [name for name, _ in tags.tags].count("script") == 1
        assert "alert('x')</script>" not in rendered
        assert "".join(tags.text).count(HOSTILE) >= 3  # short and full instructions, example
