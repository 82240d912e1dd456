"""Job workflow speed: a 1,000-item manifest from the intake upload to the output manifest.

Run from the repository root with the project's environment::

    .venv/bin/python -m benchmarks.workflow.run            # 1,000 items, 5 runs
    .venv/bin/python -m benchmarks.workflow.run --quick    # 100 items, 1 run, no docs/

It synthesizes the ``dev`` stage and deploys it into a fresh local emulator once, the way
``labelflow local up`` does, with three simulated workers per item (90% accurate). Before
any timing it uploads one small generated PNG per item to the intake bucket (under
``pets/images/``, a key the intake trigger ignores). Each run then puts a manifest of those
images for the ``pets`` project (image classification, ``auto`` consolidation) into the
intake bucket and waits for the real path: S3 event → EventBridge → the intake Lambda →
the Step Functions workflow (Validate → Distributed Map of labeling jobs: the fake Ground
Truth job calls the pre-annotation Lambda per item, the simulated workers answer, the
consolidation Lambda consolidates → Publish). A run ends when the jobs table says
``SUCCEEDED`` and the output manifest is readable with one labeled line per item.

Per run it reports the wall time, a breakdown by workflow stage taken from the execution
history (and, inside the labeling job, from the times the fake job wrote its files), the
process's CPU time over the run, and the process's peak resident set size during the run
(everything runs in this process: emulator, workflow, Lambdas, workers). The Markdown
report goes to stdout; a full run also writes ``docs/benchmarks-workflow.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import secrets
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOC = REPO / "docs" / "benchmarks-workflow.md"

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(REPO))

from labelflow.jobs import JobRecord, StackInfo, parse_s3_uri, upload_key  # noqa: E402
from labelflow.jobs_aws import JobsAws  # noqa: E402
from labelflow.local.fake_sagemaker import DEFAULT_CONSOLIDATION_BATCH_SIZE  # noqa: E402
from labelflow.local.up import LocalStack, LocalWorkforce  # noqa: E402
from labelflow.pinned_node import use_pinned_node  # noqa: E402

STAGE = "dev"
PROJECT = "pets"
LABELS = ("cat", "dog", "other")
DEFAULT_ITEMS = 1_000
QUICK_ITEMS = 100
RUNS = 5
QUICK_RUNS = 1
WORKERS = 3
ACCURACY = 0.9
DEFAULT_SEED = 20261128
TARGET_SECONDS = 30.0
POLL_SECONDS = 0.1
RUN_TIMEOUT = 900.0
IMAGE_SIDE = 32
IMAGE_PREFIX = f"{PROJECT}/images"
UPLOAD_THREADS = 8


# --- the data -----------------------------------------------------------------------------------


def _png(width: int, height: int, pixels: bytes) -> bytes:
    """A truecolour PNG of ``pixels`` (RGB rows, top to bottom)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = width * 3
    raw = b"".join(b"\x00" + pixels[y * row : (y + 1) * row] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def image(rng: random.Random, label: str, side: int = IMAGE_SIDE) -> bytes:
    """A small noisy image whose dominant colour depends on its label."""
    base = {"cat": (200, 120, 40), "dog": (60, 110, 200), "other": (90, 170, 90)}[label]
    tint = bytes(base) * (side * side)
    noise = rng.randbytes(side * side * 3)
    pixels = bytes((c & 0xC0) | (n & 0x3F) for c, n in zip(tint, noise, strict=True))
    return _png(side, side, pixels)


@dataclass(frozen=True)
class Item:
    key: str
    label: str


def dataset(items: int, seed: int) -> list[tuple[Item, bytes]]:
    """``items`` seeded images with their true labels."""
    rng = random.Random(seed)
    out = []
    for n in range(items):
        label = rng.choice(LABELS)
        out.append((Item(f"{IMAGE_PREFIX}/{n:06d}.png", label), image(rng, label)))
    return out


def manifest(bucket: str, items: Sequence[Item]) -> bytes:
    """One line per image; ``truth`` is the answer the simulated workers aim for."""
    lines = (
        json.dumps({"source-ref": f"s3://{bucket}/{item.key}", "truth": item.label})
        for item in items
    )
    return ("\n".join(lines) + "\n").encode()


# --- process measurements -------------------------------------------------------------------------


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) so a run's own peak can be read; Linux only."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int:
    """Peak RSS in bytes since the last reset (VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return float(usage.ru_utime + usage.ru_stime)


# --- one run --------------------------------------------------------------------------------------

#: The stages of the breakdown, in order: (name, what it covers).
STAGES = (
    ("intake", "upload → execution started (S3 event, EventBridge, intake Lambda)"),
    ("validate", "Validate manifest step (reads the manifest, HEADs every image)"),
    ("job: start", "Map entered → labeling job created (child execution, start Lambda)"),
    (
        "job: label",
        "job created → first consolidation request written (pre-annotation Lambda per item, "
        "simulated answers, one worker-response file per item)",
    ),
    (
        "job: consolidate",
        "consolidation Lambda, batch by batch (first request → last response written)",
    ),
    (
        "job: finish",
        "last consolidation response → Map exited (output manifest, job event, callback)",
    ),
    (
        "publish",
        "Publish results entered → job seen SUCCEEDED and its manifest read (output "
        "manifest, exports, report, audit, priors; the jobs table is polled every "
        f"{POLL_SECONDS:g} s)",
    ),
    ("other", "hand-overs: the Pass state before Validate, Map exited → Publish entered"),
)


@dataclass
class Run:
    wall_seconds: float
    cpu_seconds: float
    peak_rss: int
    stages: dict[str, float]
    load: tuple[str, str]
    job_id: str
    labeled: int
    accuracy: float
    batches: int = 0
    notes: list[str] = field(default_factory=list)


def _history(api: JobsAws, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pages = api.client("stepfunctions").get_paginator("get_execution_history")
    for page in pages.paginate(executionArn=execution_arn):
        events += page["events"]
    return events


def _state_times(events: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Epoch seconds of the execution's start and of every state's entry and exit."""
    times: dict[str, float] = {}
    for event in events:
        kind = str(event["type"])
        moment = event["timestamp"].timestamp()
        if kind == "ExecutionStarted":
            times["started"] = moment
        elif kind.endswith("StateEntered"):
            times.setdefault(f"enter {event['stateEnteredEventDetails']['name']}", moment)
        elif kind.endswith("StateExited"):
            times[f"exit {event['stateExitedEventDetails']['name']}"] = moment
    return times


