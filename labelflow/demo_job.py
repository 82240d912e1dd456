"""``make demo``: a complete labeling job on this machine, through a local Label Studio.

:func:`run_job_demo` starts the local AWS emulator and a local Label Studio (from PyPI, SQLite,
127.0.0.1), synthesizes a stage whose project ``digits`` labels handwritten digits on the
Label Studio backend, deploys it into the emulator, drops a manifest of real scans (the
handwritten-digits set scikit-learn ships) into the intake bucket, and lets simulated
annotators of a given accuracy answer through Label Studio's API (or, with ``interactive``,
people in a browser). Label Studio's webhook reaches the webhook function through its local
function URL; the job is then consolidated and published by the same code as every job. The
demo prints its progress and ends with where the output manifest, exports and HTML report are,
and a short summary: items, accuracy against the known truth, agreement and cost.

Everything it starts, it stops.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["DemoOptions", "run_job_demo"]

PROJECT = "digits"
REPLAY_PROJECT = "ducks"
STAGE = "demo"
_SECRET_NAME = "labelflow/demo/label-studio-token"
_ENDED = {"SUCCEEDED", "FAILED", "STOPPED"}


@dataclass(frozen=True)
class DemoOptions:
    """What the demo labels, and who answers."""

    out: Path
    items: int = 60
    annotators: int = 5
    workers_per_item: int = 3
    accuracy: float = 0.85
    interactive: bool = False
    seed: int = 7
    timeout: float = 600.0
    verbose: bool = False
    replay: bool = False

    @property
    def project(self) -> str:
        return REPLAY_PROJECT if self.replay else PROJECT


def _quiet(verbose: bool) -> None:
    """Keep the functions' JSON logs and the emulator's own logging out of the demo's output.

    The functions read the log level when their modules are first imported, which happens
    after this, inside the emulator.
    """
    if verbose:
        return
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    for name in ("moto", "werkzeug", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _project(workers_per_item: int, *, replay: bool = False) -> Any:
    from infra.config import ProjectConfig
    from labelflow.demo_data import DIGIT_LABELS, DUCK_LABELS

    if replay:
        return ProjectConfig(
            name=REPLAY_PROJECT,
            task_type="text-classification",
            labels=DUCK_LABELS,
            short_instruction="Does the image show a duck?",
            full_instruction=(
                "Answers replayed from the duck set's real crowd workers. The set ships its "
                "answers, not its images, so each task names the image."
            ),
            workers_per_item=workers_per_item,
            backend="labelstudio",
        )
    return ProjectConfig(
        name=PROJECT,
        task_type="image-classification",
        labels=DIGIT_LABELS,
        short_instruction="Which digit was written?",
        full_instruction=(
            "Each picture is a scan of one handwritten digit, 0 to 9.\n"
            "Choose the digit the writer meant, even when the stroke is faint or slanted."
        ),
        workers_per_item=workers_per_item,
        backend="labelstudio",
    )


class _Steps:
    """Numbered step lines on standard error."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self._total = total
        self._done = 0
        self._stream = stream
        self._started = time.monotonic()

    def __call__(self, text: str) -> None:
        self._done += 1
        elapsed = time.monotonic() - self._started
        print(f"[{self._done}/{self._total}] {text}  ({elapsed:4.0f} s)", file=self._stream)


AnswerWith = Callable[[Any, int], None]


