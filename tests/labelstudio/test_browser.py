"""Label Studio's labeling page in a real browser: each config renders cleanly, and a worker
who clicks a label and submits produces the answer the API then returns."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser

from gt_contracts import SourceKind
from labelflow.local.label_studio import Account, LocalLabelStudio
from tests.labelstudio.browser import (
    SUBMIT,
    chromium,
    click_choice,
    open_labeling,
    screenshot_config,
)
from tests.labelstudio.conftest import ARTIFACTS
from tests.worker_ui.cases import CASES
from worker_ui import label_studio_config

SCREENSHOTS = ARTIFACTS / "ui"


def _png_data_uri() -> str:
    """A small two-colour picture, so a screenshot shows the image really rendered."""
    picture = Image.new("RGB", (160, 120), (40, 120, 200))
    picture.paste((250, 200, 40), (40, 30, 120, 90))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass(frozen=True)
class Sample:
    """A catalog labeling config with one task, and the label a worker clicks in it."""

    name: str
    task_type: str
    label_config: str
    task_data: dict[str, Any]
    label: str


_TEXT = "Ada Lovelace wrote notes for Charles Babbage's engine; the notes were a joy to read."


def _samples() -> list[Sample]:
    """One sample per task type of the catalog (two for types that label images or texts)."""
    samples = []
    for task_type, case in CASES.items():
        project = case.project()
        kinds: tuple[SourceKind | None, ...] = (
            ("s3", "text") if task_type in ("free-text", "numeric") else (None,)
        )
        for kind in kinds:
            config = label_studio_config(project, source_kind=kind)
            key = "image" if "$image" in config else "text"
            data = {key: _png_data_uri() if key == "image" else _TEXT}
            suffix = "" if kind is None else f"-{key}"
            label = case.labels[0] if case.labels else ""
            samples.append(Sample(f"{task_type}{suffix}", task_type, config, data, label))
    return samples


SAMPLES = _samples()
#: Task types whose worker ticks a label and submits, in the end-to-end test.
CLICKED = ("image-classification", "text-classification")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_labeling_config_renders_without_errors(
    label_studio: LocalLabelStudio, browser: Browser, sample: Sample
) -> None:
    path = SCREENSHOTS / f"{sample.name}.png"
    path.unlink(missing_ok=True)

    shot = screenshot_config(
        label_studio, sample.label_config, sample.task_data, path, browser=browser
    )

    assert shot.problems.page_errors == []
    assert shot.problems.console_errors == []
    assert shot.problems.outbound_requests == []
    assert path.stat().st_size > 10_000  # a real page, not a blank one
    with Image.open(path) as image:
        assert image.size[0] == 1280


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.name in CLICKED], ids=lambda s: s.name)
def test_worker_clicks_a_label_and_submits_and_the_api_has_the_answer(
    label_studio: LocalLabelStudio, browser: Browser, annotators: list[Account], sample: Sample
) -> None:
    # Given a task in a project with this config, and a worker on its labeling page
    admin = label_studio.client()
    project = admin.create_project(f"Submit {sample.name}"[:50], sample.label_config)
    (task_id,) = admin.import_tasks(project.id, [sample.task_data])
    worker = annotators[1]

    with open_labeling(browser, label_studio, project.id, task_id, account=worker) as (
        page,
        problems,
    ):
        # When the worker clicks a label and submits
        click_choice(page, sample.label)
        with page.expect_response(
            lambda response: "/annotations" in response.url and response.request.method == "POST"
        ) as posted:
            page.locator(SUBMIT).click()
        assert posted.value.status == 201
        assert problems.page_errors == []
        assert problems.console_errors == []
        assert problems.outbound_requests == []

    # Then the API has exactly that answer, from that worker
    answers = admin.list_annotations(task_id)
    assert len(answers) == 1
    assert answers[0].completed_by == worker.user_id
    assert [region["value"]["choices"] for region in answers[0].result] == [[sample.label]]


def test_every_catalog_task_type_has_a_screenshot_sample() -> None:
    assert {sample.task_type for sample in SAMPLES} == set(CASES)
