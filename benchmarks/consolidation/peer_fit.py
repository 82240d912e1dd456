"""crowd-kit side of the consolidation benchmark; runs inside ``benchmarks/.peer-venv``.

It imports only crowd-kit, pandas and numpy (never LabelFlow) and prints one JSON document
on stdout; progress goes to stderr. The caller scores the labels against the truth, so both
sides are scored by the same code.

Subcommands:

* ``accuracy --data DIR --sets duck,dog [--slow]``: for each set, fit each crowd-kit
  classification method on the prepared DataFrame with ``fit_predict`` (timed) and report the
  label and, where the method gives probabilities (``probas_``), the probability of that label
  for every item.
* ``speed --data DIR --set product --repeats 3``: time ``DawidSkene().fit`` alone on the prepared
  DataFrame, after one untimed warm-up fit.
* ``batched --data DIR --plans FILE``: for each set and batch size of the plans file
  (``{set: {size: [[item, ...], ...]}}``), fit ``MajorityVote`` and ``DawidSkene`` on each
  batch's answers alone and report every item's label and probability.

Input preparation (not timed): the CSV is read with every column as text, renamed to
crowd-kit's ``task,worker,label``, and a worker's repeated answers to the same item are dropped,
keeping the last (the same policy as LabelFlow's default).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
from crowdkit.aggregation import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    GLAD,
    MACE,
    MMSR,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
    ZeroBasedSkill,
)

FAST_METHODS: dict[str, Any] = {
    "MajorityVote": MajorityVote,
    "Wawa": Wawa,
    "ZeroBasedSkill": ZeroBasedSkill,
    "DawidSkene": DawidSkene,
    "OneCoinDawidSkene": OneCoinDawidSkene,
    "MMSR": MMSR,
}
SLOW_METHODS: dict[str, Any] = {"GLAD": GLAD, "MACE": MACE}


def log(message: str) -> None:
    print(f"[crowd-kit] {message}", file=sys.stderr, flush=True)


def load_answers(path: Path) -> tuple[pd.DataFrame, int]:
    """The answers as crowd-kit expects them, and how many repeated answers were dropped."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = raw.rename(columns={"question": "task", "answer": "label"})[["task", "worker", "label"]]
    deduped = frame.drop_duplicates(subset=["task", "worker"], keep="last").reset_index(drop=True)
    return deduped, len(frame) - len(deduped)


def label_confidence(labels: pd.Series, probas: pd.DataFrame | None) -> list[float | None] | None:
    """Probability the method gives to its own label, per item of ``labels``."""
    if probas is None or not isinstance(probas, pd.DataFrame) or probas.empty:
        return None
    table = probas.reindex(labels.index)
    columns = table.columns.get_indexer(labels.to_numpy())
    values = table.to_numpy(dtype=np.float64)
    out: list[float | None] = []
    for row, col in enumerate(columns):
        value = float(values[row, col]) if col >= 0 else math.nan
        out.append(None if math.isnan(value) else value)
    return out


def fit_method(name: str, factory: Any, frame: pd.DataFrame) -> dict[str, Any]:
    model = factory()
    start = time.perf_counter()
    try:
        labels = model.fit_predict(frame)
    except Exception as exc:  # a peer method failing is a result, not a crash
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - start
    confidence = label_confidence(labels, getattr(model, "probas_", None))
    return {
        "name": name,
        "fit_seconds": seconds,
        "items": [str(task) for task in labels.index],
        "labels": [str(label) for label in labels.to_numpy()],
        "confidence": confidence,
        "iterations": len(getattr(model, "loss_history_", []) or []) or None,
    }


def accuracy(args: argparse.Namespace) -> dict[str, Any]:
    methods = dict(FAST_METHODS)
    if args.slow:
        methods.update(SLOW_METHODS)
    out: dict[str, Any] = {}
    for name in args.sets.split(","):
        frame, dropped = load_answers(args.data / name / "answers.csv")
        results = []
        for method, factory in methods.items():
            log(f"{name}: {method} ...")
            result = fit_method(method, factory, frame)
            if "error" in result:
                log(f"{name}: {method} failed: {result['error']}")
            else:
                log(f"{name}: {method} fit in {result['fit_seconds']:.2f} s")
            results.append(result)
        out[name] = {"n_answers": len(frame), "dropped_repeats": dropped, "methods": results}
    return out


def speed(args: argparse.Namespace) -> dict[str, Any]:
    frame, dropped = load_answers(args.data / args.set / "answers.csv")
    log(f"{args.set}: DawidSkene warm-up fit")
    DawidSkene().fit(frame)
    seconds = []
    iterations = None
    for run in range(args.repeats):
        model = DawidSkene()
        start = time.perf_counter()
        model.fit(frame)
        seconds.append(time.perf_counter() - start)
        iterations = len(model.loss_history_)
        log(f"{args.set}: DawidSkene fit {run + 1}/{args.repeats}: {seconds[-1]:.2f} s")
    return {
        "set": args.set,
        "n_answers": len(frame),
        "dropped_repeats": dropped,
        "fit_seconds": seconds,
        "iterations": iterations,
    }


def batched(args: argparse.Namespace) -> dict[str, Any]:
    plans = json.loads(args.plans.read_text())
    out: dict[str, Any] = {}
    for name, by_size in plans.items():
        frame, _ = load_answers(args.data / name / "answers.csv")
        out[name] = {}
        for size, batches in by_size.items():
            log(f"{name}: {len(batches)} batch(es) of {size or 'all'}")
            results: dict[str, dict[str, list[Any]]] = {
                m: {"items": [], "labels": [], "confidence": []}
                for m in ("MajorityVote", "DawidSkene")
            }
            for items in batches:
                part = frame[frame["task"].isin(items)].reset_index(drop=True)
                for method, factory in (("MajorityVote", MajorityVote), ("DawidSkene", DawidSkene)):
                    model = factory()
                    labels = model.fit_predict(part)
                    confidence = label_confidence(labels, getattr(model, "probas_", None))
                    results[method]["items"] += [str(t) for t in labels.index]
                    results[method]["labels"] += [str(x) for x in labels.to_numpy()]
                    results[method]["confidence"] += confidence or [None] * len(labels)
            out[name][size] = results
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="crowd-kit side of the benchmark (JSON out)")
    sub = parser.add_subparsers(dest="command", required=True)
    acc = sub.add_parser("accuracy")
    acc.add_argument("--data", type=Path, required=True)
    acc.add_argument("--sets", required=True, help="comma-separated set names")
    acc.add_argument("--slow", action="store_true", help="also GLAD and MACE")
    spd = sub.add_parser("speed")
    spd.add_argument("--data", type=Path, required=True)
    spd.add_argument("--set", default="product")
    spd.add_argument("--repeats", type=int, default=3)
    bat = sub.add_parser("batched")
    bat.add_argument("--data", type=Path, required=True)
    bat.add_argument("--plans", type=Path, required=True)
    args = parser.parse_args(argv)
    commands = {"accuracy": accuracy, "speed": speed, "batched": batched}
    result = commands[args.command](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
