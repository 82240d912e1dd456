"""What the Publish step writes for a finished job (pure).

:class:`PublishRequest` parses the step's event, the execution state after the Map::

    {"jobId": "<job id>", "project": "<project>", "taskType": "<task type>",
     "jobs": [{"jobName": "...", "outputManifestUri": "s3://...", ...}, ...],
     "workforce": {"type": "private" | "vendor" | "public", "priceUsdPerTask": 0.036},
     "validation": {"manifest", "lines", "accepted", "rejected", "blank", "byReason",
                    "rejectsUri"}}

``workforce`` (see :mod:`publish_job.cost`) and ``validation`` (what Validate counted) are
optional; the event is parsed by :class:`job_contracts.steps.PublishRequest`.

:func:`build_publication` unions the chunks' output manifests (in chunk order, with
:func:`publish_results.read_manifests`, the project name as label attribute) and returns the
objects to write under ``jobs/<jobId>/output/`` of the results bucket:

* ``output.manifest``: the union, every line of every chunk as Ground Truth wrote it (repeated
  sources included: each line is a data object);
* ``rejects.jsonl``: the lines Validate rejected, with their numbers and reasons (a copy of
  ``jobs/<jobId>/rejects.jsonl``, so the job's output holds them too);
* ``exports/<file>``: :func:`publish_results.build_exports` for the task type;
* ``report.json`` and ``report.html``: :func:`publish_results.build_report` with the
  worker-skill documents of every chunk's labeling job, the validation counts, and
  :func:`render_html`;

An item Ground Truth left without a label because the pre-annotation Lambda could not show it
to workers (a line of the wrong kind for the task type, see
:func:`gt_contracts.task_input.line_problem`) is listed as excluded with that reason.

plus the audit logs of every chunk's labeling job (:mod:`publish_job.audit`), keyed
``audit/<project>/<jobId>/<jobName>.jsonl`` for the audit bucket, and the job's summary
``{"jobId", "project", "taskType", "chunks", "items", "labeled", "excluded", "outputUri",
"reportUri", "rejectsUri", "validation", "audit", "cost"}``: ``validation`` is what Validate
counted (``None`` when nothing says), with ``rejectsUri`` pointing at the published copy of the
rejects, as the summary's own ``rejectsUri`` does (``None`` without one),
``audit`` is ``{"objects", "records", "answers", "uri"}``
(``uri`` the folder of the job's logs) and ``cost`` is :func:`publish_job.cost.job_cost` for
the answers of the audit logs, also written to ``report.json`` as ``job_cost``. A skill
document that is not JSON is left out and named in ``skippedSkills`` of the summary, so a
damaged estimate never blocks publishing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gt_contracts import ProjectConfig, line_problem
from job_contracts.layout import JobLayout, audit_key, audit_prefix
from job_contracts.steps import ChunkResult, PublishRequest, ValidationSummary
from publish_job.audit import AuditLog
from publish_job.cost import job_cost
from publish_results.exports import build_exports
from publish_results.manifest import Manifest, read_manifests
from publish_results.report import build_report, render_html

__all__ = ["ChunkResult", "Publication", "PublishRequest", "build_publication"]

_CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Publication:
    """Objects to write (results-bucket key → (body, content type)), audit logs
    (audit-bucket key → JSON Lines) and the job's summary."""

    objects: dict[str, tuple[bytes, str]]
    summary: dict[str, Any]
    audit: dict[str, bytes]


