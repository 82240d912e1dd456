from __future__ import annotations

import pytest

from gt_contracts import ContractError, PreAnnotationEvent, ProjectConfig
from pre_annotation.logic import TASK_INPUT_KEYS, build_task_input, prepare

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
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source-ref.json"))

    project, response = prepare(event, PROJECTS)

    assert project is PETS
    assert response.to_json()["isHumanAnnotationRequired"] is True
    assert response.to_json()["taskInput"]["taskType"] == "bounding-box"


def test_prepare_rejects_a_job_of_no_project(load_event):
    event = PreAnnotationEvent.from_event(load_event("pre-annotation-event.source.json"))

    with pytest.raises(ContractError, match="'review-sentiment-2024' belongs to no"):
        prepare(event, {"pet-boxes": PETS, "cars": PETS})
