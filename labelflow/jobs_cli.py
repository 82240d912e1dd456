"""The job commands of `labelflow`: local up, submit, status, results, report.

Each command is a thin layer: find the stack (:mod:`labelflow.jobs_aws`), fetch, and print
what :mod:`labelflow.jobs` formats. They are declared as :class:`~labelflow.options.Command`
(:data:`COMMANDS`) and run by :func:`labelflow.options.dispatch`: exit 0 done; 1 the job
failed (or timed out, or was aborted); 2 a problem to fix first (unknown stack, project or
job, emulator not running, unreadable file, job without results yet), with the message on
standard error.

Every summary of a job says what became of its manifest's lines (read, labeled, rejected by
reason, blank) and where the rejected lines are; ``results`` downloads them with the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from job_contracts.layout import JobLayout
from labelflow.jobs import (
    JOB_ID_PATTERN,
    CommandError,
    JobRecord,
    LabelingJobView,
    LineCounts,
    Progress,
    WorkflowView,
    describe_lines,
    effective_status,
    flagged_workers,
    format_job_details,
    format_jobs_table,
    format_line_counts,
    format_report_summary,
    job_progress,
    output_prefix_of,
    render_bar,
    stack_name,
)
from labelflow.options import (
    EXIT_FAILED,
    EXIT_OK,
    LOCAL_STATE,
    STACK_HELP,
    Command,
    at_least_one,
    fraction,
    positive_seconds,
    stack_flags,
    stack_options,
    stage_option,
)
from labelflow.progress import ProgressLine, bar

if TYPE_CHECKING:
    from labelflow.jobs_aws import JobsAws

__all__ = ["COMMANDS"]

_EXIT_CODES = """
exit codes: 0 done, 1 the job failed (its reason on standard error), 2 a problem to fix first
"""

_SUBMIT_EXAMPLES = (
    STACK_HELP
    + """
examples:
  labelflow submit pets batch-01.jsonl
  labelflow submit pets batch-01.jsonl --wait
  labelflow submit pets batch-01.jsonl --stage prod --region eu-west-1 --profile ml
  labelflow submit pets batch-01.jsonl --local --wait     (after labelflow local up)
  JOB=$(labelflow submit pets batch-01.jsonl -q) && labelflow status "$JOB" --watch
"""
    + _EXIT_CODES
)
_STATUS_EXAMPLES = (
    STACK_HELP
    + """
examples:
  labelflow status                      recent jobs, newest first: lines read, labeled,
                                        rejected, and the manifest each job labels
  labelflow status --project pets -n 5
  labelflow status 417297aafeaa353a     one job: lines read and rejected by reason, where
                                        the rejected lines are, timings, labeling jobs,
                                        workers flagged for low accuracy
  labelflow status 4172 --watch         a unique prefix is enough; refresh until it ends
  labelflow status 4172 --json | jq .validation.byReason
"""
    + _EXIT_CODES
)
_RESULTS_EXAMPLES = (
    STACK_HELP
    + """
examples:
  labelflow results 417297aafeaa353a -o out/
  labelflow results 4172 -o out/ --local
  jq -r '"line \\(.line): \\(.reason): \\(.detail)"' out/rejects.jsonl     each rejected line
"""
)
_REPORT_EXAMPLES = (
    STACK_HELP
    + """
examples:
  labelflow report 417297aafeaa353a
  labelflow report 4172 --html report.html
  labelflow report 4172 --json | jq .agreement
  labelflow report 4172 --json | jq .validation.rejected
"""
)
_LOCAL_EXAMPLES = """\
examples:
  labelflow local up                            the dev stage, 5 workers at 90% accuracy
  labelflow local up --worker-accuracy 0.7 --workers 3
  labelflow local up --stage dev --state /tmp/lf/local.json

then, in another terminal:
  labelflow submit pets batch.jsonl --local --wait
  labelflow status --local