def _object_time(bucket: str, key: str) -> float:
    """When the emulator stored an object, to the microsecond (S3 returns whole seconds)."""
    from moto.s3.models import s3_backends

    from labelflow.local.server import ACCOUNT_ID

    stored = s3_backends[ACCOUNT_ID]["aws"].get_object(bucket, key)
    if stored is None:
        raise RuntimeError(f"s3://{bucket}/{key} was listed but cannot be read")
    return float(stored.last_modified.timestamp())


def _job_files(api: JobsAws, job_name: str) -> dict[str, float]:
    """Creation time of the labeling job, when it wrote its first consolidation request and
    its last consolidation response, and how many consolidation batches it had."""
    described = api.client("sagemaker").describe_labeling_job(LabelingJobName=job_name)
    times = {"created": described["CreationTime"].timestamp()}
    bucket, prefix = parse_s3_uri(
        described["OutputConfig"]["S3OutputPath"].rstrip("/") + f"/{job_name}/"
    )
    listing = api.client("s3").get_paginator("list_objects_v2")
    requests: list[float] = []
    responses: list[float] = []
    for page in listing.paginate(Bucket=bucket, Prefix=f"{prefix}annotations/consolidated"):
        for entry in page.get("Contents", []):
            if "/consolidation-request/" in entry["Key"]:
                requests.append(_object_time(bucket, entry["Key"]))
            elif "/consolidation-response/" in entry["Key"]:
                responses.append(_object_time(bucket, entry["Key"]))
    if requests:
        times["consolidation-request"] = min(requests)
        times["batches"] = float(len(requests))
    if responses:
        times["consolidation-response"] = max(responses)
    return times


def _breakdown(
    uploaded: float, observed: float, states: Mapping[str, float], job: Mapping[str, float]
) -> dict[str, float]:
    marks = [
        ("intake", uploaded, states.get("started")),
        ("validate", states.get("enter Validate manifest"), states.get("exit Validate manifest")),
        ("job: start", states.get("enter Label chunks"), job.get("created")),
        ("job: label", job.get("created"), job.get("consolidation-request")),
        ("job: consolidate", job.get("consolidation-request"), job.get("consolidation-response")),
        ("job: finish", job.get("consolidation-response"), states.get("exit Label chunks")),
        # Publish writes SUCCEEDED to the jobs table before it returns, so a run can end
        # before the history records the step's exit: the stage ends when the run does.
        ("publish", states.get("enter Publish results"), observed),
    ]
    stages = {name: end - start for name, start, end in marks if start is not None and end}
    stages["other"] = (observed - uploaded) - sum(stages.values())
    return stages


def _wait(api: JobsAws, job_id: str, timeout: float) -> JobRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = api.get_job(job_id)
        # Publish sets SUCCEEDED and the outputUri in one update, which the emulator applies
        # atomically (the dynamodb-atomic patch); checking both costs nothing.
        if record is not None and (
            record.status == "FAILED" or (record.status == "SUCCEEDED" and record.output_uri)
        ):
            return record
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"job {job_id} did not end within {timeout:g} s")


