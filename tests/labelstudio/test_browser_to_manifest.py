"""A person labels in Label Studio's page, and that answer reaches the job's output manifest."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from labelflow.demo_job import DemoOptions, run_job_demo
from tests.labelstudio.browser import SUBMIT, chromium, click_choice, open_labeling

_STUDIO_OWN = "[mobx-state-tree] Failed to find the parent of ImageEntity"


def test_a_label_clicked_in_the_browser_is_the_label_in_the_output_manifest(
    tmp_path: Path,
) -> None:
    clicked: dict[str, Any] = {}

    def label_in_the_browser(studio: Any, project_id: int) -> None:
        worker = studio.create_annotator("browser-worker@labelflow.local")
        task = studio.client(worker).next_task(project_id)
        assert task is not None
        with (
            chromium() as browser,
            open_labeling(browser, studio, project_id, task.id, account=worker) as (page, problems),
        ):
            click_choice(page, "7")
            # The page loaded the presigned scan and took the answer without an error of ours.
            # Label Studio 1.23's page logs one internal error of its own for image tasks whose
            # image comes from a URL (a detached image entity in its state tree); it changes
            # nothing for the worker or the answer, so it is the only one allowed.
            assert [
                error for error in problems.page_errors if not error.startswith(_STUDIO_OWN)
            ] == []
            with page.expect_response(
                lambda r: "/annotations" in r.url and r.request.method == "POST"
            ) as posted:
                page.locator(SUBMIT).click()
            assert posted.value.status == 201
        clicked["source"] = task.data["source-ref"]

    # Given a one-scan job with one answer per scan, answered by a person in the browser
    options = DemoOptions(out=tmp_path, items=1, workers_per_item=1, timeout=300)
    stream = io.StringIO()

    # When the job runs
    code = run_job_demo(options, stream=stream, answer_with=label_in_the_browser)

    # Then the job is published, and its manifest holds the clicked digit for that scan
    assert code == 0, stream.getvalue()
    (line,) = [
        json.loads(text)
        for text in (tmp_path / "output" / "output.manifest").read_text().splitlines()
    ]
    assert line["source-ref"] == clicked["source"]
    assert line["digits"]["class-name"] == "7"
    assert line["digits"]["workers"] == 1
