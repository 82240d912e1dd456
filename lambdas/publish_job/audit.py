"""The audit trail of one labeling job: one JSON line per worker answer (pure).

Ground Truth keeps every submission under the job's output folder
(``<job folder>/annotations/worker-response/iteration-<N>/<datasetObjectId>/<ts>.json``) and
its consolidation requests under ``annotations/consolidated-annotation/consolidation-request/``;
:meth:`job_contracts.layout.LabelingJobFolder.of_output_manifest` finds that folder from
the chunk's output-manifest URI. The caller fetches
those files; :func:`build_audit` turns them, with the chunk's output manifest, into the
immutable log written to ``audit/<project>/<jobId>/<jobName>.jsonl``
(:func:`job_contracts.layout.audit_key`).

Record format (keys always present, ``null`` when unknown)::

    {"record": "answer" | "no-answer" | "unreadable-response",
     "jobId", "project", "labelingJobName", "datasetObjectId", "iteration",
     "sourceKey": "source-ref" | "source" | null, "source", "sourceMatch",
     "workerId", "workerIdentity": {"identityProviderType", "issuer", "sub"} | null,
     "acceptanceTime", "submissionTime", "timeSpentInSeconds",
     "answer": <answerContent exactly as in the file>, "responseUri",
     "consolidation": {"status", "consensus", "value", "confidence", "method", "reason",
                       "metadata"} | null,
     "reason": <why there is no answer, for "no-answer" and "unreadable-response"> | null}

``consolidation`` is what the output manifest says about the item: ``status`` as
:mod:`publish_results.manifest` classifies it (``labeled``, ``no-consensus``, ``failed``,
``unlabeled``), ``consensus`` whether a label was published, ``value`` the raw label value,
``confidence`` and ``method`` from the value (LabelFlow keeps them there because Ground Truth
replaces a custom job's ``-metadata``), ``reason`` the no-consensus or failure reason and
``metadata`` the ``<label>-metadata`` object as recorded. It is ``null`` for an answer whose
item is not in the manifest.

An item's source comes from the consolidation request that named its ``datasetObjectId``
(``sourceMatch: "consolidation-request"``); failing that, from the manifest line at that
0-based index, Ground Truth numbering objects by input line (``"line-index"``); else it is
``null`` (``"none"``). A manifest item with no answer gets one ``no-answer`` record whose
``reason`` is the manifest's. A response file that cannot be read is never dropped: it gets one
``unreadable-response`` record naming the problem. Records are ordered by ``datasetObjectId``
(numerically when numeric), iteration, file and answer position, so the same inputs always give
the same bytes and a retried write is recognised as identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gt_contracts import ContractError, WorkerResponse, parse_payload
from gt_contracts._json import load_json
from publish_results.manifest import ManifestRecord, read_manifest

__all__ = [
    "AuditLog",
    "ResponseFile",
    "build_audit",
]

_RESPONSE_KEY = re.compile(r"/annotations/worker-response/iteration-(\d+)/([^/]+)/[^/]+$")


@dataclass(frozen=True, slots=True)
class ResponseFile:
    """A fetched file: its ``s3://`` URI and its bytes."""

    uri: str
    body: bytes


@dataclass(frozen=True, slots=True)
class AuditLog:
    """One job's audit log and what it counts.

    Attributes:
        body: the JSON Lines bytes.
        records: lines in ``body``.
        answers: ``answer`` records (the billable worker tasks).
        without_answers: ``no-answer`` records.
        unreadable: ``unreadable-response`` records.
    """

    body: bytes
    records: int
    answers: int
    without_answers: int
    unreadable: int


