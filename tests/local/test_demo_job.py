"""`make demo`: a complete labeling job through a real local Label Studio, end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

from labelflow.demo_job import DemoOptions, run_job_demo, summarize
from labelflow.local import iam
from labelflow.local.deploy import TemplateResolver, load_template
from labelflow.local.iam_policies import TemplatePolicies


def test_the_demo_labels_digits_through_label_studio_and_publishes(tmp_path: Path) -> None:
    # Given always-right annotators, 2 answers per scan
    options = DemoOptions(
        out=tmp_path, items=8, annotators=3, workers_per_item=2, accuracy=1.0, timeout=300
    )
    stream = io.StringIO()

    # When the demo runs
    code = run_job_demo(options, stream=stream)

    # Then the job succeeded and every scan got its true digit, from two different workers
    printed = stream.getvalue()
    assert code == 0, printed
    assert "Accuracy         100.0% against the known labels" in printed
    assert "16/16 answers in Label Studio" in printed
    output = tmp_path / "output"
    lines = [json.loads(line) for line in (output / "output.manifest").read_text().splitlines()]
    assert len(lines) == 8
    for line in lines:
        assert line["digits"]["workers"] == 2
        assert line["digits-metadata"]["human-annotated"] == "yes"
    assert (output / "report.html").stat().st_size > 1000
    assert (output / "exports" / "labels.csv").is_file()
    # And every AWS call the Label Studio backend's functions made, each as its own role, is
    # one the synthesized policies allow
    (template,) = (tmp_path / "cdk.out").glob("*.template.json")
    stack = template.name.removesuffix(".template.json")
    resolver = TemplateResolver(load_template(tmp_path / "cdk.out", stack), stack_name=stack)
    calls = iam.access_log()
    assert {call.action for call in calls} >= {"secretsmanager:GetSecretValue", "s3:PutObject"}
    assert TemplatePolicies.from_resolver(resolver).check(calls) == []


def test_summary_scores_labels_against_the_truth() -> None:
    manifest = [
        json.dumps({"source-ref": "s3://b/1.png", "digits": {"class-name": "3"}}),
        json.dumps({"source-ref": "s3://b/2.png", "digits": {"class-name": "5"}}),
        json.dumps({"source-ref": "s3://b/3.png", "digits": {"no-consensus": True}}),
        "",
    ]
    report = {"agreement": {"mean": 0.75}, "job_cost": {"workforceCostUsd": 0.0, "note": "x"}}

    summary = summarize(manifest, {"s3://b/1.png": "3", "s3://b/2.png": "8"}, report)

    assert summary["items"] == 3
    assert summary["labeled"] == 2
    assert summary["accuracy"] == 1 / 3
    assert summary["agreement"] == "75.0% of workers agree with the label, on average"
    assert summary["cost"] == "$0.00 (x)"


def test_the_replay_demo_publishes_the_recorded_crowds_labels(tmp_path: Path) -> None:
    import subprocess
    import sys

    from labelflow.demo_data import duck_answers
    from labelflow.local.up import REPO_ROOT

    # The command itself, in a process of its own, as a user runs it
    command = ["demo", "--replay", "--items", "6", "--out", str(tmp_path), "--timeout", "300"]
    done = subprocess.run(
        [sys.executable, "-m", "labelflow", *command],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Replayed 18 recorded answers" in done.stderr
    recorded = duck_answers(REPO_ROOT, items=6, per_item=3)
    lines = [
        json.loads(line)
        for line in (tmp_path / "output" / "output.manifest").read_text().splitlines()
    ]
    assert {line["source"] for line in lines} == set(recorded.truth)
    for line in lines:
        votes = [label for item, _, label in recorded.answers if item == line["source"]]
        assert line["ducks"]["workers"] == 3
        # majority of three recorded answers (the auto rule on a batch this small)
        assert line["ducks"]["class-name"] == max(set(votes), key=votes.count)
