"""Project examples in the typed config: validated where they are declared."""

from __future__ import annotations

import pytest

from infra.config import ConfigError
from tests.worker_ui.cases import CASES

GOOD = {"kind": "good", "label": "cat", "why": "Whole animal in view."}


def test_an_image_example_is_kept_as_declared():
    project = CASES["image-classification"].project(
        examples=({**GOOD, "image_url": "https://example.com/cat.jpg"},)
    )

    (example,) = project.examples
    assert (example.kind, example.label, example.image_url, example.text) == (
        "good",
        "cat",
        "https://example.com/cat.jpg",
        None,
    )


@pytest.mark.parametrize(
    ("task_type", "example", "message"),
    [
        ("image-classification", {**GOOD, "text": "a cat"}, "examples are images"),
        (
            "text-classification",
            {**GOOD, "label": "positive", "image_url": "https://x/a.jpg"},
            "examples are texts",
        ),
        (
            "image-classification",
            {**GOOD, "label": "cow", "image_url": "https://x/a.jpg"},
            "'cow' is not one of",
        ),
        ("free-text", GOOD, "exactly one of image_url or text"),
        ("image-classification", {**GOOD, "image_url": "http://x/a.jpg"}, "image_url"),
        ("image-classification", {**GOOD, "kind": "fine", "image_url": "https://x/a.jpg"}, "kind"),
    ],
)
def test_invalid_examples_name_the_project_and_the_problem(task_type, example, message):
    with pytest.raises(ConfigError, match=rf"'demo'.*examples.*{message}"):
        CASES[task_type].project(examples=(example,))


def test_free_text_examples_take_any_expected_answer():
    project = CASES["free-text"].project(
        examples=({"kind": "bad", "label": "car", "why": "Too vague.", "text": "A red car"},)
    )

    assert project.examples[0].label == "car"


def test_projects_without_examples_have_none():
    assert CASES["numeric"].project().examples == ()