def build_audit(
    *,
    job_id: str,
    project: str,
    job_name: str,
    manifest: bytes,
    responses: Sequence[ResponseFile],
    requests: Sequence[bytes] = (),
) -> AuditLog:
    """The audit log of one labeling job (format in the module docstring).

    Args:
        job_id: the LabelFlow job.
        project: its project (also the label attribute).
        job_name: the labeling job.
        manifest: the job's output manifest.
        responses: its worker-response files (any order).
        requests: its consolidation-request files (for the items' sources).
    """
    records = read_manifest(manifest, label_attribute=project).records
    by_source: dict[tuple[str, str], ManifestRecord] = {
        (r.source_key, r.source): r for r in records
    }
    by_id = _sources_from_requests(requests)
    base = {"jobId": job_id, "project": project, "labelingJobName": job_name}
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    answered: set[tuple[str, str]] = set()
    for file in sorted(responses, key=lambda f: f.uri):
        match = _RESPONSE_KEY.search(file.uri)
        iteration = int(match[1]) if match else None
        object_id = match[2] if match else None
        source_key, source, how = _source(object_id, by_id, records)
        record = by_source.get((source_key, source)) if source_key and source else None
        item = {
            **base,
            "datasetObjectId": object_id,
            "iteration": iteration,
            "sourceKey": source_key,
            "source": source,
            "sourceMatch": how,
        }
        order = (_id_order(object_id), iteration or 0, file.uri)
        try:
            answers = _answers(file.body)
        except ContractError as exc:
            rows.append((order, _row(item, file.uri, record, reason=str(exc))))
            continue
        if record is not None and answers:
            answered.add((record.source_key, record.source))
        for index, (raw, parsed) in enumerate(answers):
            rows.append(((*order, index), _answer_row(item, file.uri, record, raw, parsed)))
    ids = {source: object_id for object_id, source in sorted(by_id.items(), reverse=True)}
    for index, record in enumerate(records):
        if (record.source_key, record.source) in answered:
            continue
        object_id = ids.get((record.source_key, record.source), str(index))
        item = {
            **base,
            "datasetObjectId": object_id,
            "iteration": None,
            "sourceKey": record.source_key,
            "source": record.source,
            "sourceMatch": "manifest",
        }
        reason = record.reason or "no worker response was found for this item"
        rows.append(((_id_order(object_id), 0, ""), _row(item, None, record, reason=reason)))
    rows.sort(key=lambda pair: pair[0])
    lines = [json.dumps(row, sort_keys=True, separators=(",", ":")) for _, row in rows]
    kinds = [row["record"] for _, row in rows]
    return AuditLog(
        body="".join(line + "\n" for line in lines).encode(),
        records=len(lines),
        answers=kinds.count("answer"),
        without_answers=kinds.count("no-answer"),
        unreadable=kinds.count("unreadable-response"),
    )


def _answers(body: bytes) -> list[tuple[Mapping[str, Any], WorkerResponse]]:
    doc = load_json(body, what="worker-response file")
    entries = doc.get("answers") if isinstance(doc, Mapping) else None
    if not isinstance(entries, list):
        raise ContractError("worker-response file: 'answers' must be a list")
    return [
        (entry, WorkerResponse.from_json(entry, at=f"answers[{i}]"))
        for i, entry in enumerate(entries)
    ]


def _sources_from_requests(requests: Sequence[bytes]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for body in requests:
        try:
            objects = parse_payload(body)
        except ContractError:
            continue  # a source then comes from the line index; nothing else depends on it
        for obj in objects:
            data = obj.data_object
            if isinstance(data.get("s3Uri"), str):
                found[obj.dataset_object_id] = ("source-ref", data["s3Uri"])
            elif isinstance(data.get("content"), str):
                found[obj.dataset_object_id] = ("source", data["content"])
    return found


def _source(
    object_id: str | None,
    by_id: Mapping[str, tuple[str, str]],
    records: Sequence[ManifestRecord],
) -> tuple[str | None, str | None, str]:
    if object_id is None:
        return None, None, "none"
    if object_id in by_id:
        key, source = by_id[object_id]
        return key, source, "consolidation-request"
    if object_id.isdigit() and int(object_id) < len(records):
        record = records[int(object_id)]
        return record.source_key, record.source, "line-index"
    return None, None, "none"


def _id_order(object_id: str | None) -> tuple[int, int, str]:
    if object_id is None:
        return (2, 0, "")
    if object_id.isdigit():
        return (0, int(object_id), "")
    return (1, 0, object_id)


def _consolidation(record: ManifestRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    value = record.value
    method = value.get("method") if isinstance(value, Mapping) else None
    if method is None and isinstance(value, Mapping):
        block = value.get("consolidation")
        method = block.get("method") if isinstance(block, Mapping) else None
    return {
        "status": record.status,
        "consensus": record.status == "labeled",
        "value": value,
        "confidence": record.confidence,
        "method": method,
        "reason": record.reason,
        "metadata": dict(record.metadata.raw) if record.metadata is not None else None,
    }


def _row(
    item: Mapping[str, Any],
    uri: str | None,
    record: ManifestRecord | None,
    *,
    reason: str,
) -> dict[str, Any]:
    return {
        **item,
        "record": "no-answer" if uri is None else "unreadable-response",
        "workerId": None,
        "workerIdentity": None,
        "acceptanceTime": None,
        "submissionTime": None,
        "timeSpentInSeconds": None,
        "answer": None,
        "responseUri": uri,
        "consolidation": _consolidation(record),
        "reason": reason,
    }


def _answer_row(
    item: Mapping[str, Any],
    uri: str,
    record: ManifestRecord | None,
    raw: Mapping[str, Any],
    parsed: WorkerResponse,
) -> dict[str, Any]:
    identity = parsed.identity
    return {
        **item,
        "record": "answer",
        "workerId": parsed.worker_id,
        "workerIdentity": {
            "identityProviderType": identity.identity_provider_type,
            "issuer": identity.issuer,
            "sub": identity.sub,
        }
        if identity is not None
        else None,
        "acceptanceTime": raw.get("acceptanceTime"),
        "submissionTime": raw.get("submissionTime"),
        "timeSpentInSeconds": parsed.time_spent_seconds,
        "answer": raw.get("answerContent"),
        "responseUri": uri,
        "consolidation": _consolidation(record),
        "reason": None,
    }
