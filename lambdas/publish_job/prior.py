"""Worker skill carried across jobs: merging a job's skill documents into the prior (pure).

The consolidation Lambda reads ``skills/<project>/prior.json`` of the artifacts bucket with
:func:`post_annotation.logic.load_prior` and writes one document per batch under
``skills/<project>/<jobName>/``. After a job is published, :func:`merge_prior` folds those
batch documents into the prior. The merged document is what ``load_prior`` reads, plus the
list of merged labeling jobs::

    {"project": "<project>",
     "workers": [{"worker", "answers", "accuracy", "confusion"?, "metrics"?}, ...],
     "mergedJobs": ["<jobName>", ...]}

Evidence adds up: a worker's ``answers`` is the sum over the prior and every batch, and
``accuracy``, each ``metrics`` figure and each row of ``confusion`` are the answer-weighted
means of the estimates that carry them (each estimate counts as many pseudo-answers as the
answers it was made from). A worker whose estimates all rest on zero answers gets the plain mean.
Workers are sorted by id and job names kept sorted, so the same evidence gives the same bytes.

A labeling job already in ``mergedJobs`` is not merged again, so a retried Publish step does
not count a job twice; when nothing is new :attr:`PriorMerge.changed` is ``False``. A batch
document that is not a skill document is skipped and counted; an existing prior that cannot be
read is not overwritten (its evidence would be lost): :attr:`PriorMerge.error` says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from post_annotation.logic import load_prior

if TYPE_CHECKING:
    from consolidation import WorkerSkill

__all__ = ["PriorMerge", "merge_prior"]


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
    existing: bytes | None,
    jobs: Mapping[str, Sequence[bytes]],
    *,
    project: str,
) -> PriorMerge:
    """Fold each labeling job's batch skill documents into the prior.

    Args:
        existing: the current ``prior.json`` (``None`` when there is none).
        jobs: labeling-job name → the raw skill documents of its batches.
        project: the project the prior belongs to.

    Returns:
        The new document and what went into it (see :class:`PriorMerge`).
    """
    merged_before: list[str] = []
    entries: dict[str, list[WorkerSkill]] = {}
    if existing is not None:
        prior = load_prior(existing)
        if prior.error:
            return PriorMerge(None, error=prior.error)
        names = _merged_jobs(existing)
        if names is None:
            return PriorMerge(None, error="prior skill left alone: 'mergedJobs' must list names")
        merged_before = names
        for skill in (prior.skills or {}).values():
            entries.setdefault(skill.worker_id, []).append(skill)
    already = tuple(sorted(name for name in jobs if name in merged_before))
    new = tuple(sorted(name for name in jobs if name not in merged_before))
    if not new:
        return PriorMerge(None, already=already, workers=len(entries))
    skipped = 0
    for name in new:
        for raw in jobs[name]:
            batch = load_prior(raw)
            if batch.error or not _is_skill_document(raw):
                skipped += 1
                continue
            for skill in (batch.skills or {}).values():
                entries.setdefault(skill.worker_id, []).append(skill)
    workers = [_combine(skills).to_json() for _, skills in sorted(entries.items())]
    document = {
        "project": project,
        "workers": workers,
        "mergedJobs": sorted({*merged_before, *new}),
    }
    body = json.dumps(document, indent=1, sort_keys=True).encode()
    return PriorMerge(body, merged=new, already=already, workers=len(workers), skipped=skipped)


def _merged_jobs(existing: bytes) -> list[str] | None:
    doc = json.loads(existing)  # load_prior has parsed it already
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


def _weights(skills: Sequence[WorkerSkill]) -> list[float]:
    if sum(s.answers for s in skills) > 0:
        return [float(s.answers) for s in skills]
    return [1.0] * len(skills)


def _mean(pairs: Sequence[tuple[float, float]]) -> float:
    total = sum(w for w, _ in pairs)
    return sum(w * x for w, x in pairs) / total if total > 0 else 0.0


def _combine(skills: Sequence[WorkerSkill]) -> WorkerSkill:
    from consolidation import WorkerSkill  # noqa: PLC0415 - keeps numpy out of import time

    if len(skills) == 1:
        return skills[0]
    weights = _weights(skills)
    accuracy = _mean([(w, s.accuracy) for w, s in zip(weights, skills, strict=True)])
    metrics: dict[str, float] = {}
    for key in sorted({k for s in skills for k in s.metrics}):
        metrics[key] = _mean(
            [(w, s.metrics[key]) for w, s in zip(weights, skills, strict=True) if key in s.metrics]
        )
    confusion: dict[str, dict[str, float]] | None = None
    with_confusion = [
        (w, s.confusion) for w, s in zip(weights, skills, strict=True) if s.confusion is not None
    ]
    if with_confusion:
        confusion = {}
        for true in sorted({t for _, c in with_confusion for t in c}):
            rows = [(w, c[true]) for w, c in with_confusion if true in c]
            given = sorted({g for _, row in rows for g in row})
            confusion[true] = {g: _mean([(w, row.get(g, 0.0)) for w, row in rows]) for g in given}
    return WorkerSkill(
        skills[0].worker_id, sum(s.answers for s in skills), accuracy, confusion, metrics
    )
