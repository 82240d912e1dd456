"""What the Publish step writes for a finished job (pure).

:class:`PublishRequest` parses the step's event, the execution state after the Map::

    {"jobId": "<job id>", "project": "<project>", "taskType": "<task type>",
     "jobs": [{"jobName": "...", "outputManifestUri": "s3://...", ...}, ...],
     "workforce": {"type": "private" | "vendor" | "public", "priceUsdPerTask": 0.036}}

``workforce`` is optional (see :mod:`publish_job.cost`).

:func:`build_publication` unions the chunks' output manifests (in chunk order, with
:func:`publish_results.read_manifests`, the project name as label attribute) and returns the
objects to write under ``jobs/<jobId>/output/`` of the results bucket:

* ``output.manifest``: the union, one JSON line per item (first occurrence of each source);
* ``exports/<file>``: :func:`publish_results.build_exports` for the task type;
* ``report.json`` and ``report.html``: :func:`publish_results.build_report` with the
  worker-skill documents of every chunk's labeling job, and :func:`render_html`;

plus the audit logs of every chunk's labeling job (:mod:`publish_job.audit`), keyed
``audit/<project>/<jobId>/<jobName>.jsonl`` for the audit bucket, and the job's summary
``{"jobId", "project", "taskType", "chunks", "items", "labeled", "excluded", "outputUri",
"reportUri", "audit", "cost"}``: ``audit`` is ``{"objects", "records", "answers", "uri"}``
(``uri`` the folder of the job's logs) and ``cost`` is :func:`publish_job.cost.job_cost` for
the answers of the audit logs, also written to ``report.json`` as ``job_cost``. A skill
document that is not JSON is left out and named in ``skippedSkills`` of the summary, so a
damaged estimate never blocks publishing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from gt_contracts import TASK_TYPES, ContractError, TaskType, parse_s3_uri
from publish_job.audit import AuditLog, audit_key, audit_prefix
from publish_job.cost import Workforce, job_cost
from publish_results.exports import build_exports
from publish_results.manifest import read_manifests
from publish_results.report import build_report, render_html

__all__ = [
    "ChunkResult",
    "Publication",
    "PublishRequest",
    "build_publication",
    "output_prefix",
    "skills_prefix",
]

_JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """One chunk's finished labeling job."""

    job_name: str
    output_manifest_uri: str


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """The event of the Publish step."""

    job_id: str
    project: str
    task_type: TaskType
    chunks: tuple[ChunkResult, ...]
    workforce: Workforce | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PublishRequest:
        """Parse ``{"jobId", "project", "taskType", "jobs": [{"jobName", "outputManifestUri"}]}``
        and the optional ``workforce``.

        Raises:
            ContractError: a missing or invalid field, named.
        """
        job_id = event.get("jobId")
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise ContractError(f"jobId must be 1-128 letters, digits, '.', '_' or '-': {job_id!r}")
        project = event.get("project")
        if not isinstance(project, str) or not project or "/" in project:
            raise ContractError(f"project must be a non-empty name: {project!r}")
        task_type = event.get("taskType")
        if task_type not in TASK_TYPES:
            raise ContractError(f"taskType must be one of {sorted(TASK_TYPES)}: {task_type!r}")
        jobs = event.get("jobs")
        if not isinstance(jobs, list) or not jobs:
            raise ContractError("jobs must list each chunk's labeling job")
        chunks = []
        for index, job in enumerate(jobs):
            where = f"jobs[{index}]"
            if not isinstance(job, Mapping):
                raise ContractError(f"{where} must be an object")
            name = job.get("jobName")
            uri = job.get("outputManifestUri")
            if not isinstance(name, str) or not name or "/" in name:
                raise ContractError(f"{where}.jobName must be a labeling-job name: {name!r}")
            if not isinstance(uri, str):
                raise ContractError(f"{where}.outputManifestUri must be an s3:// URI")
            parse_s3_uri(uri, field=f"{where}.outputManifestUri")
            chunks.append(ChunkResult(name, uri))
        workforce = Workforce.from_event(event.get("workforce"))
        return cls(job_id, project, cast(TaskType, task_type), tuple(chunks), workforce)


@dataclass(frozen=True, slots=True)
class Publication:
    """Objects to write (results-bucket key → (body, content type)), audit logs
    (audit-bucket key → JSON Lines) and the job's summary."""

    objects: dict[str, tuple[bytes, str]]
    summary: dict[str, Any]
    audit: dict[str, bytes]


def output_prefix(job_id: str) -> str:
    """The job's output folder in the results bucket."""
    return f"jobs/{job_id}/output/"


def skills_prefix(project: str, job_name: str) -> str:
    """The worker-skill documents of one labeling job in the artifacts bucket."""
    return f"skills/{project}/{job_name}/"


def build_publication(
    request: PublishRequest,
    manifests: Sequence[bytes],
    skills: Sequence[bytes],
    *,
    audits: Sequence[AuditLog],
    results_bucket: str,
    audit_bucket: str,
) -> Publication:
    """The objects and summary of ``request`` (see the module docstring).

    Args:
        request: the parsed event.
        manifests: each chunk's output manifest, in the order of ``request.chunks``.
        skills: the worker-skill documents of all chunks.
        audits: each chunk's audit log, in the order of ``request.chunks``.
        results_bucket: the bucket the objects go to (for the URIs of the summary).
        audit_bucket: the bucket the audit logs go to (for the URI of the summary).

    Raises:
        ValueError: ``manifests`` or ``audits`` does not hold one entry per chunk.
    """
    if len(manifests) != len(request.chunks):
        raise ValueError(f"{len(manifests)} manifests for {len(request.chunks)} chunks")
    if len(audits) != len(request.chunks):
        raise ValueError(f"{len(audits)} audit logs for {len(request.chunks)} chunks")
    cost = job_cost(request.workforce, sum(log.answers for log in audits))
    manifest = read_manifests(list(manifests), label_attribute=request.project)
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
    report = build_report(
        manifest,
        task_type=request.task_type,
        skills=documents,
        job_cost=cost,
        title=f"LabelFlow {request.project}: job {request.job_id}",
    )
    prefix = output_prefix(request.job_id)
    union = "".join(
        json.dumps(dict(r.fields), separators=(",", ":")) + "\n" for r in manifest.records
    )
    objects: dict[str, tuple[bytes, str]] = {
        f"{prefix}output.manifest": (union.encode(), "application/jsonlines"),
        f"{prefix}report.json": (json.dumps(report, indent=2).encode(), _CONTENT_TYPES[".json"]),
        f"{prefix}report.html": (render_html(report).encode(), _CONTENT_TYPES[".html"]),
    }
    for path, body in exports.files.items():
        objects[f"{prefix}exports/{path}"] = (body, _content_type(path))
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


def _content_type(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")