"""


# -- arguments -------------------------------------------------------------------------------


def _up_arguments(up: argparse.ArgumentParser) -> None:
    stage_option(up, "to deploy")
    up.add_argument(
        "--worker-accuracy",
        type=fraction("worker accuracy"),
        default=0.9,
        help="chance that a simulated worker answers right (default: 0.9)",
    )
    up.add_argument(
        "--workers", type=at_least_one, default=5, help="simulated workers in the team (default: 5)"
    )
    up.add_argument("--seed", type=int, default=0, help="seed of the workers' answers")
    up.add_argument(
        "--state",
        type=Path,
        default=LOCAL_STATE,
        help=f"state file to write (default: {LOCAL_STATE})",
    )
    up.add_argument("--cdk-out", type=Path, help="deploy this cloud assembly as it is")


def _interval(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=2.0,
        help=f"seconds between {what} (default: 2)",
    )


def _job_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="job id (or a unique prefix of one)")


def _submit_arguments(submit: argparse.ArgumentParser) -> None:
    submit.add_argument("project", help="project the manifest belongs to")
    submit.add_argument("manifest", type=Path, help="JSON Lines manifest (.jsonl or .manifest)")
    submit.add_argument("--wait", action="store_true", help="wait until the job ends")
    _interval(submit, "checks")
    submit.add_argument(
        "--timeout", type=positive_seconds, help="stop waiting after this many seconds"
    )
    submit.add_argument("-q", "--quiet", action="store_true", help="print only the job id")


def _status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("job", nargs="?", help="job id (or a unique prefix of one)")
    status.add_argument("--watch", action="store_true", help="refresh until the job ends")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "-n", "--limit", type=at_least_one, default=20, help="jobs in the table (default: 20)"
    )
    status.add_argument("--project", help="only jobs of this project")
    _interval(status, "refreshes")


def _results_arguments(results: argparse.ArgumentParser) -> None:
    _job_argument(results)
    results.add_argument(
        "-o", "--output", type=Path, help="folder to download into (default: ./<job id>)"
    )


def _report_arguments(report: argparse.ArgumentParser) -> None:
    _job_argument(report)
    report.add_argument("--html", type=Path, metavar="FILE", help="save report.html here")
    report.add_argument("--json", action="store_true", help="print report.json")


# -- the commands ----------------------------------------------------------------------------


def _connect(args: argparse.Namespace) -> JobsAws:
    from labelflow.jobs_aws import JobsAws, find_local_stack, find_stack

    if args.local:
        return JobsAws(find_local_stack(args.state))
    name = args.stack or stack_name(args.stage)
    return JobsAws(find_stack(name, region=args.region, profile=args.profile), profile=args.profile)


def _local_up(args: argparse.Namespace) -> int:
    import signal

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with it ignored, and `kill -INT` should stop
    # this one the way Ctrl-C does. The previous handlers come back when it returns.
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _serve(args)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace) -> int:
    from labelflow.local.deploy import DeployError
    from labelflow.local.up import LocalStack, LocalWorkforce
    from labelflow.pinned_node import use_pinned_node

    stack = LocalStack(
        stage=args.stage,
        state_file=args.state,
        cdk_out=args.cdk_out,
        workforce=LocalWorkforce(
            workers=args.workers, accuracy=args.worker_accuracy, seed=args.seed
        ),
    )
    if args.cdk_out is None:
        use_pinned_node()  # synthesizing loads the CDK app
        print(f"Preparing {stack.stack} (synthesizing it when the code changed)...", flush=True)
    try:
        cdk_out = stack.prepare()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if stack.synthesized:
        print(f"Synthesized {stack.stack} into {cdk_out}")
    try:
        stack.start()
    except DeployError as exc:
        raise CommandError(f"cannot deploy {stack.stack} from {cdk_out}: {exc}") from None
    try:
        projects = stack.outputs.get("ProjectNames", "").replace(",", ", ") or "(unknown)"
        print(f"LabelFlow local emulator at {stack.endpoint_url}")
        print(f"Stack {stack.stack} deployed; projects: {projects}")
        print(
            f"Simulated workers: {args.workers} at {args.worker_accuracy:.0%} accuracy "
            f"(seed {args.seed})"
        )
        print(f"State file: {args.state}  (use --local with submit, status, results, report)")
        print("Press Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping the local emulator...", flush=True)
    finally:
        stack.stop()
    print("Stopped.")
    return EXIT_OK


def _check_manifest(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(1)
    except FileNotFoundError:
        raise CommandError(f"no manifest file {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a folder; give a JSON Lines manifest file") from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    if not head:
        raise CommandError(f"{path} is empty; a manifest has one JSON object per line")


def _check_project(api: JobsAws, project: str) -> None:
    known = api.stack.projects
    if known and project not in known:
        raise CommandError(
            f"unknown project {project!r} in stack {api.stack.name}; its projects: "
            + ", ".join(known)
        )


def _submit(args: argparse.Namespace) -> int:
    import secrets
    from datetime import UTC, datetime

    from labelflow.jobs import upload_key

    _check_manifest(args.manifest)
    api = _connect(args)
    _check_project(api, args.project)
    key = upload_key(args.project, args.manifest.name, datetime.now(UTC), secrets.token_hex(3))
    upload = api.upload_manifest(args.manifest, key)
    if args.quiet:
        print(upload.job_id, flush=True)
    else:
        print(f"Uploaded {args.manifest} to s3://{upload.bucket}/{upload.key}")
        print(f"Job {upload.job_id} (project {args.project})", flush=True)
    if not args.wait:
        if not args.quiet:
            print(f"Follow it with: labelflow status {upload.job_id} --watch{stack_flags(args)}")
        return EXIT_OK
    record, workflow = _wait(api, upload.job_id, args.interval, args.timeout, upload_key=key)
    return _ended(api, record, workflow, quiet=args.quiet, flags=stack_flags(args))


def _snapshot(
    api: JobsAws, record: JobRecord
) -> tuple[WorkflowView | None, list[LabelingJobView], Progress]:
    workflow = api.workflow(record)
    labeling = api.labeling_jobs(record, workflow)
    return workflow, labeling, job_progress(record, workflow, labeling)


def _rejection(api: JobsAws, key: str) -> str | None:
    """The intake trigger's reason for refusing ``key``, once it has written one."""
    from job_contracts.layout import rejection_key

    body = api.read_optional(rejection_key(key))
    if body is None:
        return None
    try:
        return str(json.loads(body).get("reason", "rejected"))
    except ValueError:
        return "rejected"


