from __future__ import annotations

import json
from typing import Any

import pytest

from gt_contracts import (
    ContractError,
    ProjectConfig,
    WorkerAlert,
    parse_projects,
    resolve_project,
)

PETS = {"task_type": "bounding-box", "labels": ["dog", "cat"], "short_instruction": "Box pets"}


def _projects(**entries: Any) -> str:
    return json.dumps(entries)


def test_parse_projects_reads_every_field():
    text = _projects(
        reviews={
            "task_type": "text-classification",
            "labels": ["negative", "positive"],
            "method": "dawid-skene",
            "method_params": {"max_iter": 10},
            "short_instruction": "Pick one",
            "full_instruction": "<p>Read it all</p>",
        }
    )

    assert parse_projects(text) == {
        "reviews": ProjectConfig(
            name="reviews",
            task_type="text-classification",
            labels=("negative", "positive"),
            method="dawid-skene",
            method_params={"max_iter": 10},
            short_instruction="Pick one",
            full_instruction="<p>Read it all</p>",
        )
    }


def test_parse_projects_reads_workers_per_item():
    (project,) = parse_projects(
        _projects(notes={"task_type": "free-text", "workers_per_item": 3})
    ).values()

    assert project.workers_per_item == 3


@pytest.mark.parametrize("workers", [0, 10, "3", True])
def test_parse_projects_rejects_invalid_workers_per_item(workers):
    with pytest.raises(ContractError, match="workers_per_item"):
        parse_projects(_projects(notes={"task_type": "free-text", "workers_per_item": workers}))


def test_parse_projects_applies_defaults_and_ignores_unknown_keys():
    (project,) = parse_projects(
        _projects(notes={"task_type": "free-text", "ui_theme": "dark"})
    ).values()

    assert project == ProjectConfig(name="notes", task_type="free-text")
    assert project.workers_per_item == 1
    assert project.method == "auto"
    assert project.method_params == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "LABELFLOW_PROJECTS is missing or empty"),
        ("  ", "LABELFLOW_PROJECTS is missing or empty"),
        ("{pets:", "LABELFLOW_PROJECTS is not valid JSON"),
        ("[]", "must be a JSON object keyed by project name"),
        ("{}", "configures no project"),
        (_projects(pets=[]), r"LABELFLOW_PROJECTS\['pets'\] must be an object"),
        (_projects(pets={"labels": ["a"]}), r"\['pets'\]\.task_type is missing"),
        (
            _projects(pets={**PETS, "task_type": "boxes"}),
            r"\['pets'\]\.task_type 'boxes' is not one of",
        ),
        (_projects(pets={**PETS, "labels": "dog"}), r"\['pets'\]\.labels must be a list"),
        (
            _projects(pets={**PETS, "labels": ["dog", ""]}),
            r"\['pets'\]\.labels\[1\] must be a non-empty string",
        ),
        (
            _projects(pets={**PETS, "labels": ["dog", "dog"]}),
            r"\.labels has duplicate names: \['dog'\]",
        ),
        (_projects(pets={**PETS, "labels": []}), r"needs at least 1 labels, got 0"),
        (
            _projects(pets={**PETS, "task_type": "image-classification", "labels": ["dog"]}),
            "needs at least 2 labels",
        ),
        (
            _projects(pets={**PETS, "method": "dawid-skene"}),
            r"\.method: task type 'bounding-box' has a single method",
        ),
        (_projects(pets={**PETS, "method": ""}), r"\.method must be a non-empty string"),
        (_projects(pets={**PETS, "method_params": [1]}), r"\.method_params must be an object"),
        (_projects(pets={**PETS, "short_instruction": 3}), r"\.short_instruction must be a string"),
    ],
)
def test_parse_projects_names_the_invalid_field(text, message):
    with pytest.raises(ContractError, match=message):
        parse_projects(text)


