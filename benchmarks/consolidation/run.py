"""LabelFlow consolidation against crowd-kit 1.4.2: accuracy, calibration, speed, scale, imports.

Run from the repository root with the project's environment::

    .venv/bin/python -m benchmarks.consolidation.run            # everything (several minutes)
    .venv/bin/python -m benchmarks.consolidation.run --quick    # smoke check

It builds (or reuses) the crowd-kit environment ``benchmarks/.peer-venv``, measures both sides
in the same run, prints the Markdown report on stdout (progress on stderr), and writes
``benchmarks/results/consolidation.json``; a full run (no ``--quick``) also writes
``docs/benchmarks.md``. See ``benchmarks/README.md`` for what every number means.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.consolidation import batched, peer_env, synth
from consolidation import (
    Annotation,
    ClassAnswers,
    DawidSkene,
    classification_method,
    expected_calibration_error,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = REPO / "examples" / "crowd"
RESULTS = REPO / "benchmarks" / "results"
DOC = REPO / "docs" / "benchmarks.md"
PEER_FIT = HERE / "peer_fit.py"
PEER_CONSOLIDATE = HERE / "crowdkit_consolidate.py"

SETS = ("duck", "product", "dog", "face_sentiment")
SPEED_SET = "product"
LABELFLOW_METHODS = (
    "auto",
    "hierarchical-dawid-skene",
    "majority-vote",
    "weighted-vote",
    "dawid-skene",
    "one-coin-dawid-skene",
)
# Best crowd-kit 1.4.2 accuracy per set from the data sets' own reference table (Dawid-Skene).
REFERENCE_BEST = {"duck": 0.8889, "product": 0.9397, "dog": 0.8426, "face_sentiment": 0.6404}
ECE_BINS = 10

PEER_SPEED_REPEATS = 3
LABELFLOW_SPEED_REPEATS = 5
WHOLE_PROCESS_REPEATS = 3
SCALE_REPEATS = 3
IMPORT_REPEATS = 7

TARGET_FIT_RATIO = 50.0
TARGET_PROCESS_RATIO = 10.0
TARGET_SCALE_SECONDS = 3.0
TARGET_SCALE_RSS = 512 * 1024 * 1024
TARGET_IMPORT_RATIO = 1.5

IMPORT_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PYTHONPATH": "lambdas",
}


_STARTED = time.perf_counter()


def log(message: str) -> None:
    elapsed = time.perf_counter() - _STARTED
    print(f"[bench {elapsed:5.0f}s] {message}", file=sys.stderr, flush=True)


# -- measuring child processes ----------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds, its peak resident set size in bytes, exit code."""

    wall: float
    max_rss: int
    returncode: int
    stderr: str


