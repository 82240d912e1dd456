"""`labelflow preview`: a project's worker UI for one manifest line, and its errors."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from infra.config import ProjectConfig
from labelflow.cli import main
from labelflow.preview import PreviewError, render_preview
from tests.worker_ui.html_parse import Tags

IMAGE_LINE = {"source-ref": "s3://labelflow-intake/pets/0001.jpg", "camera": "porch"}


@pytest.fixture
def line_file(tmp_path):
    path = tmp_path / "line.json"
    path.write_text(json.dumps(IMAGE_LINE))
    return path


def test_preview_writes_a_page_with_the_item_labels_and_template(tmp_path, line_file):
    out = tmp_path / "preview.html"

    assert main(["preview", "pets", str(line_file), "-o", str(out)]) == 0

    tags = Tags(out.read_text())
    assert tags.one("crowd-image-classifier")["name"] == "answer"
    assert tags.one("crowd-form") == {}
    images = [a["src"] for a in tags.named("img")]
    assert "https://labelflow-intake.s3.amazonaws.com/pets/0001.jpg" in images
    text = "".join(tags.text)
    assert "1cat2dog3other" in text  # the summary's label table with keys
    assert "Choose the animal shown in the photo." in text


def test_preview_reads_the_first_line_of_a_manifest(tmp_path):
    manifest = tmp_path / "batch.manifest"
    second = {"source-ref": "s3://labelflow-intake/pets/0002.jpg"}
    manifest.write_text(json.dumps(IMAGE_LINE) + "\n" + json.dumps(second) + "\n")
    out = tmp_path / "p.html"

    assert main(["preview", "pets", str(manifest), "-o", str(out)]) == 0

    page = out.read_text()
    assert "pets/0001.jpg" in page
    assert "pets/0002.jpg" not in page


def test_label_studio_flag_writes_the_config(tmp_path):
    out = tmp_path / "pets.xml"

    assert main(["preview", "pets", "--label-studio", "-o", str(out)]) == 0

    root = ET.fromstring(out.read_text())
    assert [c.get("hotkey") for c in root.iter("Choice")] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["nope", "LINE"],
            "unknown project 'nope' in stage 'dev' (known projects: pets, street-objects)",
        ),
        (["pets", "LINE", "--stage", "prod"], "unknown stage 'prod' (known stages: dev)"),
        (["pets"], "needs a manifest line"),
        (["pets", "MISSING"], "cannot read"),
    ],
)
def test_errors_name_the_problem(argv, message, line_file, tmp_path, capsys):
    argv = [
        str(line_file) if a == "LINE" else str(tmp_path / "none.json") if a == "MISSING" else a
        for a in argv
    ]

    assert main(["preview", *argv]) == 2

    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not a JSON manifest line (Expecting value at line 1, column 1)"),
        ('["a"]', "holds a JSON list, not an object"),
        ("", "is empty"),
        ('{"source": "a text"}', "labels 'source-ref' lines"),
    ],
)
def test_bad_lines_are_explained(content, message, tmp_path, capsys):
    path = tmp_path / "line.json"
    path.write_text(content)

    assert main(["preview", "pets", str(path)]) == 2

    assert message in capsys.readouterr().err


def test_help_teaches_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["preview", "--help"])

    text = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "manifest line" in text
    assert "labelflow preview pets line.json -o preview.html" in text
    assert "--label-studio" in text


def test_label_studio_for_either_kind_projects_asks_for_a_line():
    notes = ProjectConfig(
        name="notes",
        task_type="free-text",
        labels=(),
        short_instruction="Transcribe.",
        full_instruction="Type every word.",
        workers_per_item=1,
    )

    with pytest.raises(PreviewError, match="give a manifest line to choose"):
        render_preview(notes, None, label_studio=True)
    config = render_preview(notes, {"source": "a note"}, label_studio=True)
    assert ET.fromstring(config).find("Text") is not None


def test_a_prediction_previews_the_review_template(tmp_path, line_file):
    out = tmp_path / "review.html"

    argv = ["preview", "pets", str(line_file), "-o", str(out)]
    assert main([*argv, "--prediction", '{"label": "dog"}', "--confidence", "0.58"]) == 0

    tags = Tags(out.read_text())
    assert tags.one("crowd-image-classifier")["name"] == "answer"
    alert = "".join(tags.text)
    assert "The model suggests dog (confidence 58%)" in alert


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prediction", '{"label": "dog"}'], "--prediction needs --confidence"),
        (["--confidence", "0.5"], "--confidence goes with --prediction"),
        (["--prediction", "{dog", "--confidence", "0.5"], "--prediction is not JSON"),
        (
            ["--prediction", '{"label": "dog"}', "--confidence", "1.5"],
            "confidence must be from 0 to 1",
        ),
    ],
)
def test_review_options_are_checked(extra, message, line_file, capsys):
    assert main(["preview", "pets", str(line_file), *extra]) == 2

    assert message in capsys.readouterr().err