def _wait(
    api: JobsAws,
    job_id: str,
    interval: float,
    timeout: float | None,
    *,
    upload_key: str | None = None,
) -> tuple[JobRecord, WorkflowView | None]:
    """Show the job's progress until it ends; return what was last seen."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with ProgressLine(sys.stderr) as line:
        while True:
            record = api.get_job(job_id)
            if record is None:
                reason = _rejection(api, upload_key) if upload_key else None
                if reason is not None:
                    raise CommandError(f"the manifest was rejected: {reason}")
                line.update(render_bar(Progress("SUBMITTED", "waiting for the intake trigger")))
            else:
                workflow, _labeling, progress = _snapshot(api, record)
                line.update(render_bar(progress), progress.fraction)
                if progress.ended:
                    return record, workflow
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(
                    f"job {job_id} has not ended after {timeout:g} s; it goes on running "
                    f"(check it with: labelflow status {job_id})"
                )
            time.sleep(interval)


def _counts(
    api: JobsAws,
    record: JobRecord,
    workflow: WorkflowView | None = None,
    *,
    read_history: bool = False,
) -> LineCounts | None:
    """What became of the job's lines, from the most complete source that has them.

    The jobs table's counts once the job has ended (Publish and record-failure write them);
    else Validate's ``validation.json``; else the table's partial counts (an older stack's);
    else Validate's result in the execution's history (``workflow``, or, with
    ``read_history``, read now). The rejects' and the manifest's URIs are filled in when the
    source does not name them.
    """
    counts = record.line_counts
    if counts is None or counts.accepted is None:
        counts = api.line_counts(record.job_id) or counts
    if counts is None and workflow is None and read_history:
        workflow = api.workflow(record)
    if counts is None and workflow is not None:
        counts = workflow.validation
    return None if counts is None else _complete(api, record, counts)


def _complete(api: JobsAws, record: JobRecord, counts: LineCounts) -> LineCounts:
    """``counts`` with the rejects' URI and the manifest's, where its source left them out."""
    manifest = f"s3://{record.bucket}/{record.key}" if record.bucket and record.key else ""
    rejects = api.results_uri(JobLayout(record.job_id).rejects)
    return counts.completed(rejects_uri=rejects, manifest=manifest)


def _ended(
    api: JobsAws, record: JobRecord, workflow: WorkflowView | None, *, quiet: bool, flags: str
) -> int:
    status, reason = effective_status(record, workflow)
    if status == "SUCCEEDED" and quiet:
        return EXIT_OK
    counts = _counts(api, record, workflow)
    if status != "SUCCEEDED":
        print(f"Job {record.job_id} {status}: {reason}", file=sys.stderr)
        for line in format_line_counts(counts, width=17) if counts else ():
            print(line, file=sys.stderr)
        return EXIT_FAILED
    if counts is None:
        print(f"Job {record.job_id} SUCCEEDED: {record.labeled} of {record.items} items labeled")
    else:
        print(f"Job {record.job_id} SUCCEEDED: {record.labeled} of {counts.lines} lines labeled")
        for line in format_line_counts(
            counts, labeled=record.labeled, excluded=record.excluded, width=17
        ):
            print(line)
    print(f"{'Output manifest':<17}{record.output_uri}")
    print(f"{'Report':<17}{record.report_uri}")
    print(f"Download all:    labelflow results {record.job_id} -o {record.job_id}/{flags}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    if args.job is None and args.watch:
        raise CommandError("--watch needs a job id: labelflow status <job> --watch")
    api = _connect(args)
    if args.job is None:
        return _status_table(api, args)
    if args.watch and JOB_ID_PATTERN.fullmatch(args.job):
        # A full job id just printed by `submit` may not be recorded yet: wait for it too.
        record, _ = _wait(api, args.job, args.interval, None)
    else:
        record = api.find_job(args.job)
        if args.watch:
            record, _ = _wait(api, record.job_id, args.interval, None)
    workflow, labeling, progress = _snapshot(api, record)
    counts = _counts(api, record, workflow)
    status, reason = effective_status(record, workflow)
    flagged = flagged_workers(api.flagged_workers(record, workflow))
    if args.json:
        document = {
            **asdict(record),
            "status": status,
            "reason": reason,
            "tableStatus": record.status,
            "validation": counts.to_json() if counts else None,
            "workflow": asdict(workflow) if workflow else None,
            "labelingJobs": [asdict(job) for job in labeling],
            "progress": {
                "labeled": progress.done,
                "total": progress.total,
                "stage": progress.stage,
            },
            "flaggedWorkers": [worker.to_json() for worker in flagged],
        }
        print(json.dumps(document, indent=2, default=str))
    else:
        print(format_job_details(record, workflow, labeling, counts, flagged))
    return EXIT_FAILED if status in ("FAILED", "TIMED_OUT", "ABORTED") else EXIT_OK


def _status_table(api: JobsAws, args: argparse.Namespace) -> int:
    records = [r for r in api.list_jobs() if args.project is None or r.project == args.project]
    records = records[: args.limit]
    workflows = {
        r.job_id: view
        for r in records
        if r.status != "SUCCEEDED" and (view := api.workflow(r, history=False)) is not None
    }
    # The table has the counts of ended jobs; Validate's file those of the others.
    counts = {
        r.job_id: found
        for r in records
        if r.line_counts is None and (found := api.line_counts(r.job_id)) is not None
    }
    if not args.json:
        print(format_jobs_table(records, workflows, counts))
        return EXIT_OK
    rows = []
    for r in records:
        status, reason = effective_status(r, workflows.get(r.job_id))
        lines = r.line_counts or counts.get(r.job_id)
        if lines is not None:
            lines = _complete(api, r, lines)
        rows.append(
            {
                **asdict(r),
                "status": status,
                "reason": reason,
                "validation": lines.to_json() if lines else None,
            }
        )
    print(json.dumps(rows, indent=2, default=str))
    return EXIT_OK


def _finished(api: JobsAws, job: str) -> JobRecord:
    """The job, which must have finished with its output published."""
    record = api.find_job(job)
    if record.status == "SUCCEEDED":
        return record
    workflow = api.workflow(record)
    status, reason = effective_status(record, workflow)
    if status in ("FAILED", "TIMED_OUT", "ABORTED"):
        counts = _counts(api, record, workflow)
        where = ""
        if counts is not None and counts.rejected:
            where = f"; lines {describe_lines(counts)}; rejected lines in {counts.rejects_uri}"
        raise CommandError(f"job {record.job_id} {status} and has no results: {reason}{where}")
    stage = f", at {workflow.stage!r}" if workflow and workflow.stage else ""
    raise CommandError(
        f"job {record.job_id} has not finished (status {status}{stage}); wait for it with: "
        f"labelflow status {record.job_id} --watch"
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover


_REJECTS = "rejects.jsonl"


def _downloads(api: JobsAws, record: JobRecord, prefix: str) -> dict[str, tuple[str, int]]:
    """Relative path → (key, size) of what ``results`` downloads.

    Everything under the output prefix and, when Publish has not copied them there, the
    manifest's rejected lines.
    """
    files = {key.removeprefix(prefix): (key, size) for key, size in api.list_output(prefix)}
    if files and _REJECTS not in files:
        original = JobLayout(record.job_id).rejects
        for key, size in api.list_output(original):
            if key == original:
                files[_REJECTS] = (key, size)
    return files


def _results(args: argparse.Namespace) -> int:
    api = _connect(args)
    record = _finished(api, args.job)
    prefix = output_prefix_of(record.job_id, record.output_uri)
    files = _downloads(api, record, prefix)
    if not files:
        raise CommandError(f"job {record.job_id} has no objects under {prefix}")
    folder: Path = args.output or Path(record.job_id)
    total = sum(size for _key, size in files.values()) or 1
    done = 0
    written: list[tuple[Path, int]] = []
    with ProgressLine(sys.stderr) as line:
        for index, (name, (key, size)) in enumerate(sorted(files.items()), start=1):
            target = folder / name

            def advance(chunk: int, index: int = index) -> None:
                nonlocal done
                done += chunk
                share = min(1.0, done / total)
                line.update(
                    f"{bar(share)}  {index}/{len(files)} files  {_size(done)} of {_size(total)}",
                    share,
                )

            api.download(key, target, advance)
            written.append((target, size))
    print(f"Downloaded {len(written)} files of job {record.job_id} into {folder}/")
    for path, size in written:
        print(f"  {path}  ({_size(size)})")
    counts = _counts(api, record, read_history=True)
    if counts is not None:
        rejects = folder / _REJECTS if _REJECTS in files else counts.rejects_uri
        print(
            f"Lines of the manifest: {describe_lines(counts, labeled=record.labeled)}"
            + (f"; the rejected lines, with their reasons: {rejects}" if counts.rejected else "")
        )
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    api = _connect(args)
    record = _finished(api, args.job)
    prefix = output_prefix_of(record.job_id, record.output_uri)
    raw = api.read_output(f"{prefix}report.json")
    try:
        report = json.loads(raw)
    except ValueError as exc:
        raise CommandError(f"report.json of job {record.job_id} is not JSON: {exc}") from None
    if not isinstance(report, dict):
        raise CommandError(f"report.json of job {record.job_id} is not a JSON object")
    given = report.get("validation")
    if given is not None:
        counts: LineCounts | None = LineCounts.parse(
            given, where=f"the validation block of report.json of job {record.job_id}"
        )
    else:
        counts = _counts(api, record, read_history=True)
    if args.json:
        if given is None and counts is not None:
            # A report published before it carried Validate's counts: add them.
            sys.stdout.write(json.dumps({**report, "validation": counts.to_json()}, indent=2))
            sys.stdout.write("\n")
        else:
            sys.stdout.write(raw.decode("utf-8").rstrip("\n") + "\n")
    else:
        print(format_report_summary(report, counts=counts))
    if args.html is not None:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_bytes(api.read_output(f"{prefix}report.html"))
        print(f"Saved the HTML report to {args.html}", file=sys.stderr)
    return EXIT_OK


# -- the commands, declared ------------------------------------------------------------------

COMMANDS = (
    Command(
        name="local",
        help="run LabelFlow on this machine: the local AWS emulator with the stack deployed",
        description="Run the deployed LabelFlow stack on this machine, offline.",
        examples=_LOCAL_EXAMPLES,
        actions=(
            Command(
                name="up",
                help="start the emulator, deploy the stack, stay up until Ctrl-C",
                description=(
                    "Start the local AWS emulator on 127.0.0.1, deploy the stack into it "
                    "(synthesizing it first, on the project's pinned Node.js, when "
                    ".labelflow/cdk.out is missing or older than the code) with simulated "
                    "Ground Truth workers, write the state file that --local reads, and stay "
                    "up until Ctrl-C. Workers answer a manifest line's 'truth' key when it "
                    "has one; for classification without it, a label chosen by a stable hash "
                    "of the item."
                ),
                examples=_LOCAL_EXAMPLES,
                arguments=_up_arguments,
                run=_local_up,
            ),
        ),
    ),
    Command(
        name="submit",
        help="upload a manifest to a project and start a labeling job",
        description=(
            "Upload a JSON Lines manifest to s3://<intake bucket>/<project>/ under a fresh "
            "name and print the job id the upload starts. With --wait, show its progress "
            "until it ends and print what became of the manifest's lines (read, labeled, "
            "rejected by reason, blank), where the rejected lines are, and where its results "
            "are."
        ),
        examples=_SUBMIT_EXAMPLES,
        arguments=_submit_arguments,
        run=_submit,
        parents=(stack_options,),
    ),
    Command(
        name="status",
        help="recent jobs, or one job in detail",
        description=(
            "Without a job: a table of recent jobs, with the lines each read, labeled and "
            "rejected and the manifest it labels. With a job: its details, including the "
            "rejected lines by reason and where they are."
        ),
        examples=_STATUS_EXAMPLES,
        arguments=_status_arguments,
        run=_status,
        parents=(stack_options,),
    ),
    Command(
        name="results",
        help="download a finished job's output manifest, exports, report and rejected lines",
        description=(
            "Download everything under the job's output prefix into a folder, and the "
            "manifest's rejected lines (rejects.jsonl: one JSON object per line with its "
            "line number, reason and detail)."
        ),
        examples=_RESULTS_EXAMPLES,
        arguments=_results_arguments,
        run=_results,
        parents=(stack_options,),
    ),
    Command(
        name="report",
        help="a finished job's quality report",
        description=(
            "Print the summary of a finished job's quality report: lines read and rejected "
            "(by reason), items, labeled, no consensus, agreement, confidence and the most "
            "and least skilled workers."
        ),
        examples=_REPORT_EXAMPLES,
        arguments=_report_arguments,
        run=_report,
        parents=(stack_options,),
    ),
)
