"""Manifest validation speed and memory: 1,000,000 realistic lines through the pure validator.

Run from the repository root with the project's environment::

    .venv/bin/python -m benchmarks.validation.run            # 1,000,000 lines, 3 runs
    .venv/bin/python -m benchmarks.validation.run --quick    # 100,000 lines, 1 run, no docs/

It writes a seeded manifest to a temporary folder, then validates it in a child process per
run (read in 1 MiB chunks, output written to temporary files, as the Lambda does), and reports
lines per second and the child's peak resident set size (``ru_maxrss`` from ``os.wait4``).
The Markdown report goes to stdout; a full run also writes ``docs/benchmarks-validation.md``.
See ``benchmarks/validation/README.md`` for what every number means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOC = REPO / "docs" / "benchmarks-validation.md"

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "lambdas"))  # the Lambda asset root, as in Lambda and the tests

from gt_contracts import TaskType  # noqa: E402 - after the asset root is on the path
from validate_manifest.logic import (  # noqa: E402
    Reject,
    SourceRef,
    UnavailableObject,
    remove_unavailable,
    validate_manifest,
)

DEFAULT_LINES = 1_000_000
QUICK_LINES = 100_000
DEFAULT_SEED = 20240601
INVALID_RATE = 0.01
UNAVAILABLE_RATE = 0.001
CHUNK_BYTES = 1 << 20
TASK_TYPE: TaskType = "bounding-box"
RUNS = 3
QUICK_RUNS = 1
TARGET_LINES_PER_SECOND = 100_000
TARGET_PEAK_RSS = 256 * 1024 * 1024

CAMERAS = ("front-door", "back-yard", "garage", "porch", "driveway", "side-gate")
SITES = ("berlin-3", "lisbon-1", "austin-7", "osaka-2")


# --- the manifest -------------------------------------------------------------------------------


def _valid_line(rng: random.Random, n: int) -> str:
    day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    meta: dict[str, Any] = {"camera": rng.choice(CAMERAS), "capture-date": day}
    if rng.random() < 0.5:
        meta["site"] = rng.choice(SITES)
    uri = f"s3://labelflow-intake-prod/pets/images/{day[:7]}/{n:08d}-{rng.getrandbits(32):08x}.jpg"
    return json.dumps({"source-ref": uri, **meta})


def _invalid_line(rng: random.Random, n: int, earlier: str) -> bytes:
    """One of eight kinds of broken line, in turn."""
    kind = n % 8
    good = _valid_line(rng, n)
    if kind == 0:
        return good[: len(good) // 2].encode()  # truncated JSON
    if kind == 1:
        return earlier.encode()  # a repeated source-ref: kept and counted, not rejected
    if kind == 2:
        return good.replace('"source-ref"', '"image"').encode()  # no source
    if kind == 3:
        return good.replace("s3://", "https://").encode()  # not an S3 URI
    if kind == 4:
        return good.replace('"camera"', '"$camera"').encode()  # '$' attribute
    if kind == 5:
        return json.dumps({"source": "a dog on a sofa", "id": n}).encode()  # text for images
    if kind == 6:
        return good.replace("pets", "pets-\xe9").encode("latin-1")  # not UTF-8
    return json.dumps([good]).encode()  # not an object


def write_manifest(path: Path, lines: int, seed: int) -> int:
    """Write ``lines`` seeded lines (about 1% unusual: seven kinds of invalid line and repeated
    sources); return how many."""
    rng = random.Random(seed)
    invalid = 0
    earlier = _valid_line(rng, 0)
    with path.open("wb") as out:
        batch: list[bytes] = []
        for n in range(lines):
            if rng.random() < INVALID_RATE:
                batch.append(_invalid_line(rng, invalid, earlier))
                invalid += 1
            else:
                line = _valid_line(rng, n)
                if n % 1000 == 0:
                    earlier = line
                batch.append(line.encode())
            if len(batch) == 10_000:
                out.write(b"\n".join(batch) + b"\n")
                batch = []
        if batch:
            out.write(b"\n".join(batch) + b"\n")
    return invalid


# --- the child: one measured run -----------------------------------------------------------------


class _FileSink:
    """Writes what the Lambda's first step writes, to temporary files."""

    def __init__(self, clean: IO[bytes], rejects: IO[bytes], refs: IO[bytes] | None) -> None:
        self._clean = clean
        self._rejects = rejects
        self._refs = refs
        self.ref_count = 0

    def clean(self, lines: list[bytes]) -> None:
        self._clean.write(b"\n".join(lines))
        self._clean.write(b"\n")

    def reject(self, reject: Reject) -> None:
        self._rejects.write(reject.to_json() + b"\n")

    def source_refs(self, refs: list[SourceRef]) -> None:
        assert self._refs is not None
        self.ref_count += len(refs)
        self._refs.write(json.dumps(refs).encode() + b"\n")


def _chunks(path: Path) -> Any:
    with path.open("rb", buffering=0) as manifest:
        while chunk := manifest.read(CHUNK_BYTES):
            yield chunk


def _unavailable(refs_path: Path, every: int) -> list[UnavailableObject]:
    found: list[UnavailableObject] = []
    with refs_path.open("rb") as refs:
        for batch in refs:
            for position, line, uri, first in json.loads(batch):
                if position % every == 0:
                    found.append(
                        UnavailableObject(SourceRef(position, line, uri, first), "missing")
                    )
    return found