def measure(api: JobsAws, items: Sequence[Item], body: bytes, timeout: float) -> Run:
    """Upload the manifest; wait for SUCCEEDED and a readable output manifest."""
    key = upload_key(PROJECT, "benchmark.jsonl", dt.datetime.now(dt.UTC), secrets.token_hex(3))
    with tempfile.TemporaryDirectory(prefix="labelflow-workflow-") as tmp:
        path = Path(tmp) / "benchmark.jsonl"
        path.write_bytes(body)
        load_start = _load()
        reset = _reset_peak_rss()
        cpu = _cpu_seconds()
        start = time.perf_counter()
        uploaded = time.time()
        upload = api.upload_manifest(path, key)
        record = _wait(api, upload.job_id, timeout)
        if record.status != "SUCCEEDED":
            raise RuntimeError(f"job {record.job_id} {record.status}: {record.error}")
        rows = api.read_output(parse_s3_uri(record.output_uri)[1]).decode().splitlines()
        observed = time.time()
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
        peak = _peak_rss()
    load = (load_start, _load())

    labels = [json.loads(row).get(PROJECT, {}).get("class-name") for row in rows]
    if len(rows) != len(items):
        raise RuntimeError(f"the output manifest has {len(rows)} lines, not {len(items)}")
    correct = sum(label == item.label for label, item in zip(labels, items, strict=True))
    history = _history(api, record.execution_arn)
    jobs = [f"{PROJECT}-{record.job_id}-0"]
    files = _job_files(api, jobs[0])
    stages = _breakdown(uploaded, observed, _state_times(history), files)
    notes = [] if reset else ["peak RSS since the process started (VmHWM reset unavailable)"]
    return Run(
        wall_seconds=wall,
        cpu_seconds=cpu,
        peak_rss=peak,
        stages=stages,
        load=load,
        job_id=record.job_id,
        labeled=sum(label is not None for label in labels),
        accuracy=correct / len(items),
        batches=int(files.get("batches", 0)),
        notes=notes,
    )


# --- the emulator -------------------------------------------------------------------------------


@contextlib.contextmanager
def deployed(folder: Path, seed: int) -> Iterator[tuple[LocalStack, JobsAws, float]]:
    """The ``dev`` stage synthesized and deployed into a fresh emulator; setup seconds."""
    use_pinned_node()  # synthesizing loads the CDK app
    start = time.perf_counter()
    local = LocalStack(
        stage=STAGE,
        state_file=folder / ".labelflow" / "local.json",
        workforce=LocalWorkforce(workers=WORKERS, accuracy=ACCURACY, seed=seed),
    )
    with local:
        info = StackInfo(
            name=local.stack,
            outputs=local.outputs,
            region="us-east-1",
            where=f"local emulator at {local.endpoint_url}",
            endpoint_url=local.endpoint_url,
        )
        yield local, JobsAws(info), time.perf_counter() - start


def upload_images(api: JobsAws, data: Sequence[tuple[Item, bytes]]) -> None:
    bucket = api.stack.output("IntakeBucketName")
    s3 = api.client("s3")

    def put(entry: tuple[Item, bytes]) -> None:
        s3.put_object(Bucket=bucket, Key=entry[0].key, Body=entry[1], ContentType="image/png")

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(put, data))


# --- the report ---------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def _spread(values: Sequence[float], unit: str = "s") -> str:
    med = statistics.median(values)
    return f"{med:.1f} {unit} ({min(values):.1f}-{max(values):.1f})"