def run_job_demo(
    options: DemoOptions, *, stream: IO[str] = sys.stderr, answer_with: AnswerWith | None = None
) -> int:
    """Run the demo job (see the module docstring); return the process exit code.

    ``answer_with(studio, project_id)``, when given, answers the job's Label Studio project in
    place of the simulated annotators (a browser test drives Label Studio's page with it).
    """
    from labelflow.demo_data import digit_images, duck_answers
    from labelflow.local.label_studio import LocalLabelStudio
    from labelflow.local.server import LocalAws
    from labelflow.local.up import REPO_ROOT

    if not 0.0 <= options.accuracy <= 1.0:
        raise ValueError(f"accuracy must be from 0 to 1, got {options.accuracy}")
    if options.annotators < options.workers_per_item and not options.replay:
        raise ValueError(
            f"{options.annotators} annotators cannot give {options.workers_per_item} "
            "answers per item: nobody answers an item twice"
        )
    _quiet(options.verbose)
    step = _Steps(6, stream)
    recorded = (
        duck_answers(REPO_ROOT, items=options.items, per_item=options.workers_per_item)
        if options.replay
        else None
    )
    options.out.mkdir(parents=True, exist_ok=True)
    step("Starting a local Label Studio (the first start also migrates its database)")
    with LocalLabelStudio() as studio:
        simulated = not (options.interactive or options.replay or answer_with)
        accounts = studio.create_annotators(options.annotators) if simulated else []
        step(f"Starting the local AWS emulator; {len(accounts)} annotator accounts ready")
        with LocalAws(run_jobs_in_background=True) as aws:
            outputs = _deploy(aws, studio, options, step)
            if recorded is not None:
                submitted = _submit_texts(aws, outputs, recorded.truth, step)
                _replay(studio, options, submitted, recorded.answers, step)
            else:
                submitted = _submit(
                    aws, outputs, digit_images(options.items, seed=options.seed), step
                )
            if recorded is not None:
                pass
            elif answer_with is not None:
                project = _studio_project(studio, PROJECT, submitted.job_id, options.timeout)
                answer_with(studio, project)
            elif options.interactive:
                _invite_people(studio, stream)
            else:
                _simulate(studio, accounts, options, submitted, step, stream)
            record = _wait(aws, outputs, submitted.job_id, options.timeout, stream)
            return _finish(aws, outputs, record, submitted.by_source, options, step, stream)


def _deploy(aws: Any, studio: Any, options: DemoOptions, step: _Steps) -> dict[str, str]:
    from infra.config import LabelStudioConfig, StageConfig
    from labelflow.local.deploy import deploy
    from labelflow.local.up import synthesize_config

    secret = aws.client("secretsmanager").create_secret(
        Name=_SECRET_NAME, SecretString=studio.admin.token
    )
    config = StageConfig(
        stage=STAGE,
        architecture="x86_64",
        projects=(_project(options.workers_per_item, replay=options.replay),),
        label_studio=LabelStudioConfig(
            mode="existing", url=studio.url.rstrip("/"), token_secret_arn=secret["ARN"]
        ),
    )
    cdk_out = options.out / "cdk.out"
    stack = synthesize_config(cdk_out, config)
    deployment = deploy(cdk_out, stack, client=aws.client, function_url_base=aws.function_url_base)
    step(f"Deployed stack {stack} into the emulator ({len(deployment.physical_ids)} resources)")
    return {key: str(value) for key, value in deployment.outputs.items()}


@dataclass(frozen=True)
class _Submitted:
    job_id: str
    by_source: dict[str, str]


def _submit(aws: Any, outputs: Mapping[str, str], images: list[Any], step: _Steps) -> _Submitted:
    from job_contracts.ids import job_id

    s3 = aws.client("s3")
    intake = outputs["IntakeBucketName"]
    by_source = {}
    lines = []
    for image in images:
        key = f"{PROJECT}/images/{image.name}"
        s3.put_object(Bucket=intake, Key=key, Body=image.png, ContentType="image/png")
        source = f"s3://{intake}/{key}"
        by_source[source] = image.truth
        # The known digit rides along as the line's gold answer: the report measures the
        # confidence against it (workers never see it).
        lines.append(json.dumps({"source-ref": source, f"{PROJECT}-gold": image.truth}))
    key = f"{PROJECT}/demo-{int(time.time())}.jsonl"
    put = s3.put_object(Bucket=intake, Key=key, Body=("\n".join(lines) + "\n").encode())
    identifier = job_id(intake, key, put.get("VersionId"), put["ETag"].strip('"'))
    step(f"Dropped s3://{intake}/{key} ({len(lines)} scans): job {identifier}")
    return _Submitted(identifier, by_source)


def _submit_texts(
    aws: Any, outputs: Mapping[str, str], truth: Mapping[str, str], step: _Steps
) -> _Submitted:
    from job_contracts.ids import job_id

    intake = outputs["IntakeBucketName"]
    key = f"{REPLAY_PROJECT}/replay-{int(time.time())}.jsonl"
    body = "".join(json.dumps({"source": text}) + "\n" for text in truth)
    put = aws.client("s3").put_object(Bucket=intake, Key=key, Body=body.encode())
    identifier = job_id(intake, key, put.get("VersionId"), put["ETag"].strip('"'))
    step(f"Dropped s3://{intake}/{key} ({len(truth)} recorded items): job {identifier}")
    return _Submitted(identifier, dict(truth))