def test_parse_projects_lets_multilabel_projects_choose_a_method():
    text = _projects(
        tags={
            "task_type": "image-classification-multilabel",
            "labels": ["a", "b"],
            "method": "majority-vote",
        }
    )

    assert parse_projects(text)["tags"].method == "majority-vote"


def _config(*names: str) -> dict[str, ProjectConfig]:
    return {n: ProjectConfig(name=n, task_type="free-text") for n in names}


@pytest.mark.parametrize(
    ("names", "job", "expected"),
    [
        (("pets", "pets-night"), "pets-night-2024-05", "pets-night"),
        (("pets", "pets-night"), "pets-2024-05", "pets"),
        (("pets", "cars"), "PETS-2024", "pets"),
        (("solo",), "anything-else", "solo"),
    ],
)
def test_resolve_project_takes_the_longest_matching_name(names, job, expected):
    assert resolve_project(_config(*names), job).name == expected


def test_resolve_project_requires_the_hyphen_after_the_name():
    with pytest.raises(ContractError, match="'petsy-1' belongs to no configured project"):
        resolve_project(_config("pets", "cars"), "petsy-1")


def test_resolve_project_names_the_job_and_the_projects():
    with pytest.raises(ContractError, match=r"'boats-1'.*\['cars', 'pets'\]"):
        resolve_project(_config("pets", "cars"), "boats-1")


def test_answer_name_is_optional_and_read_when_given():
    projects = parse_projects(
        json.dumps(
            {
                "notes": {"task_type": "free-text", "answer_name": "transcription"},
                "pets": {"task_type": "bounding-box", "labels": ["dog"]},
            }
        )
    )

    assert projects["notes"].answer_name == "transcription"
    assert projects["pets"].answer_name is None


@pytest.mark.parametrize("answer_name", ["", 5, ["transcription"]])
def test_answer_name_must_be_a_non_empty_string(answer_name):
    text = json.dumps({"notes": {"task_type": "free-text", "answer_name": answer_name}})

    with pytest.raises(ContractError, match=r"\['notes'\]\.answer_name must be a non-empty"):
        parse_projects(text)


def test_worker_alert_is_off_unless_given_and_takes_its_defaults():
    projects = parse_projects(
        _projects(pets=PETS, watched={**PETS, "worker_alert": {"min_accuracy": 0.6}})
    )

    assert projects["pets"].worker_alert is None
    assert projects["watched"].worker_alert == WorkerAlert(
        min_accuracy=0.6, min_answers=20, removal="none"
    )


def test_worker_alert_removal_is_read_for_label_studio_projects():
    alert = {"min_accuracy": 0.7, "min_answers": 50, "removal": "organization"}
    text = _projects(pets={**PETS, "backend": "labelstudio", "worker_alert": alert})

    assert parse_projects(text)["pets"].worker_alert == WorkerAlert(
        min_accuracy=0.7, min_answers=50, removal="organization"
    )


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ([0.6], r"worker_alert must be an object or null"),
        ({}, r"worker_alert\.min_accuracy must be a number between 0 and 1"),
        ({"min_accuracy": 1}, r"worker_alert\.min_accuracy must be a number between 0 and 1"),
        ({"min_accuracy": True}, r"worker_alert\.min_accuracy must be a number between 0 and 1"),
        ({"min_accuracy": 0.6, "min_answers": 0}, r"worker_alert\.min_answers must be a positive"),
        ({"min_accuracy": 0.6, "removal": "ban"}, r"worker_alert\.removal 'ban' is not one of"),
        (
            {"min_accuracy": 0.6, "removal": "project"},
            r"worker_alert\.removal 'project' needs the labelstudio",
        ),
    ],
)
def test_a_malformed_worker_alert_is_refused_naming_the_field(alert, message):
    with pytest.raises(ContractError, match=r"\['pets'\]\." + message):
        parse_projects(_projects(pets={**PETS, "worker_alert": alert}))
