"""What `labelflow local up` decides on its own: when to synthesize, what workers answer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from labelflow.local.up import LocalWorkforce, assembly_is_stale, default_truth
from labelflow.local.workforce import WorkerTask

LABELS = ("positive", "negative", "neutral")


def _source_tree(root: Path, mtime: float) -> None:
    for name in ("app.py", "cdk.json", "lambdas/start_job/logic.py", "infra/config.py"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        os.utime(path, (mtime, mtime))


def _template(cdk_out: Path, mtime: float) -> None:
    cdk_out.mkdir(parents=True, exist_ok=True)
    template = cdk_out / "labelflow-dev-Labeling.template.json"
    template.write_text("{}")
    os.utime(template, (mtime, mtime))


def test_assembly_without_the_template_is_stale(tmp_path: Path) -> None:
    _source_tree(tmp_path, 1_000)
    assert assembly_is_stale(tmp_path / "cdk.out", "labelflow-dev-Labeling", tmp_path)


def test_assembly_newer_than_the_code_is_fresh(tmp_path: Path) -> None:
    _source_tree(tmp_path, 1_000)
    _template(tmp_path / "cdk.out", 2_000)
    assert not assembly_is_stale(tmp_path / "cdk.out", "labelflow-dev-Labeling", tmp_path)


def test_assembly_older_than_a_lambda_change_is_stale(tmp_path: Path) -> None:
    _source_tree(tmp_path, 1_000)
    _template(tmp_path / "cdk.out", 2_000)
    changed = tmp_path / "lambdas" / "start_job" / "logic.py"
    os.utime(changed, (3_000, 3_000))
    assert assembly_is_stale(tmp_path / "cdk.out", "labelflow-dev-Labeling", tmp_path)


def test_changes_under_pycache_do_not_make_it_stale(tmp_path: Path) -> None:
    _source_tree(tmp_path, 1_000)
    _template(tmp_path / "cdk.out", 2_000)
    cache = tmp_path / "infra" / "__pycache__" / "config.cpython-311.pyc"
    cache.parent.mkdir()
    cache.write_text("x")
    os.utime(cache, (3_000, 3_000))
    assert not assembly_is_stale(tmp_path / "cdk.out", "labelflow-dev-Labeling", tmp_path)


@pytest.mark.parametrize(
    ("line", "task_type", "labels", "truth"),
    [
        ({"source": "x", "truth": "negative"}, "text-classification", LABELS, "negative"),
        ({"source": "kettle"}, "free-text", (), "kettle"),
        ({"source": "3 stars"}, "numeric", (), 0),
    ],
)
def test_default_truth(
    line: dict[str, Any], task_type: str, labels: tuple[str, ...], truth: Any
) -> None:
    assert default_truth(line, task_type, labels) == truth


def test_default_truth_of_classification_is_a_stable_label_of_the_project() -> None:
    picked = {
        default_truth({"source": f"item {i}"}, "text-classification", LABELS) for i in range(30)
    }
    assert picked == set(LABELS)
    line = {"source-ref": "s3://b/cat.jpg"}
    first = default_truth(line, "image-classification", LABELS)
    assert default_truth(line, "image-classification", LABELS) == first
    assert default_truth(line, "image-classification-multilabel", LABELS) == [first]


def test_default_truth_of_boxes_needs_a_truth_key() -> None:
    with pytest.raises(ValueError, match="need a 'truth' key in each bounding-box"):
        default_truth({"source-ref": "s3://b/a.jpg"}, "bounding-box", ("car",))


def _task(line: dict[str, Any]) -> WorkerTask:
    return WorkerTask(
        job_name="reviews-j1-0",
        dataset_object_id="0",
        line=line,
        task_input={},
        task_type="text-classification",
        labels=LABELS,
        workers_per_object=3,
        element_name="reviews",
    )


def test_always_right_workers_all_answer_the_truth() -> None:
    answers = LocalWorkforce(workers=5, accuracy=1.0).answers(
        _task({"source": "x", "truth": "neutral"})
    )
    assert len(answers) == 3
    assert {a.worker_id for a in answers} <= {f"local-worker-{i}" for i in range(1, 6)}
    assert [a.answer_content for a in answers] == [{"reviews": {"label": "neutral"}}] * 3


def test_always_wrong_workers_never_answer_the_truth() -> None:
    answers = LocalWorkforce(workers=3, accuracy=0.0).answers(
        _task({"source": "x", "truth": "neutral"})
    )
    assert all(a.answer_content["reviews"]["label"] != "neutral" for a in answers)


@pytest.mark.parametrize(("workers", "accuracy"), [(0, 0.9), (3, 1.2)])
def test_local_workforce_refuses_impossible_teams(workers: int, accuracy: float) -> None:
    with pytest.raises(ValueError):
        LocalWorkforce(workers=workers, accuracy=accuracy)
