"""The job commands end to end: the real stack in the emulator, driven through `labelflow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelflow.cli import main
from labelflow.local.up import LocalStack, LocalWorkforce
from tests.local.conftest import REPO_ROOT, STACK

REVIEWS = {
    "r1": ("An absolute joy to use every day.", "positive"),
    "r2": ("Broke after two days and support never answered.", "negative"),
    "r3": ("It is a kettle. It boils water.", "neutral"),
}


@pytest.fixture
def stack(cdk_out: Path, tmp_path: Path) -> Iterator[LocalStack]:
    """The test stage deployed the way `labelflow local up` deploys it; always-right workers."""
    local = LocalStack(
        stage="test",
        state_file=tmp_path / ".labelflow" / "local.json",
        cdk_out=cdk_out,
        stack=STACK,
        workforce=LocalWorkforce(workers=3, accuracy=1.0),
    )
    with local:
        yield local


def _manifest(tmp_path: Path, lines: list[dict[str, str]]) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _reviews(tmp_path: Path) -> Path:
    return _manifest(
        tmp_path,
        [
            {"source": text, "item-id": key, "truth": label}
            for key, (text, label) in REVIEWS.items()
        ],
    )


def _cli(stack: LocalStack, *args: str) -> int:
    return main([*args, "--local", "--state", str(stack.state_file)])


#: How a test waits for a job: a job that never ends fails the test instead of hanging it.
WAIT = ("--wait", "--interval", "0.2", "--timeout", "300")


def _uploaded_key(out: str) -> str:
    """The intake key `submit` printed (``Uploaded <file> to s3://<bucket>/<key>``)."""
    return out.split(" to s3://", 1)[1].split(maxsplit=1)[0].split("/", 1)[1]


def _cell(table: list[str], column: str, row: int) -> str:
    """One cell of a `status` table whose numbers are right-aligned under their header."""
    header = table[0]
    end = header.index(column) + len(column)
    return table[row][header.rindex("  ", 0, header.index(column)) : end].strip()


def test_submit_wait_then_status_results_and_report(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest of three reviews
    manifest = _reviews(tmp_path)

    # When it is submitted and waited for
    code = _cli(stack, "submit", "reviews", str(manifest), *WAIT)
    out, err = capsys.readouterr()

    # Then the printed job id is the id of the execution the upload started
    assert code == 0, err
    job_id = out.split("Job ", 1)[1].split()[0]
    sfn = stack._aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.outputs["WorkflowStateMachineArn"])
    assert [e["name"] for e in executions["executions"]] == [job_id]
    assert f"Job {job_id} SUCCEEDED: 3 of 3 lines labeled" in out
    assert "Lines            3 read: 3 labeled, 0 rejected" in out
    assert f"s3://{stack.outputs['ResultsBucketName']}/jobs/{job_id}/output/output.manifest" in out
    assert "3/3 labeled" in err

    # And status lists it, and describes it
    assert _cli(stack, "status") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "JOB", "PROJECT", "STATUS", "LINES", "LABELED", "REJECTED", "STARTED", "FINISHED",
        "MANIFEST",
    ]  # fmt: skip
    assert table[1].split()[:3] == [job_id, "reviews", "SUCCEEDED"]
    assert table[1].split()[-1] == _uploaded_key(out).removeprefix("reviews/")
    assert [_cell(table, name, 1) for name in ("LINES", "LABELED", "REJECTED")] == ["3", "3", "0"]
    assert _cli(stack, "status", job_id[:6], "--json") == 0
    details = json.loads(capsys.readouterr().out)
    assert details["status"] == "SUCCEEDED"
    assert details["workflow"]["status"] == "SUCCEEDED"
    assert details["workflow"]["accepted"] == 3
    assert details["labelingJobs"] == [
        {
            "name": f"reviews-{job_id}-0",
            "status": "Completed",
            "labeled": 3,
            "failed": 0,
            "unlabeled": 0,
            "failure_reason": "",
        }
    ]

    # And results downloads the output manifest, exports and report
    folder = tmp_path / "out"
    assert _cli(stack, "results", job_id, "-o", str(folder)) == 0
    listing = capsys.readouterr().out
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"output.manifest", "report.json", "report.html", "exports/labels.csv"} <= files
    assert all(str(folder / name) in listing for name in files)
    rows = [json.loads(line) for line in (folder / "output.manifest").read_text().splitlines()]
    assert {row["item-id"]: row["reviews"]["class-name"] for row in rows} == {
        key: label for key, (_, label) in REVIEWS.items()
    }

    # And report summarises the quality report, saves the page and prints the JSON
    html = tmp_path / "report.html"
    assert _cli(stack, "report", job_id, "--html", str(html)) == 0
    summary = capsys.readouterr().out
    assert "Items          3" in summary
    assert "Labeled        3 (100.0%)" in summary
    assert "No consensus   0" in summary
    assert "Agreement      100.0%" in summary
    assert "local-worker-" in summary
    assert html.read_bytes() == (folder / "report.html").read_bytes()
    assert _cli(stack, "report", job_id, "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((folder / "report.json").read_text())
    assert (printed["validation"]["lines"], printed["validation"]["rejected"]) == (3, 0)


def test_rejected_lines_reach_the_submitter(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest of seven lines: three reviews, a malformed line, an image line in a
    # text project, a line without a source and a blank line
    good = [{"source": text, "truth": label} for text, label in REVIEWS.values()]
    lines = [json.dumps(line) for line in good]
    lines.insert(1, '{"source": "unterminated')
    lines.insert(3, json.dumps({"source-ref": "s3://bucket/cat.jpg"}))
    lines += [json.dumps({"review": "no source key"}), ""]
    manifest = tmp_path / "mixed.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # When it is submitted and waited for
    code = _cli(stack, "submit", "reviews", str(manifest), *WAIT)

    # Then the end of the wait says what became of every line, and where the rejects are
    out, err = capsys.readouterr()
    assert code == 0, err
    job_id = out.split("Job ", 1)[1].split()[0]
    rejects = f"s3://{stack.outputs['ResultsBucketName']}/jobs/{job_id}/output/rejects.jsonl"
    assert f"Job {job_id} SUCCEEDED: 3 of 7 lines labeled" in out
    assert "Lines            7 read: 3 labeled, 3 rejected, 1 blank" in out
    assert "Rejected         no-source: 1, not-json: 1, wrong-source-for-task: 1" in out
    assert f"Rejects          {rejects}" in out

    # And status lists and shows the manifest and the rejected lines
    assert _cli(stack, "status") == 0
    table = capsys.readouterr().out.splitlines()
    assert [_cell(table, name, 1) for name in ("LINES", "LABELED", "REJECTED")] == ["7", "3", "3"]
    assert table[1].split()[-1] == _uploaded_key(out).removeprefix("reviews/")
    assert _cli(stack, "status", job_id) == 0
    details = capsys.readouterr().out.splitlines()
    assert f"Manifest   {_uploaded_key(out)}" in details
    assert "Rejected   no-source: 1, not-json: 1, wrong-source-for-task: 1" in details

    # And results downloads them, with their line numbers and reasons
    folder = tmp_path / "out"
    assert _cli(stack, "results", job_id, "-o", str(folder)) == 0
    assert "the rejected lines, with their reasons" in capsys.readouterr().out
    rejected = [json.loads(line) for line in (folder / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejected] == [
        (2, "not-json"),
        (4, "wrong-source-for-task"),
        (6, "no-source"),
    ]

    # And the report starts with them
    assert _cli(stack, "report", job_id) == 0
    summary = capsys.readouterr().out
    assert "Lines read     7 (1 blank)" in summary
    assert "Rejected       3 (no-source: 1, not-json: 1, wrong-source-for-task: 1)" in summary


def test_submit_wait_of_a_rejected_manifest_exits_with_the_reason(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _manifest(tmp_path, [{"source-ref": "s3://nowhere/a.jpg"}, {"neither": "x"}])

    code = _cli(stack, "submit", "reviews", str(manifest), *WAIT)

    out, err = capsys.readouterr()
    job_id = out.split("Job ", 1)[1].split()[0]
    assert code == 1
    assert f"Job {job_id} FAILED: ManifestRejected" in err
    assert _cli(stack, "results", job_id) == 2
    assert f"job {job_id} FAILED and has no results: ManifestRejected" in capsys.readouterr().err


def test_submit_quietly_then_watch_the_job_to_its_end(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(stack, "submit", "reviews", str(_reviews(tmp_path)), "-q") == 0
    job_id = capsys.readouterr().out.strip()
    assert len(job_id) == 16

    assert _cli(stack, "status", job_id, "--watch", "--interval", "0.2") == 0

    out, err = capsys.readouterr()
    assert "3/3 labeled  SUCCEEDED" in err.splitlines()[-1]
    assert out.splitlines()[:3] == [
        f"Job        {job_id}",
        "Project    reviews",
        "Status     SUCCEEDED",
    ]
    assert f"  reviews-{job_id}-0: Completed, 3 labeled, 0 unlabeled" in out


def test_submit_wait_reports_the_intake_triggers_rejection(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack whose outputs do not list its projects (deployed before ProjectNames)
    state = json.loads(stack.state_file.read_text())
    del state["outputs"]["ProjectNames"]
    stack.state_file.write_text(json.dumps(state))

    # When a manifest for a project it does not configure is submitted and waited for
    code = _cli(stack, "submit", "pets", str(_reviews(tmp_path)), *WAIT)

    # Then the intake trigger's reason is the error
    assert code == 2
    assert "the manifest was rejected: project 'pets' is not configured" in (
        capsys.readouterr().err
    )


def test_submit_to_an_unknown_project_names_the_known_ones(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _cli(stack, "submit", "pets", str(_reviews(tmp_path)))

    assert code == 2
    assert "unknown project 'pets' in stack labelflow-test-Labeling; its projects: reviews" in (
        capsys.readouterr().err
    )
    intake = stack._aws.client("s3").list_objects_v2(Bucket=stack.outputs["IntakeBucketName"])
    assert intake.get("KeyCount", 0) == 0


def test_unknown_job_is_named(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(stack, "report", "0123456789abcdef") == 2
    err = capsys.readouterr().err
    assert "unknown job '0123456789abcdef' in stack labelflow-test-Labeling" in err
    assert "labelflow status" in err


def test_local_up_serves_until_interrupted(cdk_out: Path, tmp_path: Path) -> None:
    # Given `labelflow local up` running as its own process
    state = tmp_path / "state" / "local.json"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), "lambdas"])}
    command = [sys.executable, "-m", "labelflow", "local", "up", "--stage", "test"]
    command += ["--cdk-out", str(cdk_out), "--state", str(state), "--worker-accuracy", "0.8"]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), "local up wrote no state file"

        # When another process asks it for the jobs
        written = json.loads(state.read_text())
        listed = subprocess.run(
            [sys.executable, "-m", "labelflow", "status", "--local", "--state", str(state)],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)

    # Then it answers, and Ctrl-C stops it and removes the state file
    assert written["stack"] == STACK
    assert written["endpoint"].startswith("http://127.0.0.1:")
    assert written["outputs"]["ProjectNames"] == "reviews"
    assert listed.returncode == 0, listed.stderr
    assert "No jobs yet" in listed.stdout
    assert "Simulated workers: 5 at 80% accuracy" in output
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert not state.exists()


def test_local_up_without_a_template_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "local.json"
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))

    code = main(["local", "up", "--cdk-out", str(tmp_path), "--state", str(state)])

    assert code == 2
    assert f"no template {tmp_path / 'labelflow-dev-Labeling.template.json'}" in (
        capsys.readouterr().err
    )
    assert not state.exists()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
