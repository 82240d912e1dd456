"""Worker skill as records: what one batch learned, and what the skill store holds.

The consolidation step writes one skill document per batch under
``skills/<project>/<jobName>/`` (:func:`job_contracts.layout.skills_key`: one key per batch, so
a retried batch replaces its own document), for the job's report and audit::

    {"project", "task_type", "job_name", ..., "workers": [{"worker", "answers", "accuracy",
     "confusion"?, "counts"?, "metrics"?}, ...]}

and adds the same records to the project's skill store (:mod:`job_contracts.skill_store`),
which every later batch reads. ``counts`` (classification's soft confusion counts) and
``answers`` are additive; ``accuracy`` and each ``metrics`` figure are answer-weighted means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gt_contracts import ContractError

__all__ = [
    "SkillRecord",
    "StoredSkills",
    "add_counts",
    "batch_records",
    "combine_records",
    "load_skills",
    "without",
]


@dataclass(frozen=True, slots=True)
class SkillRecord:
    """One worker's stored skill estimate (the consolidation library's ``WorkerSkill``)."""

    worker_id: str
    answers: int
    accuracy: float
    confusion: Mapping[str, Mapping[str, float]] | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, Mapping[str, float]] | None = None

    @classmethod
    def from_json(cls, raw: object, at: str) -> SkillRecord:
        """Parse ``{"worker", "answers", "accuracy", "confusion"?, "metrics"?}``.

        Raises:
            ContractError: a field missing or of the wrong type, named with ``at``.
        """
        if not isinstance(raw, Mapping):
            raise ContractError(f"{at} must be an object")
        worker, answers, accuracy = raw.get("worker"), raw.get("answers", 0), raw.get("accuracy")
        if not isinstance(worker, str) or not worker:
            raise ContractError(f"{at}.worker must be a non-empty string")
        if isinstance(answers, bool) or not isinstance(answers, int) or answers < 0:
            raise ContractError(f"{at}.answers must be a non-negative integer")
        if (
            isinstance(accuracy, bool)
            or not isinstance(accuracy, int | float)
            or not 0.0 <= accuracy <= 1.0
        ):
            raise ContractError(f"{at}.accuracy must be a number in [0, 1]")
        confusion = _label_table(raw.get("confusion"), f"{at}.confusion", "label-probability")
        counts = _label_table(raw.get("counts"), f"{at}.counts", "label-count")
        metrics = raw.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise ContractError(f"{at}.metrics must be an object")
        return cls(
            worker,
            answers,
            float(accuracy),
            {t: {g: float(p) for g, p in row.items()} for t, row in confusion.items()}
            if confusion is not None
            else None,
            {str(k): float(v) for k, v in metrics.items()},
            counts,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "worker": self.worker_id,
            "answers": self.answers,
            "accuracy": round(self.accuracy, 4),
        }
        if self.confusion is not None:
            out["confusion"] = {
                t: {g: round(p, 4) for g, p in row.items()} for t, row in self.confusion.items()
            }
        if self.metrics:
            out["metrics"] = {k: round(v, 4) for k, v in self.metrics.items()}
        if self.counts is not None:
            out["counts"] = {
                t: {g: round(n, 4) for g, n in row.items() if n} for t, row in self.counts.items()
            }
        return out


def _label_table(raw: object, at: str, kind: str) -> dict[str, dict[str, float]] | None:
    """``{label: {label: number}}`` (a confusion matrix or counts), or ``None`` when absent.

    Raises:
        ContractError: anything else, named with ``at``.
    """
    if raw is None:
        return None
    if not (
        isinstance(raw, Mapping)
        and all(
            isinstance(row, Mapping)
            and all(
                isinstance(p, int | float) and not isinstance(p, bool) and p >= 0
                for p in row.values()
            )
            for row in raw.values()
        )
    ):
        raise ContractError(f"{at} must map labels to {kind} objects of non-negative numbers")
    return {str(t): {str(g): float(p) for g, p in row.items()} for t, row in raw.items()}


@dataclass(frozen=True, slots=True)
class StoredSkills:
    """Skill read from a document: per worker, or why it could not be used."""

    records: Mapping[str, SkillRecord] | None = None
    error: str | None = None


def load_skills(text: str | bytes | None) -> StoredSkills:
    """Parse a skill document (a batch's, or a ``--workers-out`` file); never raises.

    Accepts ``{"workers": [...]}`` or the list alone; ``None`` (no file) means no skill. A
    document that cannot be read is reported in :attr:`StoredSkills.error`.
    """
    if text is None:
        return StoredSkills()
    try:
        doc = json.loads(text)
        entries = doc.get("workers") if isinstance(doc, Mapping) else doc
        if not isinstance(entries, list):
            raise ContractError("expected a 'workers' list")
        records = {}
        for i, entry in enumerate(entries):
            record = SkillRecord.from_json(entry, f"workers[{i}]")
            records[record.worker_id] = record
    except (ValueError, UnicodeDecodeError) as exc:
        return StoredSkills(error=f"skill document ignored: {exc}")
    return StoredSkills(records or None)


def add_counts(
    a: Mapping[str, Mapping[str, float]], b: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Two soft-count tables ``{true: {given: n}}`` added cell by cell."""
    out = {true: dict(row) for true, row in a.items()}
    for true, row in b.items():
        summed = out.setdefault(true, {})
        for given, n in row.items():
            summed[given] = summed.get(given, 0.0) + n
    return out


def combine_records(records: Sequence[SkillRecord]) -> SkillRecord:
    """One worker's records added up, as the skill store adds them: answers and counts summed,
    accuracy and each metric answer-weighted (the plain mean when no record has answers).
    The confusion estimate, which does not add up, is the last record's."""
    first = records[0]
    if len(records) == 1:
        return first
    answers = sum(r.answers for r in records)
    weights = [float(r.answers) for r in records] if answers > 0 else [1.0] * len(records)
    total = sum(weights)
    accuracy = sum(w * r.accuracy for w, r in zip(weights, records, strict=True)) / total
    metrics: dict[str, float] = {}
    for key in sorted({k for r in records for k in r.metrics}):
        pairs = [
            (w, r.metrics[key]) for w, r in zip(weights, records, strict=True) if key in r.metrics
        ]
        metrics[key] = sum(w * x for w, x in pairs) / max(sum(w for w, _ in pairs), 1e-12)
    counts: Mapping[str, Mapping[str, float]] | None = None
    for record in records:
        if record.counts is not None:
            counts = record.counts if counts is None else add_counts(counts, record.counts)
    return SkillRecord(first.worker_id, answers, accuracy, records[-1].confusion, metrics, counts)


def batch_records(document: Mapping[str, Any]) -> list[SkillRecord]:
    """The workers of a batch's skill document (as the consolidation step builds it).

    Raises:
        ContractError: a malformed worker entry, named by its position.
    """
    return [
        SkillRecord.from_json(entry, f"workers[{i}]")
        for i, entry in enumerate(document.get("workers") or [])
    ]


def without(stored: StoredSkills, earlier: StoredSkills) -> StoredSkills:
    """``stored`` minus what ``earlier`` added: answers, answer-weighted accuracy and counts
    (never below zero; a worker left with no answers is dropped)."""
    if not stored.records or not earlier.records:
        return stored
    records: dict[str, SkillRecord] = {}
    for worker, record in stored.records.items():
        gone = earlier.records.get(worker)
        if gone is None:
            records[worker] = record
            continue
        answers = record.answers - gone.answers
        if answers <= 0:
            continue
        accuracy = (record.accuracy * record.answers - gone.accuracy * gone.answers) / answers
        counts = record.counts
        if counts is not None and gone.counts is not None:
            negative = {t: {g: -n for g, n in row.items()} for t, row in gone.counts.items()}
            counts = {
                t: {g: max(n, 0.0) for g, n in row.items()}
                for t, row in add_counts(counts, negative).items()
            }
        records[worker] = SkillRecord(
            worker, answers, min(max(accuracy, 0.0), 1.0), None, record.metrics, counts
        )
    return StoredSkills(records or None, stored.error)