def _replay(
    studio: Any,
    options: DemoOptions,
    submitted: _Submitted,
    answers: list[tuple[str, str, str]],
    step: _Steps,
) -> None:
    from labelflow.demo_data import DUCK_LABELS
    from labelflow.local.ls_annotators import Choices, replay_answers

    project = _studio_project(studio, REPLAY_PROJECT, submitted.job_id, options.timeout)
    admin = studio.client()
    tasks = {str(task.data["source"]): task.id for task in admin.list_tasks(project)}
    workers = sorted({worker for _, worker, _ in answers})
    accounts = dict(zip(workers, studio.create_annotators(len(workers), "recorded"), strict=True))
    clients = {worker: studio.client(account) for worker, account in accounts.items()}
    posted = replay_answers(
        clients.__getitem__, tasks, answers, Choices("answer", "text", DUCK_LABELS)
    )
    step(f"Replayed {posted} recorded answers of {len(workers)} real crowd workers")


def _studio_project(studio: Any, project_name: str, job_id: str, timeout: float) -> int:
    """The Label Studio project of the job's only chunk, once its webhook is registered."""
    from job_contracts.ids import labeling_job_name
    from labelstudio_backend.logic import project_title

    name = labeling_job_name(project_name, job_id, 0)
    admin = studio.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for project in admin.find_projects(project_title(name)):
            if project.description == name and admin.list_webhooks(project.id):
                return int(project.id)
        time.sleep(0.5)
    raise TimeoutError(f"no Label Studio project for {name} after {timeout:g} s")


def _simulate(  # noqa: PLR0917 - the demo's steps pass what the earlier ones produced
    studio: Any,
    accounts: list[Any],
    options: DemoOptions,
    submitted: _Submitted,
    step: _Steps,
    stream: IO[str],
) -> None:
    from labelflow.demo_data import DIGIT_LABELS
    from labelflow.local.ls_annotators import Choices, SimulatedAnnotator, answer_project
    from labelflow.progress import ProgressLine, bar

    project = _studio_project(studio, PROJECT, submitted.job_id, options.timeout)
    crowd = [SimulatedAnnotator(account, options.accuracy) for account in accounts]
    control = Choices("answer", "image", DIGIT_LABELS)
    total = len(submitted.by_source) * options.workers_per_item
    with ProgressLine(stream) as line:

        def progress(given: int) -> None:
            share = given / total if total else 1.0
            line.update(f"{bar(share)}  {given}/{total} answers in Label Studio", share)

        given = answer_project(
            studio,
            project,
            crowd,
            control,
            lambda data: submitted.by_source[str(data["source-ref"])],
            seed=options.seed,
            on_answer=progress,
        )
    step(
        f"{len(crowd)} simulated annotators ({options.accuracy:.0%} accurate) gave {given} "
        f"answers in Label Studio project {project}"
    )


def _invite_people(studio: Any, stream: IO[str]) -> None:
    print(
        "\nLabel Studio is open for labeling:\n"
        f"  {studio.url}\n"
        f"  log in as {studio.admin.email} / {studio.admin.password}\n"
        "Open the project whose name starts with 'digits-' and label every scan; the job\n"
        "finishes when each scan has its answers. Ctrl-C stops everything.\n",
        file=stream,
    )


def _wait(
    aws: Any, outputs: Mapping[str, str], job_id: str, timeout: float, stream: IO[str]
) -> dict[str, Any]:
    from labelflow.jobs import Progress, render_bar
    from labelflow.progress import ProgressLine

    table = outputs["JobsTableName"]
    dynamodb = aws.client("dynamodb")
    deadline = time.monotonic() + timeout
    with ProgressLine(stream) as line:
        while True:
            item = dynamodb.get_item(
                TableName=table, Key={"jobId": {"S": job_id}}, ConsistentRead=True
            ).get("Item", {})
            record = {name: next(iter(value.values())) for name, value in item.items()}
            status = str(record.get("status", "SUBMITTED"))
            line.update(render_bar(Progress(status, "consolidating and publishing")))
            if status in _ENDED:
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} has not ended after {timeout:g} s")
            time.sleep(0.5)