def render(
    *,
    items: int,
    image_bytes: int,
    runs: Sequence[Run],
    setup_seconds: float,
    upload_seconds: float,
    load: tuple[str, str],
    seed: int,
    peak_process: int,
) -> str:
    walls = [r.wall_seconds for r in runs]
    median = statistics.median(walls)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    import moto

    rows = [
        "# Job workflow benchmark",
        "",
        f"Generated by `python -m benchmarks.workflow.run` on {now}. Reproduce with "
        "`.venv/bin/python -m benchmarks.workflow.run` (part of `make bench`); what the numbers "
        "mean, what was changed to reach them and what is left: `benchmarks/workflow/README.md`.",
        "",
        "## Machine",
        "",
        "| what | value |",
        "|---|---|",
        f"| CPUs | {os.cpu_count()} ({platform.processor() or platform.machine()}) |",
        f"| platform | {platform.platform()} |",
        f"| Python | {platform.python_version()}, moto {moto.__version__} |",
        f"| load average (1/5/15 min) | start {load[0]}, end {load[1]} |",
        "",
        "## Input",
        "",
        f"Stage `{STAGE}`, project `{PROJECT}` (image classification, labels "
        f"{', '.join(LABELS)}; `auto` consolidation; {WORKERS} workers per item). "
        f"{items:,} generated {IMAGE_SIDE}x{IMAGE_SIDE} PNG images ({_mib(image_bytes)} in all, "
        f"seed {seed}) uploaded to the intake bucket before timing; {WORKERS} simulated workers, "
        f"each right with probability {ACCURACY:.0%}. Setup (synthesize, start the emulator, "
        f"deploy): {setup_seconds:.1f} s; image upload: {upload_seconds:.1f} s; neither is timed "
        "below.",
        "",
        "## Results",
        "",
        f"{len(runs)} run(s) against the same deployment, one after another. Time is from the "
        "manifest's `PutObject` to the jobs table reading `SUCCEEDED` and the output manifest "
        "read back; median (min-max).",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
        f"| upload → output manifest, {items:,} items | {_spread(walls)} | "
        f"≤ {TARGET_SECONDS:.0f} s | {_met(median <= TARGET_SECONDS)} |",
        f"| process CPU time over the run (all threads) | "
        f"{_spread([r.cpu_seconds for r in runs])} | - | - |",
        f"| peak RSS of the process during a run | {_mib(max(r.peak_rss for r in runs))} | - | - |",
        f"| peak RSS of the process (incl. setup) | {_mib(peak_process)} | - | - |",
        f"| items labeled / consolidated label = truth | "
        f"{min(r.labeled for r in runs):,} / "
        f"{statistics.median(r.accuracy for r in runs):.1%} | - | - |",
        "",
        "## Where the time goes",
        "",
        "Median (min-max) per stage, from the execution history (state entered/exited) and, "
        "inside the labeling job, from the job's creation time and the times the fake job "
        "wrote its first consolidation request and its last consolidation response (the job "
        f"consolidates in {max(r.batches for r in runs):,} batches of at most "
        f"{DEFAULT_CONSOLIDATION_BATCH_SIZE} items, as Ground Truth calls the consolidation "
        "Lambda batch by batch).",
        "",
        "| stage | what it covers | time | share of the median run |",
        "|---|---|---|---|",
    ]
    for name, what in STAGES:
        values = [r.stages[name] for r in runs if name in r.stages]
        if not values:
            continue
        share = statistics.median(values) / median if median else 0.0
        rows.append(f"| {name} | {what} | {_spread(values)} | {share:.0%} |")
    rows += [
        "",
        "## Runs",
        "",
        "| run | job | wall | CPU | peak RSS | load at start | load at end |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(runs, 1):
        rows.append(
            f"| {n} | `{r.job_id}` | {r.wall_seconds:.1f} s | {r.cpu_seconds:.1f} s | "
            f"{_mib(r.peak_rss)} | {r.load[0]} | {r.load[1]} |"
        )
    notes = sorted({note for r in runs for note in r.notes})
    if notes:
        rows += ["", *[f"Note: {note}." for note in notes]]
    rows.append("")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=None, help="manifest lines (images)")
    parser.add_argument("--runs", type=int, default=None, help="measured runs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT, help="seconds per run")
    parser.add_argument("--quick", action="store_true", help="100 items, 1 run, no docs/")
    args = parser.parse_args(argv)
    items = args.items or (QUICK_ITEMS if args.quick else DEFAULT_ITEMS)
    runs = args.runs or (QUICK_RUNS if args.quick else RUNS)
    load_start = _load()
    data = dataset(items, args.seed)
    # The Lambdas run in this process and log to stdout: keep stdout for the report.
    with (
        contextlib.redirect_stdout(sys.stderr),
        tempfile.TemporaryDirectory(prefix="labelflow-bench-") as tmp,
        deployed(Path(tmp), args.seed) as (_local, api, setup_seconds),
    ):
        print(f"deployed in {setup_seconds:.1f} s; uploading {items:,} images ...", file=sys.stderr)
        start = time.perf_counter()
        upload_images(api, data)
        upload_seconds = time.perf_counter() - start
        body = manifest(api.stack.output("IntakeBucketName"), [item for item, _ in data])
        measured = []
        for n in range(runs):
            print(f"run {n + 1}/{runs} ...", file=sys.stderr)
            run = measure(api, [item for item, _ in data], body, args.timeout)
            print(f"  {run.wall_seconds:.1f} s (load {run.load[1]})", file=sys.stderr)
            measured.append(run)
    text = render(
        items=items,
        image_bytes=sum(len(png) for _, png in data),
        runs=measured,
        setup_seconds=setup_seconds,
        upload_seconds=upload_seconds,
        load=(load_start, _load()),
        seed=args.seed,
        peak_process=int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
    )
    print(text)
    if not args.quick and items == DEFAULT_ITEMS:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