def child(manifest: Path) -> None:
    """Both validation steps over ``manifest``; timings and counts as JSON on stdout."""
    with tempfile.TemporaryDirectory(prefix="labelflow-validation-") as tmp:
        folder = Path(tmp)
        candidates, rejects, refs = (folder / n for n in ("candidates", "rejects", "refs"))
        start = time.perf_counter()
        with candidates.open("wb") as c, rejects.open("wb") as r, refs.open("wb") as s:
            sink = _FileSink(c, r, s)
            first = validate_manifest(_chunks(manifest), TASK_TYPE, sink)
        first_seconds = time.perf_counter() - start

        unavailable = _unavailable(refs, round(1 / UNAVAILABLE_RATE))
        start = time.perf_counter()
        with (
            candidates.open("rb") as c,
            (folder / "clean").open("wb") as out,
            rejects.open("ab") as r,
        ):
            final = remove_unavailable(c, unavailable, _FileSink(out, r, None), first)
        second_seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "first_seconds": first_seconds,
                "second_seconds": second_seconds,
                "first": first.to_json(),
                "final": final.to_json(),
                "refs": sink.ref_count,
                "unavailable": len(unavailable),
            }
        )
    )


# --- the parent: runs, measures, reports ---------------------------------------------------------


@dataclass(frozen=True)
class Run:
    first_seconds: float
    second_seconds: float
    wall_seconds: float
    peak_rss: int
    report: dict[str, Any]


def measure(manifest: Path) -> Run:
    """One child process; peak RSS of exactly that process from ``wait4``."""
    cmd = [sys.executable, "-m", "benchmarks.validation.run", "--child", str(manifest)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"child failed ({proc.returncode}): {err.read().decode()}")
        report = json.loads(out.read())
    return Run(
        first_seconds=report["first_seconds"],
        second_seconds=report["second_seconds"],
        wall_seconds=wall,
        peak_rss=int(usage.ru_maxrss) * 1024,  # kilobytes on Linux
        report=report,
    )


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def render(
    *, lines: int, invalid: int, size: int, runs: Sequence[Run], load: tuple[str, str], seed: int
) -> str:
    first_rates = [lines / r.first_seconds for r in runs]
    second_rates = [runs[0].report["first"]["accepted"] / r.second_seconds for r in runs]
    best, median = max(first_rates), statistics.median(first_rates)
    peak = max(r.peak_rss for r in runs)
    report = runs[0].report
    by_reason = ", ".join(f"{k} {v:,}" for k, v in report["final"]["byReason"].items())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        "# Manifest validation benchmark",
        "",
        f"Generated by `python -m benchmarks.validation.run` on {now}. "
        "Reproduce and read the numbers with `benchmarks/validation/README.md`.",
        "",
        "## Machine",
        "",
        "| what | value |",
        "|---|---|",
        f"| CPUs | {os.cpu_count()} ({platform.processor() or platform.machine()}) |",
        f"| platform | {platform.platform()} |",
        f"| Python | {platform.python_version()} (stdlib only) |",
        f"| load average (1/5/15 min) | start {load[0]}, end {load[1]} |",
        "",
        "## Input",
        "",
        f"{lines:,} lines, {_mib(size)}, seed {seed}: `source-ref` plus 2-3 metadata keys, "
        f"{invalid:,} unusual lines ({invalid / lines:.2%}): seven kinds of invalid line and "
        "repeated sources (kept and counted); task type "
        f"`{TASK_TYPE}`; read in {_mib(CHUNK_BYTES)} chunks. Outcome: "
        f"{report['final']['accepted']:,} accepted, {report['final']['rejected']:,} rejected "
        f"({by_reason}); {report['final'].get('repeated', 0):,} repeated sources.",
        "",
        "## Results",
        "",
        f"{len(runs)} run(s), each in a fresh child process. Rates are best (median) over runs.",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
        f"| first step: validate every line | {best:,.0f} lines/s ({median:,.0f}) | "
        f"≥ {TARGET_LINES_PER_SECOND:,} lines/s | {_met(best >= TARGET_LINES_PER_SECOND)} |",
        f"| second step: drop {report['unavailable']:,} unavailable objects | "
        f"{max(second_rates):,.0f} lines/s ({statistics.median(second_rates):,.0f}) | - | - |",
        f"| peak RSS of the child (both steps) | {_mib(peak)} | ≤ {_mib(TARGET_PEAK_RSS)} | "
        f"{_met(peak <= TARGET_PEAK_RSS)} |",
        f"| child wall time (start to exit) | "
        f"{', '.join(f'{r.wall_seconds:.1f} s' for r in runs)} | - | - |",
        "",
    ]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="manifest lines")
    parser.add_argument("--runs", type=int, default=None, help="measured runs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help="100,000 lines, 1 run, no docs/")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return 0
    lines = args.lines or (QUICK_LINES if args.quick else DEFAULT_LINES)
    runs = args.runs or (QUICK_RUNS if args.quick else RUNS)
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="labelflow-manifest-") as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        print(f"writing {lines:,} lines ...", file=sys.stderr)
        invalid = write_manifest(manifest, lines, args.seed)
        size = manifest.stat().st_size
        measured = []
        for n in range(runs):
            print(f"run {n + 1}/{runs} ...", file=sys.stderr)
            measured.append(measure(manifest))
    text = render(
        lines=lines,
        invalid=invalid,
        size=size,
        runs=measured,
        load=(load_start, _load()),
        seed=args.seed,
    )
    print(text)
    if not args.quick and lines == DEFAULT_LINES:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