def _finish(  # noqa: PLR0917 - the demo's last step gathers what the others produced
    aws: Any,
    outputs: Mapping[str, str],
    record: Mapping[str, Any],
    truth: Mapping[str, str],
    options: DemoOptions,
    step: _Steps,
    stream: IO[str],
) -> int:
    out = options.out
    if record.get("status") != "SUCCEEDED":
        print(
            f"Job {record.get('jobId')} {record.get('status')}: {record.get('error', '')} "
            f"{record.get('reason', '')}",
            file=stream,
        )
        return 1
    files = _download(aws, outputs["ResultsBucketName"], str(record["jobId"]), out)
    manifest = out / "output" / "output.manifest"
    report = json.loads((out / "output" / "report.json").read_text())
    summary = summarize(manifest.read_text().splitlines(), truth, report, attribute=options.project)
    step(f"Published and downloaded {len(files)} files into {out / 'output'}")
    lines = _lines(report, out / "output" / "rejects.jsonl")
    print(
        f"\n{lines}Items            {summary['items']}\n"
        f"Labeled          {summary['labeled']}\n"
        f"Accuracy         {summary['accuracy']:.1%} against the known labels\n"
        f"Agreement        {summary['agreement']}\n"
        f"Calibration      {summary['calibration']}\n"
        f"Cost             {summary['cost']}\n"
        f"Output manifest  {manifest}\n"
        f"Exports          {out / 'output' / 'exports'}\n"
        f"Report           {out / 'output' / 'report.html'}",
        file=stream,
    )
    return 0


def _lines(report: Mapping[str, Any], rejects: Path) -> str:
    """What became of the manifest's lines, when the report says (else nothing)."""
    from labelflow.jobs import LineCounts, describe_lines, describe_reasons

    if report.get("validation") is None:
        return ""
    counts = LineCounts.parse(report["validation"], where="the report's validation block")
    text = f"Lines            {describe_lines(counts)}\n"
    if counts.rejected:
        text += f"Rejected         {describe_reasons(counts.by_reason)} (see {rejects})\n"
    return text


def _download(aws: Any, bucket: str, job_id: str, out: Path) -> list[Path]:
    s3 = aws.client("s3")
    prefix = f"jobs/{job_id}/output/"
    written = []
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            target = out / "output" / item["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            written.append(target)
    return written


def summarize(
    manifest_lines: list[str],
    truth: Mapping[str, str],
    report: Mapping[str, Any],
    *,
    attribute: str = PROJECT,
) -> dict[str, Any]:
    """Items, labeled items, accuracy against ``truth`` (by source), agreement and cost."""
    labeled = correct = 0
    for text in manifest_lines:
        if not text.strip():
            continue
        line = json.loads(text)
        value = line.get(attribute)
        if isinstance(value, Mapping) and "class-name" in value:
            labeled += 1
            source = line.get("source-ref", line.get("source", ""))
            correct += value["class-name"] == truth.get(source)
    items = sum(1 for text in manifest_lines if text.strip())
    agreement = report.get("agreement")
    cost = report.get("job_cost")
    calibration = report.get("calibration")
    return {
        "items": items,
        "labeled": labeled,
        "accuracy": correct / items if items else 0.0,
        "agreement": _describe(agreement),
        "calibration": (
            f"mean confidence {calibration['mean_confidence']:.2f} on "
            f"{calibration['labeled']} gold items {calibration['accuracy']:.0%} right "
            f"(expected calibration error {calibration['ece']:.3f})"
            if calibration and calibration.get("labeled")
            else "n/a (no gold items in the manifest)"
        ),
        "cost": _describe(cost),
    }


def _describe(value: Any) -> str:
    """A report block in a few words: a mean share, a cost in USD, or its note."""
    if not isinstance(value, Mapping):
        return "n/a" if value is None else str(value)
    if value.get("mean") is not None:
        return f"{float(value['mean']):.1%} of workers agree with the label, on average"
    if value.get("workforceCostUsd") is not None:
        note = f" ({value['note']})" if value.get("note") else ""
        return f"${float(value['workforceCostUsd']):.2f}{note}"
    return str(value.get("note") or json.dumps(value)[:120])
