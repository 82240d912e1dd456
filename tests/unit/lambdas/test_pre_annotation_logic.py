from __future__ import annotations

import pytest

from gt_contracts import (
    TASK_INPUT_KEYS,
    ContractError,
    PreAnnotationEvent,
    ProjectConfig,
    build_task_input,
    line_problem,
    prepare,
)

PETS = ProjectConfig(
    name="pet-boxes",
    task_type="bounding-box",
    labels=("dog", "cat"),
    short_instruction="Box every pet",
    full_instruction="<p>One tight box per animal.</p>",
)
REVIEWS = ProjectConfig(
    name="review-sentiment",
    task_type="text-classification",
    labels=("negative", "neutral", "positive"),
    short_instruction="How does the customer feel?",
)
PROJECTS = {p.name: p for p in (PETS, REVIEWS)}


def test_build_task_input_for_a_source_ref_line(load_event):
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source-ref.json"))

    assert build_task_input(event, PETS) == {
        "taskObject": "s3://my-sagemaker-gt-bucket/input/images/dog-0001.jpg",
        "sourceKind": "s3",
        "taskType": "bounding-box",
        "labels": ["dog", "cat"],
        "shortInstruction": "Box every pet",
        "fullInstruction": "<p>One tight box per animal.</p>",
        "metadata": {"camera": "front-door", "capture-date": "2024-05-02"},
    }


def test_build_task_input_never_shows_workers_the_lines_gold_answer(load_event):
    raw = load_event("pre-annotation-event.source.json")
    raw["dataObject"] = {**raw["dataObject"], "review-sentiment-gold": "positive", "x-gold": 1}
    event = PreAnnotationEvent.from_event(raw)

    task_input = build_task_input(event, REVIEWS)

    assert task_input["metadata"] == {"review-id": "r-9001", "x-gold": 1}


def test_build_task_input_for_a_source_line(load_event):
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source.json"))

    task_input = build_task_input(event, REVIEWS)

    assert tuple(task_input) == TASK_INPUT_KEYS
    assert task_input["taskObject"] == (
        "The delivery was late but the support team fixed it quickly."
    )
    assert task_input["sourceKind"] == "text"
    assert task_input["fullInstruction"] == ""
    assert task_input["metadata"] == {"review-id": "r-9001"}


@pytest.mark.parametrize(
    ("event_file", "project", "message"),
    [
        ("pre-annotation-event.source.json", PETS, "labels 'source-ref' lines; .* a 'source' line"),
        (
            "pre-annotation-event.source-ref.json",
            REVIEWS,
            "labels 'source' lines; .* a 'source-ref' line",
        ),
    ],
)
def test_build_task_input_rejects_a_line_the_task_type_cannot_label(
    load_event, event_file, project, message
):
    event = PreAnnotationEvent.from_event(load_event(event_file))

    with pytest.raises(ContractError, match=message):
        build_task_input(event, project)


@pytest.mark.parametrize("task_type", ["free-text", "numeric"])
def test_build_task_input_lets_free_text_and_numbers_take_either_line(load_event, task_type):
    project = ProjectConfig(name="notes", task_type=task_type)
    for name in ("pre-annotation-event.source.json", "pre-annotation-event.source-ref.json"):
        event = PreAnnotationEvent.from_event(load_event(name))

        assert build_task_input(event, project)["labels"] == []


def test_prepare_resolves_the_project_from_the_job_name(load_event):
    prepared = prepare(load_event("pre-annotation-event.source-ref.json"), PROJECTS)

    assert prepared.project is PETS
    assert prepared.skipped is None
    assert prepared.response.to_json()["isHumanAnnotationRequired"] is True
    assert prepared.response.to_json()["taskInput"]["taskType"] == "bounding-box"


def test_prepare_leaves_out_the_lines_of_a_job_of_no_project(load_event):
    prepared = prepare(
        load_event("pre-annotation-event.source.json"), {"pet-boxes": PETS, "cars": PETS}
    )

    assert prepared.project is None
    assert prepared.skipped is not None
    assert "'review-sentiment-2024' belongs to no" in prepared.skipped
    assert prepared.response.to_json() == {
        "taskInput": {"skipReason": prepared.skipped},
        "isHumanAnnotationRequired": False,
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"source-ref": "s3://b/a.jpg"}, None),
        ({"source": "a text"}, "labels 'source-ref' lines; this is a 'source' line"),
        ({"source": "a", "source-ref": "s3://b/a.jpg"}, "exactly one of"),
        ({"id": 3}, "exactly one of"),
    ],
)
def test_line_problem_says_why_a_line_cannot_be_shown(line, problem):
    found = line_problem(PETS, line)

    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