def build_publication(
    request: PublishRequest,
    manifests: Sequence[bytes],
    skills: Sequence[bytes],
    *,
    audits: Sequence[AuditLog],
    results_bucket: str,
    audit_bucket: str,
    rejects: bytes | None = None,
    validation: ValidationSummary | None = None,
) -> Publication:
    """The objects and summary of ``request`` (see the module docstring).

    Args:
        request: the parsed event.
        manifests: each chunk's output manifest, in the order of ``request.chunks``.
        skills: the worker-skill documents of all chunks.
        audits: each chunk's audit log, in the order of ``request.chunks``.
        results_bucket: the bucket the objects go to (for the URIs of the summary).
        audit_bucket: the bucket the audit logs go to (for the URI of the summary).
        rejects: Validate's rejects file (``None`` when there is none).
        validation: what Validate counted (``None`` when nothing says).

    Raises:
        ValueError: ``manifests`` or ``audits`` does not hold one entry per chunk.
    """
    if len(manifests) != len(request.chunks):
        raise ValueError(f"{len(manifests)} manifests for {len(request.chunks)} chunks")
    if len(audits) != len(request.chunks):
        raise ValueError(f"{len(audits)} audit logs for {len(request.chunks)} chunks")
    cost = job_cost(request.workforce, sum(log.answers for log in audits))
    manifest = _explain_left_out(
        read_manifests(list(manifests), label_attribute=request.project),
        ProjectConfig(name=request.project, task_type=request.task_type),
    )
    exports = build_exports(manifest, task_type=request.task_type)
    documents: list[Mapping[str, Any]] = []
    skipped = 0
    for raw in skills:
        try:
            doc = json.loads(raw)
        except ValueError:
            skipped += 1
            continue
        if isinstance(doc, Mapping):
            documents.append(doc)
        else:
            skipped += 1
    prefix = JobLayout(request.job_id).output_prefix
    rejects_uri = f"s3://{results_bucket}/{prefix}rejects.jsonl" if rejects is not None else None
    if validation is not None and rejects_uri is not None:
        validation = replace(validation, rejects_uri=rejects_uri)
    counts = validation.to_json() if validation is not None else None
    report = build_report(
        manifest,
        task_type=request.task_type,
        skills=documents,
        job_cost=cost,
        validation=counts,
        title=f"LabelFlow {request.project}: job {request.job_id}",
    )
    union = "".join(line + "\n" for line in manifest.lines)
    objects: dict[str, tuple[bytes, str]] = {
        f"{prefix}output.manifest": (union.encode(), "application/jsonlines"),
        f"{prefix}report.json": (json.dumps(report, indent=2).encode(), _CONTENT_TYPES[".json"]),
        f"{prefix}report.html": (render_html(report).encode(), _CONTENT_TYPES[".html"]),
    }
    for path, body in exports.files.items():
        objects[f"{prefix}exports/{path}"] = (body, _content_type(path))
    if rejects is not None:
        objects[f"{prefix}rejects.jsonl"] = (rejects, "application/jsonlines")
    summary = {
        "jobId": request.job_id,
        "project": request.project,
        "taskType": request.task_type,
        "chunks": len(request.chunks),
        "items": report["items"],
        "labeled": report["labeled"],
        "excluded": len(exports.excluded),
        "skippedSkills": skipped,
        "outputUri": f"s3://{results_bucket}/{prefix}output.manifest",
        "reportUri": f"s3://{results_bucket}/{prefix}report.html",
        "rejectsUri": rejects_uri,
        "validation": counts,
        "audit": {
            "objects": len(audits),
            "records": sum(log.records for log in audits),
            "answers": sum(log.answers for log in audits),
            "uri": f"s3://{audit_bucket}/{audit_prefix(request.project, request.job_id)}",
        },
        "cost": cost,
    }
    audit = {
        audit_key(request.project, request.job_id, chunk.job_name): log.body
        for chunk, log in zip(request.chunks, audits, strict=True)
    }
    return Publication(objects, summary, audit)


def _explain_left_out(manifest: Manifest, project: ProjectConfig) -> Manifest:
    """Unlabeled records the pre-annotation Lambda left out, with its reason."""
    records = []
    for record in manifest.records:
        problem = line_problem(project, record.fields) if record.status == "unlabeled" else None
        reason = record.reason if problem is None else f"left out before labeling: {problem}"
        records.append(replace(record, reason=reason))
    return replace(manifest, records=tuple(records))


def _content_type(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")
