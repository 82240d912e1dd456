"""`labelflow consolidate`: re-consolidate classification answers offline.

Reads answers (CSV or a folder of Ground Truth worker-response files), runs a consolidation
method from the same library the consolidation Lambda runs, and writes one row per item:
the item column, ``label`` and ``confidence``. Items without consensus get an empty label and
confidence 0, and the reasons are reported on standard error, so nothing disappears.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from consolidation import (
    ClassificationResult,
    ConsolidationError,
    WorkerSkill,
    classification_method,
)
from consolidation.answers import DuplicatePolicy
from consolidation.classification import TiePolicy
from job_contracts.skills import add_counts
from labelflow.answers_io import (
    AnswersFileError,
    RawAnswers,
    read_answers_csv,
    read_worker_responses,
)

__all__ = ["ConsolidateOptions", "Summary", "load_gold", "load_prior", "run_consolidate"]


@dataclass(frozen=True, kw_only=True)
class ConsolidateOptions:
    """Everything `labelflow consolidate` was asked to do."""

    source: str
    output: str
    method: str = "auto"
    params: Mapping[str, Any] | None = None
    item_col: str = "question"
    worker_col: str = "worker"
    label_col: str = "answer"
    labels: Sequence[str] | None = None
    on_duplicate: DuplicatePolicy = "keep_last"
    tie_policy: TiePolicy | None = None
    gold: str | None = None
    prior: str | None = None
    workers_out: str | None = None


@dataclass(frozen=True)
class Summary:
    """What a run did, for the closing line on standard error."""

    items: int
    answers: int
    workers: int
    method: str
    no_consensus: dict[str, str]
    mean_confidence: float
    seconds: float


def load_gold(path: Path) -> dict[str, str]:
    """Known answers: a CSV whose first two columns are the item and its true label."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise AnswersFileError(f"{path}: cannot read: {exc.strerror}") from None
    gold: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise AnswersFileError(f"{path}: line {line}: expected item,label")
        gold[row[0].strip()] = row[1].strip()
    return gold


def load_prior(path: Path) -> dict[str, WorkerSkill]:
    """Worker skill from an earlier run (the JSON written by ``--workers-out``)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        records = document["workers"] if isinstance(document, dict) else document
        skills: dict[str, WorkerSkill] = {}
        for r in records:
            accuracy = float(r["accuracy"])
            if not 0.0 <= accuracy <= 1.0:  # also refuses NaN, which would poison every weight
                raise ValueError(f"worker {r['worker']!r}: accuracy {accuracy} is not in [0, 1]")
            skills[str(r["worker"])] = WorkerSkill(
                worker_id=str(r["worker"]),
                answers=int(r.get("answers", 0)),
                accuracy=accuracy,
                confusion=r.get("confusion"),
                counts=r.get("counts"),
            )
        return skills
    except OSError as exc:
        raise AnswersFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AnswersFileError(
            f"{path}: not a workers file written by --workers-out ({exc})"
        ) from None


def _read(options: ConsolidateOptions) -> RawAnswers:
    if options.source == "-":
        return read_answers_csv(
            None,
            data=sys.stdin.buffer.read(),
            item_col=options.item_col,
            worker_col=options.worker_col,
            label_col=options.label_col,
        )
    path = Path(options.source)
    if path.is_dir():
        return read_worker_responses(path)
    if not path.exists():
        raise AnswersFileError(f"{path}: no such file or folder")
    return read_answers_csv(
        path,
        item_col=options.item_col,
        worker_col=options.worker_col,
        label_col=options.label_col,
    )


def _write_labels(result: ClassificationResult, item_col: str, out: IO[str]) -> None:
    answers = result.answers
    labels = answers.labels
    winners = result.label_index.tolist()
    confidence = result.confidence.tolist()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((item_col, "label", "confidence"))
    writer.writerows(
        (item, labels[k] if k >= 0 else "", f"{c:.4f}")
        for item, k, c in zip(answers.items, winners, confidence, strict=True)
    )
    writer.writerows((item, "", "0.0000") for item in answers.rejected)


def _write_workers(
    result: ClassificationResult, prior: Mapping[str, WorkerSkill] | None, path: Path
) -> None:
    """Every worker's skill so far: this run's estimate, with answers and soft counts added to
    the prior's (a worker of the prior who did not answer now is kept as it was), so the file
    is the next run's ``--prior``."""
    carried = dict(prior or {})
    workers = [
        _carry(skill, carried.pop(skill.worker_id, None)) for skill in result.worker_skills()
    ]
    workers += sorted(carried.values(), key=lambda skill: skill.worker_id)
    document = {
        "method": result.method,
        "labels": list(result.answers.labels),
        "workers": [skill.to_json() for skill in workers],
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _carry(skill: WorkerSkill, earlier: WorkerSkill | None) -> WorkerSkill:
    if earlier is None:
        return skill
    counts = skill.counts
    if counts is not None and earlier.counts is not None:
        counts = add_counts(earlier.counts, counts)
    return replace(skill, answers=skill.answers + earlier.answers, counts=counts)


def _method_params(options: ConsolidateOptions) -> dict[str, Any]:
    params = dict(options.params or {})
    if options.tie_policy is not None:
        if "tie_policy" in params:
            raise ConsolidationError("give the tie policy once: --tie-policy or --param tie_policy")
        params["tie_policy"] = options.tie_policy
    return params


def run_consolidate(options: ConsolidateOptions) -> Summary:
    """Read, consolidate and write as ``options`` say.

    Raises:
        AnswersFileError: unreadable input, with file and line.
        ConsolidationError: an unknown method or parameter, a gold label outside the labels.
    """
    started = time.perf_counter()
    method = classification_method(options.method, _method_params(options))
    gold = load_gold(Path(options.gold)) if options.gold else None
    prior = load_prior(Path(options.prior)) if options.prior else None
    raw = _read(options)
    answers = raw.encode(labels=options.labels, on_duplicate=options.on_duplicate)
    if answers.n_items == 0 and not answers.rejected:
        raise ConsolidationError(f"{options.source}: no answers to consolidate")
    result = method.aggregate(answers, gold=gold, prior=prior)
    if options.output == "-":
        _write_labels(result, options.item_col, sys.stdout)
    else:
        with Path(options.output).open("w", newline="", encoding="utf-8") as out:
            _write_labels(result, options.item_col, out)
    if options.workers_out:
        _write_workers(result, prior, Path(options.workers_out))
    winners = result.label_index
    no_consensus = dict(answers.rejected)
    for i in (winners < 0).nonzero()[0].tolist():
        no_consensus[answers.items[i]] = "tie between the top labels"
    method_name = result.method
    if "shrinkage" in result.diagnostics:
        method_name += (
            f" (shrinkage {result.diagnostics['shrinkage']:g}, "
            f"temperature {result.diagnostics['temperature']:.2f})"
        )
    confidence = result.confidence
    return Summary(
        items=answers.n_items + len(answers.rejected),
        answers=answers.n_answers,
        workers=answers.n_workers,
        method=method_name,
        no_consensus=no_consensus,
        mean_confidence=float(confidence.mean()) if confidence.size else 0.0,
        seconds=time.perf_counter() - started,
    )
