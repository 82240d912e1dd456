"""Worker skill as stored: batch documents, the project's prior, and merging one into the other.

The consolidation step writes one skill document per batch under
``skills/<project>/<jobName>/`` (:func:`job_contracts.layout.skills_key`, one key per batch, so
a retried batch replaces its own document and is never counted twice), and before it
consolidates reads the project's current skill: the prior, ``skills/<project>/prior.json``
(:func:`job_contracts.layout.prior_key`), plus every other batch document of the same labeling
job, combined by :func:`merge_prior` exactly as Publish will combine them.
After a job is published, :func:`merge_prior` folds its labeling jobs' batch documents into
the prior::

    {"project": "<project>",
     "workers": [{"worker", "answers", "accuracy", "confusion"?, "metrics"?}, ...],
     "mergedJobs": ["<jobName>", ...]}

Evidence adds up: a worker's ``answers`` and soft confusion ``counts`` (classification's
sufficient statistics) are sums over the prior and every batch, and ``accuracy``, each
``metrics`` figure and each row of ``confusion`` are the answer-weighted means of the estimates
that carry them (each estimate counts as many pseudo-answers as the
answers it was made from). A worker whose estimates all rest on zero answers gets the plain
mean. Workers are sorted by id and job names kept sorted, so the same evidence gives the same
bytes.

A labeling job already in ``mergedJobs`` is not merged again (names compared lower-cased), so
a retried Publish step does not count a job twice; when nothing is new
:attr:`PriorMerge.changed` is ``False``. A batch document that is not a skill document is
skipped and counted; an existing prior that cannot be read is not overwritten (its evidence
would be lost): :attr:`PriorMerge.error` says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gt_contracts import ContractError
from job_contracts.ids import name_key

__all__ = [
    "PriorMerge",
    "SkillRecord",
    "StoredSkills",
    "combine_records",
    "load_skills",
    "merge_prior",
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
    """Parse a skill document (the prior or a batch's); never raises.

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
        return StoredSkills(error=f"prior skill ignored: {exc}")
    return StoredSkills(records or None)


@dataclass(frozen=True, slots=True)
class PriorMerge:
    """The outcome of a merge.

    Attributes:
        body: the new ``prior.json`` (``None`` when nothing is to be written).
        merged: the labeling jobs merged now.
        already: the labeling jobs the prior already held.
        workers: workers in the new prior.
        skipped: batch documents that are not skill documents.
        error: why the existing prior was left alone, or ``None``.
    """

    body: bytes | None
    merged: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    workers: int = 0
    skipped: int = 0
    error: str | None = field(default=None)

    @property
    def changed(self) -> bool:
        return self.body is not None


def merge_prior(
    existing: bytes | None, jobs: Mapping[str, Sequence[bytes]], *, project: str
) -> PriorMerge:
    """Fold each labeling job's batch skill documents into the prior.

    Args:
        existing: the current ``prior.json`` (``None`` when there is none).
        jobs: labeling-job name → the raw skill documents of its batches.
        project: the project the prior belongs to.
    """
    merged_before: list[str] = []
    entries: dict[str, list[SkillRecord]] = {}
    if existing is not None:
        prior = load_skills(existing)
        if prior.error:
            return PriorMerge(None, error=prior.error)
        names = _merged_jobs(existing)
        if names is None:
            return PriorMerge(None, error="prior skill left alone: 'mergedJobs' must list names")
        merged_before = names
        for record in (prior.records or {}).values():
            entries.setdefault(record.worker_id, []).append(record)
    known = {name_key(name) for name in merged_before}
    already = tuple(sorted(name for name in jobs if name_key(name) in known))
    new = tuple(sorted(name for name in jobs if name_key(name) not in known))
    if not new:
        return PriorMerge(None, already=already, workers=len(entries))
    skipped = 0
    for name in new:
        for raw in jobs[name]:
            batch = load_skills(raw)
            if batch.error or not _is_skill_document(raw):
                skipped += 1
                continue
            for record in (batch.records or {}).values():
                entries.setdefault(record.worker_id, []).append(record)
    workers = [combine_records(records).to_json() for _, records in sorted(entries.items())]
    document = {
        "project": project,
        "workers": workers,
        "mergedJobs": sorted({*merged_before, *new}),
    }
    body = json.dumps(document, indent=1, sort_keys=True).encode()
    return PriorMerge(body, merged=new, already=already, workers=len(workers), skipped=skipped)


def _merged_jobs(existing: bytes) -> list[str] | None:
    doc = json.loads(existing)  # load_skills has parsed it already
    names = doc.get("mergedJobs", []) if isinstance(doc, Mapping) else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def _is_skill_document(raw: bytes) -> bool:
    try:
        doc = json.loads(raw)
    except ValueError:
        return False
    return isinstance(doc, Mapping) and isinstance(doc.get("workers"), list)


def _mean(pairs: Sequence[tuple[float, float]]) -> float:
    total = sum(w for w, _ in pairs)
    return sum(w * x for w, x in pairs) / total if total > 0 else 0.0


def combine_records(records: Sequence[SkillRecord]) -> SkillRecord:
    """One worker's estimates combined as the prior's merge combines them (module docstring).

    ``records`` are the same worker's, at least one; the first one's id is kept.
    """
    if len(records) == 1:
        return records[0]
    if sum(r.answers for r in records) > 0:
        weights = [float(r.answers) for r in records]
    else:
        weights = [1.0] * len(records)
    pairs = list(zip(weights, records, strict=True))
    accuracy = _mean([(w, r.accuracy) for w, r in pairs])
    metrics = {
        key: _mean([(w, r.metrics[key]) for w, r in pairs if key in r.metrics])
        for key in sorted({k for r in records for k in r.metrics})
    }
    confusion: dict[str, dict[str, float]] | None = None
    with_confusion = [(w, r.confusion) for w, r in pairs if r.confusion is not None]
    if with_confusion:
        confusion = {}
        for true in sorted({t for _, c in with_confusion for t in c}):
            rows = [(w, c[true]) for w, c in with_confusion if true in c]
            given = sorted({g for _, row in rows for g in row})
            confusion[true] = {g: _mean([(w, row.get(g, 0.0)) for w, row in rows]) for g in given}
    counts: dict[str, dict[str, float]] | None = None
    with_counts = [r.counts for r in records if r.counts is not None]
    if with_counts:
        counts = {}
        for table in with_counts:
            for true, row in table.items():
                summed = counts.setdefault(true, {})
                for label, n in row.items():
                    summed[label] = summed.get(label, 0.0) + n
    return SkillRecord(
        records[0].worker_id, sum(r.answers for r in records), accuracy, confusion, metrics, counts
    )
