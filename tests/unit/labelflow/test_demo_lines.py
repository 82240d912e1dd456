"""`make demo`'s closing summary states what became of the manifest's lines."""

from __future__ import annotations

from pathlib import Path

from labelflow.demo_job import _lines


def test_the_demo_summary_states_the_lines_when_the_report_has_them() -> None:
    report = {
        "validation": {
            "lines": 62,
            "accepted": 60,
            "rejected": 2,
            "blank": 0,
            "byReason": {"object-missing": 2},
            "rejectsUri": "s3://results/jobs/j/rejects.jsonl",
        }
    }

    text = _lines(report, Path("demo-output/output/rejects.jsonl"))

    assert text.splitlines() == [
        "Lines            62 read: 60 accepted, 2 rejected",
        "Rejected         object-missing: 2 (see demo-output/output/rejects.jsonl)",
    ]


def test_the_demo_summary_leaves_the_lines_out_of_a_report_without_them() -> None:
    assert _lines({"items": 60}, Path("rejects.jsonl")) == ""
