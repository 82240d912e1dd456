"""`labelflow demo --consolidation`: the methods scored on real crowd sets, and the Ground
Truth round trip (the real pre-annotation and consolidation handlers on an in-process S3)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from labelflow.cli import main
from labelflow.demo import DEMO_METHODS, EXAMPLES, ground_truth_round_trip, run_demo, score_set

# Five dog images, three workers each; item 5 has no known breed.
ANSWERS = [
    ("1", "1", "1"), ("1", "2", "1"), ("1", "3", "2"),
    ("2", "1", "2"), ("2", "2", "2"), ("2", "3", "2"),
    ("3", "1", "1"), ("3", "2", "2"), ("3", "3", "2"),
    ("4", "1", "3"), ("4", "2", "3"), ("4", "3", "3"),
    ("5", "1", "1"), ("5", "2", "1"), ("5", "3", "1"),
]  # fmt: skip
TRUTH = {"1": "1", "2": "2", "3": "1", "4": "3"}


def _crowd_set(folder: Path) -> Path:
    folder.mkdir(parents=True)
    with (folder / "answers.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("question", "worker", "answer"), *ANSWERS])
    with (folder / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("question", "truth"), *TRUTH.items()])
    return folder


def test_score_set_scores_each_method_against_the_known_labels(tmp_path: Path) -> None:
    scores = score_set(_crowd_set(tmp_path / "dog"))

    assert [s.method for s in scores] == list(DEMO_METHODS)
    assert {s.dataset for s in scores} == {"dog"}
    assert {s.items for s in scores} == {4}  # item 5 has no known label
    by_method = {s.method: s for s in scores}
    # Majority: items 1, 2 and 4 right; item 3 (two workers said 2, the truth is 1) wrong.
    assert by_method["majority-vote"].accuracy == 0.75
    for score in scores:
        assert 0.0 <= score.ece <= 1.0
        assert score.seconds >= 0.0


def test_the_ground_truth_round_trip_writes_ground_truths_output_manifest(
    tmp_path: Path,
) -> None:
    # Given five items answered by three workers each
    out = tmp_path / "out"
    out.mkdir()

    # When the real Lambdas run the round trip
    trip = ground_truth_round_trip(_crowd_set(tmp_path / "dog"), out)

    # Then every item has one line, in Ground Truth's augmented-manifest layout
    lines = [json.loads(line) for line in trip.manifest.read_text().splitlines()]
    assert (trip.items, trip.answers) == (5, 15)
    assert [line["item-id"] for line in lines] == ["1", "2", "3", "4", "5"]
    recorded: dict[str, Counter[str]] = {}
    for item, _worker, label in ANSWERS:
        recorded.setdefault(item, Counter())[label] += 1
    for line in lines:
        assert line["source-ref"] == f"s3://demo-intake/dogs/{line['item-id']}.jpg"
        breed = line["breed"]
        votes = recorded[line["item-id"]]
        assert breed["votes"] == dict(votes)
        assert breed["class-name"] in votes
        assert 0.0 < breed["confidence"] <= 1.0
        assert line["breed-metadata"]["type"] == "groundtruth/custom"
        assert line["breed-metadata"]["job-name"] == "dogs-demo-2026"
        assert line["breed-metadata"]["human-annotated"] == "yes"
    unanimous = {item: votes for item, votes in recorded.items() if len(votes) == 1}
    for line in lines:
        if line["item-id"] in unanimous:
            assert line["breed"]["class-name"] == next(iter(unanimous[line["item-id"]]))
    # And the accuracy is the share of items whose label is the known one
    right = sum(line["breed"]["class-name"] == TRUTH.get(line["item-id"]) for line in lines)
    assert trip.accuracy == right / 5
    assert trip.no_consensus == 0
    # And the consolidation Lambda's worker skill covers the three workers
    skills = json.loads(trip.workers.read_text())
    assert skills["items"] == 5
    assert sorted(w["worker"] for w in skills["workers"]) == [
        "private.us-east-1.1",
        "private.us-east-1.2",
        "private.us-east-1.3",
    ]
    assert sum(w["answers"] for w in skills["workers"]) == 15


def test_run_demo_on_small_sets_prints_the_scores_and_the_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "crowd"
    _crowd_set(data / "dog")
    out = tmp_path / "out"

    assert run_demo(out, data) == 0

    printed = capsys.readouterr().out
    table = (out / "consolidation-scores.txt").read_text().splitlines()
    assert table[0].split() == ["set", "method", "items", "accuracy", "ECE", "time"]
    assert [row.split()[:3] for row in table[1:]] == [["dog", m, "4"] for m in DEMO_METHODS]
    assert "\n".join(table) in printed
    assert "Ground Truth round trip on 5 dog images, 15 real worker answers" in printed
    first = printed.split("first line:", 1)[1].strip()
    assert json.loads(first)["item-id"] == "1"
    assert (out / "output.manifest").is_file()
    assert (out / "worker-skills.json").is_file()


def test_run_demo_without_data_sets_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(tmp_path / "out", tmp_path) == 2
    assert f"labelflow demo: no datasets under {tmp_path}" in capsys.readouterr().err


def test_demo_consolidation_on_the_shipped_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-output"

    assert main(["demo", "--consolidation", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    sets = sorted(p.name for p in EXAMPLES.iterdir() if (p / "answers.csv").is_file())
    rows = [line.split() for line in (out / "consolidation-scores.txt").read_text().splitlines()]
    assert [row[:2] for row in rows[1:]] == [[s, m] for s in sets for m in DEMO_METHODS]
    for row in rows[1:]:
        assert 0.0 <= float(row[3].rstrip("%")) <= 100.0
    assert "Ground Truth round trip on 200 dog images" in printed
    assert len((out / "output.manifest").read_text().splitlines()) == 200
