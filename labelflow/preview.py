"""`labelflow preview`: what a worker sees for one manifest line, as a page to open.

The project comes from the stage's configuration (``infra.config.STAGES``); the line goes
through the real pre-annotation logic (the Lambda's ``prepare``, with the projects serialized
exactly as the deployment writes ``LABELFLOW_PROJECTS``); the project's Ground Truth template
is rendered with Ground Truth's Liquid filters. Crowd elements load from assets.crowd.aws,
so offline the page leads with a plain summary of the item, the labels with their keys and
the answer element, followed by the rendered template, whose instructions and examples show
either way. ``--label-studio`` writes the project's Label Studio config instead, and
``--serve`` opens it, with the line as its task, in a local Label Studio.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from infra.config import ProjectConfig

__all__ = [
    "PreviewError",
    "PreviewOptions",
    "render_preview",
    "run_preview",
    "serve_label_studio",
]


class PreviewError(ValueError):
    """The preview cannot be made; the message says why."""


@dataclass(frozen=True, kw_only=True)
class PreviewOptions:
    """What ``labelflow preview`` was asked for."""

    project: str
    line: str | None  # a file, "-" for standard input, None for none
    output: str = "-"
    label_studio: bool = False
    stage: str = "dev"
    prediction: str | None = None  # JSON of a model prediction: preview the review template
    confidence: float | None = None
    serve: bool = False  # open the Label Studio config in a local Label Studio


def run_preview(options: PreviewOptions) -> str:
    """Write the preview and return where it went ("-" for standard output).

    Raises:
        PreviewError: an unknown stage or project, an unreadable or invalid line, or a line
            the project cannot label.
    """
    project = _project(options.stage, options.project)
    line = _read_line(options.line) if options.line is not None else None
    review = _review(options)
    if options.serve:
        serve_label_studio(project, line, until=_wait_for_interrupt)
        return "-"
    text = render_preview(project, line, label_studio=options.label_studio, review=review)
    if options.output == "-":
        sys.stdout.write(text)
    else:
        Path(options.output).write_text(text, encoding="utf-8")
    return options.output


def render_preview(
    project: ProjectConfig,
    line: Mapping[str, Any] | None,
    *,
    label_studio: bool = False,
    review: tuple[Any, float] | None = None,
) -> str:
    """The preview page (or Label Studio config) of ``project`` for one manifest line.

    With ``review`` (a model prediction and its confidence), the page shows the A2I review
    template with that prediction pre-filled.

    Raises:
        PreviewError: as :func:`run_preview`.
    """
    import worker_ui

    if label_studio:
        kind: Literal["s3", "text"] | None = None
        if line is not None:
            kind = "s3" if "source-ref" in line else "text"
        try:
            return worker_ui.label_studio_config(project, source_kind=kind)
        except ValueError as exc:
            hint = " (give a manifest line to choose)" if line is None else ""
            raise PreviewError(f"{exc}{hint}") from None
    if line is None:
        raise PreviewError("the HTML preview needs a manifest line (a JSON file, or '-')")
    task_input = _task_input(project, line, review)
    try:
        if review is None:
            template = worker_ui.ground_truth_template(project)
        else:
            template = worker_ui.review_template(project)
    except ValueError as exc:
        raise PreviewError(str(exc)) from None
    from worker_ui.liquid import render_template, unsigned_url

    rendered = render_template(template, task_input)
    return _page(project, task_input, rendered, unsigned_url)


def _project(stage: str, name: str) -> ProjectConfig:
    from infra.config import STAGES

    config = STAGES.get(stage)
    if config is None:
        raise PreviewError(f"unknown stage {stage!r} (known stages: {', '.join(sorted(STAGES))})")
    projects = {project.name: project for project in config.projects}
    if name not in projects:
        known = ", ".join(sorted(projects))
        raise PreviewError(f"unknown project {name!r} in stage {stage!r} (known projects: {known})")
    return projects[name]


def _read_line(source: str) -> dict[str, Any]:
    where = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise PreviewError(f"cannot read {where}: {exc.strerror}") from None
    if not text.strip():
        raise PreviewError(f"{where} is empty; it should hold one manifest line (a JSON object)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise PreviewError(
                f"{where} is not a JSON manifest line ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno})"
            ) from None
        # A JSON-lines manifest: preview its first line.
        value = json.loads(text[: exc.pos])
    if not isinstance(value, dict):
        raise PreviewError(f"{where} holds a JSON {type(value).__name__}, not an object")
    return value


def _review(options: PreviewOptions) -> tuple[Any, float] | None:
    if options.prediction is None:
        if options.confidence is not None:
            raise PreviewError("--confidence goes with --prediction (a review preview)")
        return None
    if options.confidence is None:
        raise PreviewError("--prediction needs --confidence (the model's confidence, 0 to 1)")
    try:
        prediction = json.loads(options.prediction)
    except json.JSONDecodeError as exc:
        raise PreviewError(
            f"--prediction is not JSON ({exc.msg} at column {exc.colno}); "
            'e.g. --prediction \'{"label": "cat"}\''
        ) from None
    return prediction, options.confidence


def _task_input(
    project: ProjectConfig, line: Mapping[str, Any], review: tuple[Any, float] | None
) -> dict[str, Any]:
    from gt_contracts import ContractError, build_review_input, parse_projects, prepare
    from infra.config import projects_setting

    projects = parse_projects(projects_setting((project,)))
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:labeling-job/{project.name}-preview"
    prepared = prepare(
        {"version": "2018-10-16", "labelingJobArn": arn, "dataObject": dict(line)}, projects
    )
    if prepared.skipped is not None:
        raise PreviewError(f"the line cannot be labeled: {prepared.skipped}")
    if review is None:
        return dict(prepared.response.task_input)
    prediction, confidence = review
    try:
        return build_review_input(
            prepared.response.task_input, prediction=prediction, confidence=confidence
        )
    except ContractError as exc:
        raise PreviewError(f"invalid review: {exc}") from None


_PAGE_STYLE = """<style>
  body { font-family: sans-serif; margin: 24px; }
  .labelflow-preview { background: #f4f6f8; border: 1px solid #ccd; padding: 12px 16px; }
  .labelflow-preview img { max-width: 480px; display: block; }
  .labelflow-preview pre { white-space: pre-wrap; }
  short-instructions, full-instructions { display: block; margin: 12px 0; }
  short-instructions::before { content: "Short instructions"; font-weight: bold; }
  full-instructions::before { content: "Full instructions"; font-weight: bold; }
</style>"""


def _page(
    project: ProjectConfig,
    task_input: Mapping[str, Any],
    rendered: str,
    to_url: Callable[[str], str],
) -> str:
    import worker_ui

    esc = html.escape
    item = str(task_input["taskObject"])
    if task_input["sourceKind"] == "s3":
        shown = f'<img src="{esc(to_url(item))}" alt="the item"><code>{esc(item)}</code>'
    else:
        shown = f"<pre>{esc(item)}</pre>"
    keys = worker_ui.hotkeys(project.labels)
    rows = "".join(
        f"<tr><td><kbd>{esc(keys.get(label, ''))}</kbd></td><td>{esc(label)}</td></tr>"
        for label in project.labels
    )
    labels = (
        f"<h2>Labels and keyboard shortcuts</h2><table>{rows}</table>"
        if rows
        else "<h2>Answer</h2><p>free answer (no labels)</p>"
    )
    summary = (
        '<section class="labelflow-preview">'
        f"<h1>{esc(project.name)}: {esc(project.task_type)}</h1>"
        "<p>The worker template rendered for one manifest line, as Ground Truth renders it. "
        "Crowd elements load from assets.crowd.aws when online; this summary shows the item "
        "and the labels when they cannot. Images in private buckets need a presigned URL.</p>"
        f"<h2>Item</h2>{shown}{labels}"
        f"<p>Answer element name: <code>{esc(worker_ui.answer_name(project))}</code></p>"
        "</section>"
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>LabelFlow preview: {esc(project.name)}</title>{_PAGE_STYLE}</head>\n"
        f"<body>\n{summary}\n<hr>\n{rendered}\n</body></html>\n"
    )


#: A grey square standing in for an image Label Studio cannot fetch (an ``s3://`` URI).
_PLACEHOLDER_IMAGE = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='320' "
    "height='240'><rect width='320' height='240' fill='%23ccc'/></svg>"
)


def serve_label_studio(
    project: ProjectConfig,
    line: Mapping[str, Any] | None,
    *,
    until: Callable[[Any, int], None],
    stream: Any = sys.stderr,
) -> None:
    """Load the project's Label Studio config, with the line as its task, in a local Label
    Studio; call ``until(server, project_id)`` (which returns when the preview is over), then
    stop the server.

    An ``s3://`` image cannot be fetched here, so a grey placeholder stands in for it.
    """
    from labelflow.local.label_studio import LocalLabelStudio

    config = render_preview(project, line, label_studio=True)
    data: dict[str, Any]
    if line is not None and "source" in line:
        data = {"text": str(line["source"])}
    else:
        source = str((line or {}).get("source-ref", ""))
        data = {
            "image": source if source.startswith(("http://", "https://")) else _PLACEHOLDER_IMAGE
        }
    with LocalLabelStudio() as server:
        admin = server.client()
        created = admin.create_project(f"Preview {project.name}"[:50], config)
        admin.import_tasks(created.id, [data])
        account = server.admin
        if account is None:  # pragma: no cover - a started server has its admin
            raise PreviewError("the local Label Studio has no admin account")
        print(
            f"Label Studio preview of {project.name}: {server.url}/projects/{created.id}/data\n"
            f"log in as {account.email} / {account.password}; Ctrl-C stops the server.",
            file=stream,
        )
        until(server, created.id)


def _wait_for_interrupt(server: Any, project_id: int) -> None:
    import time

    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return