def run_child(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run ``cmd`` to completion; wall time from spawn to reap, peak RSS from ``wait4``.

    ``wait4`` returns the resource usage of this one child (including any children it waited
    for), so nothing else this harness ran leaks into the peak.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Measured(wall, int(usage.ru_maxrss) * 1024, proc.returncode, stderr)


def run_checked(cmd: Sequence[str], **kwargs: Any) -> Measured:
    measured = run_child(cmd, **kwargs)
    if measured.returncode != 0:
        tail = "\n".join(measured.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {measured.returncode}:\n{tail}")
    return measured


def round_robin(
    commands: Mapping[str, Sequence[str]], repeats: int, **kwargs: Any
) -> dict[str, list[Measured]]:
    """Run every command ``repeats`` times, interleaved so load drifts hit all of them alike."""
    runs: dict[str, list[Measured]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            runs[name].append(run_checked(cmd, **kwargs))
    return runs


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


# -- data and scoring -------------------------------------------------------------------------


def read_truth(path: Path, item_col: str = "question") -> dict[str, str]:
    with path.open(newline="") as handle:
        return {row[item_col]: row["truth"] for row in csv.DictReader(handle)}


def read_annotations(path: Path) -> list[Annotation]:
    with path.open(newline="") as handle:
        return [
            Annotation(row["question"], row["worker"], row["answer"])
            for row in csv.DictReader(handle)
        ]


def read_labels(path: Path) -> tuple[list[str], list[str | None], list[float | None]]:
    """Items, labels (``None`` when empty) and confidences of a ``question,label,confidence``."""
    items: list[str] = []
    labels: list[str | None] = []
    confidence: list[float | None] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            items.append(row["question"])
            labels.append(row["label"] or None)
            value = row.get("confidence") or ""
            confidence.append(float(value) if value else None)
    return items, labels, confidence


def score(
    items: Sequence[str],
    labels: Sequence[str | None],
    confidence: Sequence[float | None] | None,
    truth: Mapping[str, str],
    answered: Iterable[str],
) -> dict[str, Any]:
    """Accuracy and ECE over the answered items that have a truth label.

    An answered item with truth but no label (no consensus, or missing from the output) counts
    as wrong. Items without truth are excluded and counted. ECE uses the items with a label and
    a confidence, with :data:`ECE_BINS` equal-width bins.
    """
    answered_set = set(answered)
    scored = [item for item in answered_set if item in truth]
    predicted = dict(zip(items, labels, strict=True))
    correct = sum(1 for item in scored if predicted.get(item) == truth[item])
    result: dict[str, Any] = {
        "accuracy": correct / len(scored) if scored else None,
        "correct": correct,
        "scored": len(scored),
        "excluded_no_truth": len(answered_set) - len(scored),
        "no_label": sum(1 for item in scored if predicted.get(item) is None),
        "ece": None,
    }
    if confidence is not None:
        conf, right = [], []
        for item, label, value in zip(items, labels, confidence, strict=True):
            if item in truth and label is not None and value is not None:
                conf.append(value)
                right.append(label == truth[item])
        if conf:
            result["ece"] = expected_calibration_error(
                np.asarray(conf, dtype=np.float64), np.asarray(right, dtype=bool), bins=ECE_BINS
            )
    return result


# -- the LabelFlow side (in process) ----------------------------------------------------------


def labelflow_answers(path: Path) -> ClassAnswers:
    """Encoded answers; a worker's repeated answers to an item keep the last (as the peer)."""
    return ClassAnswers.from_annotations(read_annotations(path))


def labelflow_run(answers: ClassAnswers, method: str) -> tuple[Any, float]:
    model = classification_method(method)
    start = time.perf_counter()
    result = model.aggregate(answers)
    return result, time.perf_counter() - start


def labelflow_accuracy(data: Path, name: str) -> list[dict[str, Any]]:
    answers = labelflow_answers(data / name / "answers.csv")
    truth = read_truth(data / name / "truth.csv")
    answered = list(answers.items) + list(answers.rejected)
    out = []
    for method in LABELFLOW_METHODS:
        result, seconds = labelflow_run(answers, method)
        index = result.label_index
        vocab = result.answers.labels
        labels = [vocab[k] if k >= 0 else None for k in index.tolist()]
        scores = score(
            list(result.answers.items), labels, result.confidence.tolist(), truth, answered
        )
        label = method
        log(f"{name}: LabelFlow {label}: {pct(scores['accuracy'])} in {secs(seconds)}")
        out.append({"method": label, "fit_seconds": seconds, **scores})
    return out


# -- the crowd-kit side (peer environment) ----------------------------------------------------


def run_peer_json(python: Path, args: Sequence[str]) -> Any:
    done = subprocess.run(
        [str(python), str(PEER_FIT), *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    return json.loads(done.stdout)


def peer_accuracy(
    python: Path, data: Path, sets: Sequence[str], slow: bool
) -> dict[str, list[dict[str, Any]]]:
    args = ["accuracy", "--data", str(data), "--sets", ",".join(sets)]
    raw = run_peer_json(python, [*args, "--slow"] if slow else args)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sets:
        truth = read_truth(data / name / "truth.csv")
        with (data / name / "answers.csv").open(newline="") as handle:
            answered = {row["question"] for row in csv.DictReader(handle)}
        rows = []
        for method in raw[name]["methods"]:
            if "error" in method:
                rows.append({"method": method["name"], "error": method["error"]})
                continue
            scores = score(method["items"], method["labels"], method["confidence"], truth, answered)
            rows.append({"method": method["name"], "fit_seconds": method["fit_seconds"], **scores})
        out[name] = rows
    return out


# -- sections -----------------------------------------------------------------------------------


def accuracy_section(python: Path, data: Path, sets: Sequence[str], slow: bool) -> dict[str, Any]:
    log(f"accuracy: crowd-kit on {', '.join(sets)}{' (with GLAD and MACE)' if slow else ''}")
    peer = peer_accuracy(python, data, sets, slow)
    section: dict[str, Any] = {}
    for name in sets:
        lf = labelflow_accuracy(data, name)
        ok_peer = [row for row in peer[name] if row.get("accuracy") is not None]
        best = max(ok_peer, key=lambda row: row["accuracy"]) if ok_peer else None
        auto = lf[0]
        verdict = {
            "labelflow_auto": auto["accuracy"],
            "peer_best": best["accuracy"] if best else None,
            "peer_best_method": best["method"] if best else None,
            "reference_best": REFERENCE_BEST.get(name),
            "meets": best is not None and auto["accuracy"] >= best["accuracy"],
        }
        section[name] = {"labelflow": lf, "crowd-kit": peer[name], "verdict": verdict}
    return section


def batched_section(python: Path, data: Path, sets: Sequence[str]) -> dict[str, Any]:
    """Accuracy and ECE per set and regime, batch by batch (see :mod:`.batched`)."""
    from consolidation.answers import natural_sorted

    answers = {name: batched.read_answers(data / name / "answers.csv") for name in sets}
    plans: dict[str, dict[int, list[list[str]]]] = {}
    for name in sets:
        items = sorted(answers[name])
        plans[name] = {size: batched.batches(items, size) for size in batched.BATCH_SIZES}
        plans[name][0] = [items]  # 0: the whole file in one batch
    path = batched.write_plans(plans)
    try:
        log(f"batched: crowd-kit MajorityVote and DawidSkene per batch on {', '.join(sets)}")
        peer = run_peer_json(python, ["batched", "--data", str(data), "--plans", str(path)])
    finally:
        path.unlink()
    section: dict[str, Any] = {}
    for name in sets:
        truth = read_truth(data / name / "truth.csv")
        vocab = natural_sorted({label for rows in answers[name].values() for _, label in rows})
        rows = []
        for size, plan in plans[name].items():
            regimes = [("carried", True)] if size == 0 else [("carried", True), ("new", False)]
            for regime, carried in regimes:
                start = time.perf_counter()
                out = batched.labelflow_replay(answers[name], plan, vocab, carried=carried)
                seconds = time.perf_counter() - start
                items = list(out)
                scores = score(
                    items,
                    [out[i][0] for i in items],
                    [out[i][1] for i in items],
                    truth,
                    answers[name],
                )
                label = "whole file" if size == 0 else f"batches of {size}"
                log(
                    f"batched: {name} {label} ({regime}): LabelFlow {pct(scores['accuracy'])}, "
                    f"ECE {scores['ece']:.3f}, {secs(seconds)}"
                )
                rows.append(
                    {
                        "size": size,
                        "regime": regime,
                        "side": "LabelFlow",
                        "method": "auto",
                        "seconds": seconds,
                        **scores,
                    }
                )
            for method in ("MajorityVote", "DawidSkene"):
                fitted = peer[name][str(size)][method]
                rows.append(
                    {
                        "size": size,
                        "regime": "per batch",
                        "side": "crowd-kit",
                        "method": method,
                        **score(
                            fitted["items"],
                            fitted["labels"],
                            fitted["confidence"],
                            truth,
                            answers[name],
                        ),
                    }
                )
        section[name] = {"rows": rows, "batches": {str(k): len(v) for k, v in plans[name].items()}}
    return section


def fit_speed_section(python: Path, data: Path) -> dict[str, Any]:
    log(f"speed: crowd-kit DawidSkene.fit on {SPEED_SET}, warm-up + {PEER_SPEED_REPEATS} runs")
    peer = run_peer_json(
        python,
        ["speed", "--data", str(data), "--set", SPEED_SET, "--repeats", str(PEER_SPEED_REPEATS)],
    )
    answers = labelflow_answers(data / SPEED_SET / "answers.csv")
    DawidSkene().aggregate(answers)  # warm-up, like the peer's
    seconds = []
    iterations = None
    for _ in range(LABELFLOW_SPEED_REPEATS):
        method = DawidSkene()
        start = time.perf_counter()
        result = method.aggregate(answers)
        seconds.append(time.perf_counter() - start)
        iterations = result.diagnostics.get("iterations")
    lf_median = median(seconds)
    peer_median = median(peer["fit_seconds"])
    ratio = peer_median / lf_median
    log(f"speed: LabelFlow {secs(lf_median)}, crowd-kit {secs(peer_median)}: {ratio:.0f}x")
    return {
        "set": SPEED_SET,
        "labelflow_seconds": seconds,
        "labelflow_median": lf_median,
        "labelflow_iterations": iterations,
        "peer_seconds": peer["fit_seconds"],
        "peer_median": peer_median,
        "peer_iterations": peer["iterations"],
        "ratio": ratio,
        "target": TARGET_FIT_RATIO,
        "meets": ratio >= TARGET_FIT_RATIO,
    }


def labelflow_cli() -> Path:
    return Path(sys.executable).parent / "labelflow"


def whole_process_section(python: Path, data: Path, repeats: int, warm_up: bool) -> dict[str, Any]:
    source = data / SPEED_SET / "answers.csv"
    truth = read_truth(data / SPEED_SET / "truth.csv")
    with tempfile.TemporaryDirectory(prefix="labelflow-bench-") as tmp:
        ours, theirs = Path(tmp) / "labels.csv", Path(tmp) / "peer.csv"
        commands = {
            "labelflow": [
                str(labelflow_cli()),
                "consolidate",
                str(source),
                "-o",
                str(ours),
                "--method",
                "dawid-skene",
            ],
            "crowd-kit": [str(python), str(PEER_CONSOLIDATE), str(source), str(theirs)],
        }
        if warm_up:
            log("whole process: one untimed warm-up run of each")
            round_robin(commands, 1, cwd=REPO)
        log(f"whole process: {repeats} interleaved run(s) of each on {SPEED_SET}")
        runs = round_robin(commands, repeats, cwd=REPO)
        outputs = {"labelflow": read_labels(ours), "crowd-kit": read_labels(theirs)}
    with source.open(newline="") as handle:
        answered = {row["question"] for row in csv.DictReader(handle)}
    lf_labels = dict(zip(outputs["labelflow"][0], outputs["labelflow"][1], strict=True))
    peer_labels = dict(zip(outputs["crowd-kit"][0], outputs["crowd-kit"][1], strict=True))
    agree = sum(1 for item, label in lf_labels.items() if peer_labels.get(item) == label)
    lf_median = median(m.wall for m in runs["labelflow"])
    peer_median = median(m.wall for m in runs["crowd-kit"])
    ratio = peer_median / lf_median
    log(f"whole process: LabelFlow {secs(lf_median)}, crowd-kit {secs(peer_median)}: {ratio:.1f}x")
    return {
        "set": SPEED_SET,
        "repeats": repeats,
        "labelflow_seconds": [m.wall for m in runs["labelflow"]],
        "labelflow_median": lf_median,
        "labelflow_peak_rss": max(m.max_rss for m in runs["labelflow"]),
        "peer_seconds": [m.wall for m in runs["crowd-kit"]],
        "peer_median": peer_median,
        "peer_peak_rss": max(m.max_rss for m in runs["crowd-kit"]),
        "ratio": ratio,
        "target": TARGET_PROCESS_RATIO,
        "meets": ratio >= TARGET_PROCESS_RATIO,
        "labelflow_accuracy": score(*outputs["labelflow"][:2], None, truth, answered)["accuracy"],
        "peer_accuracy": score(*outputs["crowd-kit"][:2], None, truth, answered)["accuracy"],
        "label_agreement": agree / len(lf_labels) if lf_labels else None,
    }


def scale_section() -> dict[str, Any]:
    spec = synth.ScaleSpec()
    log(f"scale: {spec.n_answers:,} answers (generated once, cached in benchmarks/results/)")
    answers, truth_path = synth.ensure_scale_files(RESULTS, spec)
    out = RESULTS / f"{spec.stem}-labels.csv"
    cmd = [str(labelflow_cli()), "consolidate", str(answers), "-o", str(out)]
    run_checked(cmd, cwd=REPO)  # warm-up: the 13 MB input into the page cache
    runs = [run_checked(cmd, cwd=REPO) for _ in range(SCALE_REPEATS)]
    truth = read_truth(truth_path)
    items, labels, _ = read_labels(out)
    scores = score(items, labels, None, truth, truth.keys())
    wall = median(m.wall for m in runs)
    peak = max(m.max_rss for m in runs)
    log(f"scale: {secs(wall)} wall, {mib(peak)} peak, {pct(scores['accuracy'])} accurate")
    return {
        "answers": spec.n_answers,
        "items": spec.n_items,
        "workers": spec.n_workers,
        "classes": spec.n_classes,
        "per_item": spec.per_item,
        "seed": spec.seed,
        "wall_seconds": [m.wall for m in runs],
        "wall_median": wall,
        "peak_rss": peak,
        "accuracy": scores["accuracy"],
        "target_seconds": TARGET_SCALE_SECONDS,
        "target_rss": TARGET_SCALE_RSS,
        "meets": wall <= TARGET_SCALE_SECONDS and peak <= TARGET_SCALE_RSS,
    }


def import_section() -> dict[str, Any]:
    python = sys.executable
    env = {**os.environ, **IMPORT_ENV}
    commands = {
        "floor": [python, "-c", "pass"],
        "boto3": [python, "-c", "import boto3"],
        "handler": [python, "-c", "import post_annotation.handler"],
    }
    probe = run_child(commands["handler"], env=env, cwd=REPO)
    available = probe.returncode == 0
    reason = ""
    if not available:
        reason = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        log(f"imports: post_annotation.handler does not import ({reason})")
        del commands["handler"]
    log(f"imports: {IMPORT_REPEATS} interleaved fresh processes per import")
    runs = round_robin(commands, IMPORT_REPEATS, env=env, cwd=REPO)
    raw = {name: median(m.wall for m in measured) for name, measured in runs.items()}
    net = {name: value - raw["floor"] for name, value in raw.items()}
    section: dict[str, Any] = {
        "repeats": IMPORT_REPEATS,
        "seconds": {name: [m.wall for m in measured] for name, measured in runs.items()},
        "raw_median": raw,
        "net_median": net,
        "handler_available": available,
        "target": TARGET_IMPORT_RATIO,
    }
    if available:
        section["ratio_raw"] = raw["handler"] / raw["boto3"]
        section["ratio_net"] = net["handler"] / net["boto3"] if net["boto3"] > 0 else None
        section["meets"] = section["ratio_net"] is not None and (
            section["ratio_net"] <= TARGET_IMPORT_RATIO
        )
    else:
        section["unavailable_reason"] = reason
    return section


# -- report -----------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.0f} MiB"


def ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def verdict(meets: bool | None) -> str:
    return "n/a" if meets is None else ("meets" if meets else "misses")


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_start": list(os.getloadavg()),
    }


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def render(report: Mapping[str, Any]) -> str:
    m = report["machine"]
    peer = report["peer"]
    opts = report["options"]
    lines = [
        "# Consolidation benchmark: LabelFlow vs crowd-kit 1.4.2",
        "",
        f"Generated by `{opts['command']}` on {m['date']}. Reproduce and read the numbers with "
        "`benchmarks/README.md`.",
        "",
        "## Machine",
        "",
        *table(
            ["what", "value"],
            [
                ["CPUs", f"{m['cpu_count']} ({m['cpu_model'] or 'unknown model'})"],
                ["platform", m["platform"]],
                ["LabelFlow side", f"Python {m['python']}, numpy {m['numpy']}"],
                [
                    "crowd-kit side",
                    f"Python {peer['python']}, crowd-kit {peer['crowd-kit']}, "
                    f"pandas {peer['pandas']}, numpy {peer['numpy']}, scipy {peer['scipy']}, "
                    f"scikit-learn {peer['scikit-learn']}",
                ],
                [
                    "load average (1/5/15 min)",
                    "start "
                    + "/".join(f"{x:.2f}" for x in m["load_average_start"])
                    + ", end "
                    + "/".join(f"{x:.2f}" for x in m["load_average_end"]),
                ],
            ],
        ),
        "",
    ]
    lines += render_accuracy(report["accuracy"], opts)
    lines += render_batched(report["batched"])
    lines += render_speed(report)
    lines += render_scale(report.get("scale"))
    lines += render_imports(report["imports"])
    return "\n".join(lines) + "\n"


def render_accuracy(section: Mapping[str, Any], opts: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Accuracy and calibration",
        "",
        "Accuracy against `truth.csv` over the items that have a truth label (items without one "
        "are excluded; every item of these four sets has one). ECE: expected calibration error "
        f"of the per-item confidence, {ECE_BINS} equal-width bins, same function for both sides "
        "(n/a: the method gives no probabilities). Time: the aggregation call alone on prepared "
        "input (crowd-kit `fit_predict`, LabelFlow `aggregate`), one run."
        + ("" if opts["slow"] else " GLAD and MACE were skipped (run with `--slow`)."),
        "",
    ]
    rows = []
    failures = []
    for name, data in section.items():
        for side in ("labelflow", "crowd-kit"):
            side_name = "LabelFlow" if side == "labelflow" else "crowd-kit"
            for row in data[side]:
                if "error" in row:
                    failures.append(f"{side_name} {row['method']} on {name}: {row['error']}")
                    rows.append([name, side_name, row["method"], "failed (below)", "", ""])
                    continue
                rows.append(
                    [
                        name,
                        side_name,
                        row["method"],
                        pct(row["accuracy"]),
                        "n/a" if row["ece"] is None else f"{row['ece']:.3f}",
                        secs(row["fit_seconds"]),
                    ]
                )
    lines += table(["set", "side", "method", "accuracy", "ECE", "time"], rows)
    if failures:
        lines += ["", "Failed runs (the method raised; it has no accuracy for that set):", ""]
        lines += [f"- {text.replace('|', '/')}" for text in failures]
    lines += ["", "### Verdict: LabelFlow default (auto) vs crowd-kit's best method", ""]
    rows = []
    for name, data in section.items():
        v = data["verdict"]
        diff = (
            "n/a"
            if v["peer_best"] is None
            else f"{100 * (v['labelflow_auto'] - v['peer_best']):+.2f} pp"
        )
        rows.append(
            [
                name,
                pct(v["labelflow_auto"]),
                f"{pct(v['peer_best'])} ({v['peer_best_method']})",
                diff,
                pct(v["reference_best"]),
                verdict(v["meets"]),
            ]
        )
    lines += table(
        [
            "set",
            "LabelFlow auto",
            "crowd-kit best (this run)",
            "difference",
            "crowd-kit reference",
            "auto ≥ best",
        ],
        rows,
    )
    return [*lines, ""]


TARGET_BATCH_GAP = 0.01
TARGET_ECE_CARRIED = 0.05
TARGET_ECE_NEW = 0.10


def render_batched(section: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Batch by batch, as Ground Truth calls consolidation",
        "",
        "Each set replayed in one fixed random order (seed "
        f"{batched.ORDER_SEED}) in batches of {', '.join(map(str, batched.BATCH_SIZES))} items, "
        "every batch through the consolidation Lambda's own code (`consolidate_request`, in "
        "process against moto's S3 and DynamoDB) with the skill store: *carried*, the batches "
        "are one project's and each reads the skill the earlier ones added; *new*, each batch "
        "is a new project's first. crowd-kit's majority vote and Dawid-Skene fit each batch "
        "alone (crowd-kit carries nothing). Accuracy and ECE as above.",
        "",
    ]
    header = ["set", "regime", "LabelFlow auto", "crowd-kit MV", "crowd-kit DS"]
    body = []
    verdicts = []
    for name, data in section.items():
        rows = data["rows"]

        def find(
            size: int, side: str, method: str, regime: str | None = None, rows: Any = rows
        ) -> Any:
            for row in rows:
                if (row["size"], row["side"], row["method"]) == (size, side, method) and (
                    regime is None or row["regime"] == regime
                ):
                    return row
            return None

        for size in [0, *batched.BATCH_SIZES]:
            for regime in ("carried",) if size == 0 else ("carried", "new"):
                lf = find(size, "LabelFlow", "auto", regime)
                mv = find(size, "crowd-kit", "MajorityVote")
                ds = find(size, "crowd-kit", "DawidSkene")
                label = "whole file" if size == 0 else f"{size}, {regime}"
                body.append(
                    [
                        name,
                        label,
                        f"{pct(lf['accuracy'])} / {_ece(lf)}",
                        f"{pct(mv['accuracy'])} / {_ece(mv)}" if mv else "",
                        f"{pct(ds['accuracy'])} / {_ece(ds)}" if ds else "",
                    ]
                )
        whole = find(0, "LabelFlow", "auto")
        best = max(
            (find(0, "crowd-kit", m)["accuracy"] for m in ("MajorityVote", "DawidSkene")),
            default=0.0,
        )
        fifty = find(50, "LabelFlow", "auto", "carried")
        carried_ece = max(
            r["ece"] for r in rows if r["side"] == "LabelFlow" and r["regime"] == "carried"
        )
        new_ece = max(r["ece"] for r in rows if r["side"] == "LabelFlow" and r["regime"] == "new")
        verdicts.append(
            [
                name,
                f"{pct(whole['accuracy'])} vs {pct(best)}: {verdict(whole['accuracy'] >= best)}",
                f"{pct(fifty['accuracy'])}: "
                f"{verdict(fifty['accuracy'] >= best - TARGET_BATCH_GAP)}",
                f"{carried_ece:.3f}: {verdict(carried_ece <= TARGET_ECE_CARRIED)}",
                f"{new_ece:.3f}: {verdict(new_ece <= TARGET_ECE_NEW)}",
            ]
        )
    lines += table(header, body)
    lines += [
        "",
        "Cells: accuracy / ECE. Targets: whole file at least the better of crowd-kit's MV and "
        "DS on the whole file; batches of 50 with carried skill within 1 point of that; ECE at "
        f"most {TARGET_ECE_CARRIED} in every carried regime and at most {TARGET_ECE_NEW} for a "
        "new project's batches.",
        "",
        *table(
            [
                "set",
                "whole file vs best of MV, DS",
                "50 carried, within 1 pt",
                "worst carried ECE",
                "worst new-project ECE",
            ],
            verdicts,
        ),
        "",
    ]
    return lines


def _ece(row: Mapping[str, Any]) -> str:
    return "n/a" if row.get("ece") is None else f"{row['ece']:.3f}"


def render_speed(report: Mapping[str, Any]) -> list[str]:
    fit = report["fit_speed"]
    whole = report["whole_process"]
    lines = [
        "## Speed",
        "",
        f"Dawid-Skene on `{fit['set']}` (24,945 answers). In-process: only the fit on prepared "
        f"input after one warm-up (crowd-kit `DawidSkene().fit(df)`, median of "
        f"{PEER_SPEED_REPEATS}; LabelFlow `DawidSkene().aggregate(answers)`, median of "
        f"{LABELFLOW_SPEED_REPEATS}). Whole process: wall time of `labelflow consolidate "
        "--method dawid-skene` against the equivalent crowd-kit script "
        "(`crowdkit_consolidate.py`: pandas read, `DawidSkene().fit_predict`, CSV write), "
        f"interleaved, median of {whole['repeats']}.",
        "",
    ]
    rows = [
        [
            "Dawid-Skene fit, in process",
            f"{secs(fit['labelflow_median'])} ({fit['labelflow_iterations']} iterations)",
            f"{secs(fit['peer_median'])} ({fit['peer_iterations']} iterations)",
            ratio_text(fit["ratio"]),
            f"≥ {fit['target']:.0f}x",
            verdict(fit["meets"]),
        ],
        [
            "whole process (start, read, fit, write)",
            f"{secs(whole['labelflow_median'])}, {mib(whole['labelflow_peak_rss'])} peak",
            f"{secs(whole['peer_median'])}, {mib(whole['peer_peak_rss'])} peak",
            ratio_text(whole["ratio"]),
            f"≥ {whole['target']:.0f}x",
            verdict(whole["meets"]),
        ],
    ]
    lines += table(["measurement", "LabelFlow", "crowd-kit", "speed-up", "target", "verdict"], rows)
    lines += [
        "",
        f"The two whole-process outputs: LabelFlow {pct(whole['labelflow_accuracy'])} accurate, "
        f"crowd-kit {pct(whole['peer_accuracy'])}; the labels agree on "
        f"{pct(whole['label_agreement'])} of the items.",
        "",
    ]
    return lines


def render_scale(scale: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Scale", ""]
    if scale is None:
        return [*lines, "Skipped (`--quick`).", ""]
    lines += [
        f"`labelflow consolidate` (default method) on a generated CSV of {scale['answers']:,} "
        f"answers: {scale['items']:,} items x {scale['per_item']} workers each from a pool of "
        f"{scale['workers']}, {scale['classes']} classes (seed {scale['seed']}, "
        "`benchmarks/consolidation/synth.py`). Wall time is the median of "
        f"{len(scale['wall_seconds'])} runs after a warm-up; peak RSS is the largest maximum "
        "resident set size of the process over those runs (from `wait4`).",
        "",
    ]
    lines += table(
        ["answers", "wall time", "peak RSS", "accuracy vs generator truth", "target", "verdict"],
        [
            [
                f"{scale['answers']:,}",
                secs(scale["wall_median"]),
                mib(scale["peak_rss"]),
                pct(scale["accuracy"]),
                f"≤ {scale['target_seconds']:.0f} s, ≤ {mib(scale['target_rss'])}",
                verdict(scale["meets"]),
            ]
        ],
    )
    return [*lines, ""]


def render_imports(section: Mapping[str, Any]) -> list[str]:
    env = " ".join(f"{k}={v}" for k, v in IMPORT_ENV.items())
    lines = [
        "## Import cost of the post-annotation Lambda handler",
        "",
        f"Fresh `python -c ...` processes with `{env}`, interleaved, median of "
        f"{section['repeats']}. Net: minus the interpreter floor (`python -c pass`). The target "
        "applies to the net ratio.",
        "",
    ]
    raw, net = section["raw_median"], section["net_median"]
    rows = [
        ["`python -c pass` (floor)", secs(raw["floor"]), "—"],
        ["`import boto3`", secs(raw["boto3"]), secs(net["boto3"])],
    ]
    if section["handler_available"]:
        rows.append(
            ["`import post_annotation.handler`", secs(raw["handler"]), secs(net["handler"])]
        )
    else:
        reason = section["unavailable_reason"].replace("|", "/")
        rows.append(["`import post_annotation.handler`", f"not available ({reason})", ""])
    lines += table(["import", "wall (raw)", "net of floor"], rows)
    lines.append("")
    if section["handler_available"]:
        lines += table(
            ["ratio", "raw", "net", "target", "verdict"],
            [
                [
                    "handler / boto3",
                    ratio_text(section["ratio_raw"]),
                    ratio_text(section["ratio_net"]),
                    f"≤ {section['target']}x",
                    verdict(section["meets"]),
                ]
            ],
        )
    else:
        lines.append("Ratio: not available (the handler module does not import).")
    return [*lines, ""]


# -- entry point ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark LabelFlow's consolidation against crowd-kit 1.4.2.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the crowd sets, each with answers.csv and truth.csv "
        "(default: examples/crowd in the repository)",
    )
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help=f"comma-separated sets for the accuracy table (default: {','.join(SETS)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: skip the 1M-answer scale run and the whole-process repeats; "
        "writes results/consolidation-quick.json and leaves docs/benchmarks.md alone",
    )
    parser.add_argument("--slow", action="store_true", help="also crowd-kit's GLAD and MACE")
    parser.add_argument("--rebuild-peer", action="store_true", help="rebuild .peer-venv")
    args = parser.parse_args(argv)
    args.sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    needed = dict.fromkeys([*args.sets, SPEED_SET])  # the speed section always uses product
    unknown = [name for name in needed if not (args.data / name / "answers.csv").is_file()]
    if unknown:
        parser.error(f"no answers.csv under {args.data} for: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    shown = ["python -m benchmarks.consolidation.run"]
    shown += ["--quick"] if args.quick else []
    shown += ["--slow"] if args.slow else []
    shown += [] if args.sets == list(SETS) else ["--sets", ",".join(args.sets)]
    report: dict[str, Any] = {
        "options": {
            "command": " ".join(shown),
            "quick": args.quick,
            "slow": args.slow,
            "sets": args.sets,
        },
        "machine": machine_info(),
    }
    python = peer_env.ensure_peer_env(rebuild=args.rebuild_peer)
    report["peer"] = peer_env.peer_versions(python)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("accuracy", lambda: accuracy_section(python, args.data, args.sets, args.slow)),
        ("fit_speed", lambda: fit_speed_section(python, args.data)),
        (
            "whole_process",
            lambda: whole_process_section(
                python,
                args.data,
                repeats=1 if args.quick else WHOLE_PROCESS_REPEATS,
                warm_up=not args.quick,
            ),
        ),
        ("scale", lambda: None if args.quick else scale_section()),
        ("imports", import_section),
        # Last: the replay holds the emulator's state in this process, and a child forked
        # from a large process reports the parent's pages in its peak RSS (wait4).
        ("batched", lambda: batched_section(python, args.data, args.sets)),
    ]
    for key, step in steps:
        report[key] = step()
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["elapsed_seconds"] = time.perf_counter() - started

    text = render(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / ("consolidation-quick.json" if args.quick else "consolidation.json")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {json_path.relative_to(REPO)}")
    if not args.quick:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text)
        log(f"wrote {DOC.relative_to(REPO)}")
    log(f"done in {report['elapsed_seconds']:.0f} s")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
