"""Validate and Plan steps of the job workflow: parse → fetch → decide → shape.

Event: the job's input (:class:`job_contracts.steps.JobInput`), built by the intake trigger from
the S3 notification and the project's configuration::

    {"bucket": "labelflow-intake", "key": "<project>/<name>.jsonl",   # or .manifest
     "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",               # optional
     "project": "<project>", "jobId": "<job id>", "taskType": "bounding-box",
     "workforce": {"type": "private"} | null, "backend": "ground-truth" | "labelstudio"}

``key`` must lie under ``<project>/``; ``jobId`` (1-128 letters, digits, ``.``, ``_``, ``-``)
names the results folder; ``taskType`` is one of :data:`gt_contracts.TASK_TYPES`. With
``versionId`` that exact version is read, so a manifest overwritten after the upload event
does not change what the job labels.

Response (Validate's counts as :class:`job_contracts.steps.ValidationSummary` writes them,
plus the clean manifest, the chunks and the warnings)::

    {"manifest": "s3://labelflow-intake/<project>/<name>.jsonl",
     "lines": 1002, "accepted": 990, "rejected": 10, "blank": 2,
     "byReason": {"not-json": 4, "object-missing": 6},
     "rejectsUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/rejects.jsonl",
     "cleanManifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/manifest.clean.jsonl",
     "chunks": [{"index": 0, "first": 0, "count": 990,
                 "manifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/chunks/0.manifest"}],
     "warnings": ["bucket 'data-lake': it has no CORS configuration, so ..."]}

The counts (the response without ``cleanManifestUri``, ``chunks`` and ``warnings``) are also
written to ``jobs/<jobId>/validation.json`` (:attr:`job_contracts.layout.JobLayout.validation`),
before the step returns or raises :class:`ManifestRejected`.

Chunk ``i`` holds clean lines ``first`` to ``first + count - 1`` (0-based) in the clean
manifest's order; the rules, reasons and reject records are in :mod:`validate_manifest.logic`.
``rejects.jsonl`` lists the rejects of the line checks in line order, followed by those of the
existence check (``object-missing``, ``object-forbidden``) in line order.

Items may live in the manifest's bucket and in the stage's data sources (``DATA_SOURCES``,
:mod:`validate_manifest.sources`). A ``source-ref`` outside them is rejected as
``object-forbidden`` without an S3 call, with a detail naming the bucket (or prefix) to add to
``StageConfig.data_sources``: the labeling job could not read it either. For Ground Truth jobs,
every data-source bucket that holds accepted items is checked once per job for the CORS rule
the worker pages need (``GetBucketCors``; the intake bucket has it by construction); each
bucket that lacks it gets one entry in ``warnings`` and the job one warning log line.

Errors: a malformed event raises ``ContractError``; a manifest with no line to label (every
line rejected or blank, or no line at all) raises :class:`ManifestRejected` after the rejects
file and the counts are written, with the rejects' URI in the message; S3 errors other than a
missing or forbidden referenced object (throttling, a missing manifest) propagate as botocore
``ClientError`` for the workflow to retry or fail on. A bucket whose CORS configuration cannot
be read gets a warning, not an error.

How memory stays bounded: the manifest is streamed once in 1 MiB chunks. Candidate clean
lines, rejects and accepted ``source-ref`` URIs go to files in a temporary folder under
``/tmp`` (ephemeral storage must hold about twice the manifest); the URIs are then checked
with ``HeadObject`` from a pool of 32 threads with at most 128 checks queued. If an object is
unavailable, the candidates are copied once more without those lines; otherwise the
candidates file is the clean manifest as it is. Results are uploaded from the files, and each
chunk is written to a file of its own and uploaded in turn.

The Powertools Tracer is created on the first invocation rather than at import (building it
imports the X-Ray SDK), and boto3 is imported on first use, to keep imports cheap
(:mod:`handler_support`).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, TaskType, parse_s3_uri, s3_uri
from handler_support import client, traced
from job_contracts.layout import JobLayout
from job_contracts.steps import JobInput, ValidationSummary
from validate_manifest.logic import (
    ChunkRange,
    ManifestRejected,
    ObjectStatus,
    Reject,
    SourceRef,
    UnavailableObject,
    plan_chunks,
    remove_unavailable,
    validate_manifest,
)
from validate_manifest.settings import get_settings
from validate_manifest.sources import ItemSources, cors_problem, cors_warning

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client

__all__ = ["ManifestRejected", "lambda_handler"]

logger = Logger()

READ_CHUNK_BYTES = 1 << 20
HEAD_CONCURRENCY = 32
HEAD_QUEUE = 4 * HEAD_CONCURRENCY
#: Attempts per S3 call, the first one included, with the SDK's backoff on throttling.
S3_ATTEMPTS = 6
CONTENT_TYPE = "application/jsonl"
_UNAVAILABLE: dict[str, ObjectStatus] = {
    "404": "missing",
    "NoSuchKey": "missing",
    "NotFound": "missing",
    "NoSuchBucket": "missing",
    "403": "forbidden",
    "AccessDenied": "forbidden",
    "Forbidden": "forbidden",
}


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = JobInput.from_event(event)
    except ContractError as exc:
        logger.error("validate event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(job_id=request.job_id, project=request.project)
    bucket, layout = settings.results_bucket, request.layout
    sources = ItemSources(manifest_bucket=request.bucket, data_sources=settings.data_sources)
    with tempfile.TemporaryDirectory(prefix="validate-manifest-") as tmp:
        work = _Workspace(Path(tmp))
        summary = work.first_pass(_read_chunks(request), request.task_type)
        checked = _check_objects(work.source_refs(), sources)
        if checked.unavailable:
            summary = work.second_pass(checked.unavailable, summary, sources)
        _upload(work.clean, bucket, layout.clean_manifest)
        _upload(work.rejects, bucket, layout.rejects)
        counts = _counts(request, summary, s3_uri(bucket, layout.rejects))
        _write_json(bucket, layout.validation, counts.to_json())
        _log_summary(request, summary)
        if summary.accepted == 0:
            raise ManifestRejected(
                f"no line of {request.uri} can be labeled ({summary.rejected} rejected, "
                f"{summary.blank} blank of {summary.lines}); see {counts.rejects_uri}"
            )
        warnings = _cors_warnings(checked.data_buckets) if request.backend == "ground-truth" else []
        plan = plan_chunks(summary.accepted, settings.max_objects_per_job, request.task_type)
        chunks = _write_chunks(work, plan, bucket, layout)
    return {
        **counts.to_json(),
        "cleanManifestUri": s3_uri(bucket, layout.clean_manifest),
        "chunks": chunks,
        "warnings": warnings,
    }


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


class _FileSink:
    """A :class:`~validate_manifest.logic.ValidationSink` writing to open files."""

    def __init__(self, clean: IO[bytes], rejects: IO[bytes], refs: IO[bytes] | None = None) -> None:
        self._clean = clean
        self._rejects = rejects
        self._refs = refs

    def clean(self, lines: list[bytes]) -> None:
        self._clean.write(b"\n".join(lines))
        self._clean.write(b"\n")

    def reject(self, reject: Reject) -> None:
        self._rejects.write(reject.to_json() + b"\n")

    def source_refs(self, refs: list[SourceRef]) -> None:
        if self._refs is None:
            raise RuntimeError("source-refs arrive in the first step only")
        # One JSON array of [position, line, uri, first] per batch: one C-level dumps call.
        self._refs.write(json.dumps(refs).encode() + b"\n")


class _Workspace:
    """The temporary files of one invocation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.candidates = folder / "candidates.jsonl"
        self.clean = self.candidates  # until the second step writes a file of its own
        self.rejects = folder / "rejects.jsonl"
        self.refs = folder / "source-refs.jsonl"

    def first_pass(self, chunks: Iterable[bytes], task_type: TaskType) -> ValidationSummary:
        """Validate the stream into candidates, rejects and source-refs."""
        with (
            self.candidates.open("wb") as clean,
            self.rejects.open("wb") as rejects,
            self.refs.open("wb") as refs,
        ):
            return validate_manifest(chunks, task_type, _FileSink(clean, rejects, refs))

    def source_refs(self) -> Iterator[SourceRef]:
        """The accepted source-refs, read back one at a time."""
        with self.refs.open("rb") as refs:
            for batch in refs:
                for position, line, uri, first in json.loads(batch):
                    yield SourceRef(position, line, uri, first)

    def second_pass(
        self, unavailable: list[UnavailableObject], summary: ValidationSummary, sources: ItemSources
    ) -> ValidationSummary:
        """Copy the candidates without the unavailable lines; append their rejects."""
        self.clean = self.folder / "clean.jsonl"
        with (
            self.candidates.open("rb") as candidates,
            self.clean.open("wb") as clean,
            self.rejects.open("ab") as rejects,
        ):
            summary = remove_unavailable(
                candidates, unavailable, _FileSink(clean, rejects), summary, sources
            )
        self.candidates.unlink()
        return summary


def _read_chunks(request: JobInput) -> Iterator[bytes]:
    """The manifest's bytes in chunks of up to 1 MiB (the requested version if one is given)."""
    if request.version_id is None:
        response = _s3().get_object(Bucket=request.bucket, Key=request.key)
    else:
        response = _s3().get_object(
            Bucket=request.bucket, Key=request.key, VersionId=request.version_id
        )
    body = response["Body"]
    try:
        yield from body.iter_chunks(READ_CHUNK_BYTES)
    finally:
        body.close()


@dataclass
class _Checked:
    """What the existence check found: the unavailable objects, and the data-source buckets
    (buckets other than the manifest's) that the readable ones lie in."""

    unavailable: list[UnavailableObject] = field(default_factory=list)
    data_buckets: set[str] = field(default_factory=set)


def _check_objects(refs: Iterable[SourceRef], sources: ItemSources) -> _Checked:
    """HEAD every readable referenced object once, from a bounded pool.

    A reference outside the job's item sources is forbidden without a call: the stage's roles
    may not read it. A repeated reference shares the result of its first occurrence.
    """
    s3 = _s3()  # created before the threads start
    checked = _Checked()
    repeats: dict[int, list[SourceRef]] = {}
    with ThreadPoolExecutor(HEAD_CONCURRENCY, thread_name_prefix="head-object") as pool:
        pending: set[Future[UnavailableObject | None]] = set()
        for ref in refs:
            if ref.first != ref.position:
                repeats.setdefault(ref.first, []).append(ref)
                continue
            if not sources.readable(ref.uri):
                checked.unavailable.append(UnavailableObject(ref, "forbidden"))
                continue
            bucket = parse_s3_uri(ref.uri, field="source-ref")[0]
            if bucket != sources.manifest_bucket:
                checked.data_buckets.add(bucket)
            if len(pending) >= HEAD_QUEUE:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                checked.unavailable.extend(_results(done))
            pending.add(pool.submit(_head, s3, ref))
        checked.unavailable.extend(_results(wait(pending).done))
    checked.unavailable.extend(
        UnavailableObject(repeat, item.status)
        for item in list(checked.unavailable)
        for repeat in repeats.get(item.ref.position, ())
    )
    return checked


def _results(done: Iterable[Future[UnavailableObject | None]]) -> Iterator[UnavailableObject]:
    for future in done:
        result = future.result()  # re-raises an unexpected S3 error
        if result is not None:
            yield result


def _head(s3: S3Client, ref: SourceRef) -> UnavailableObject | None:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    bucket, key = parse_s3_uri(ref.uri, field="source-ref")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        status = _UNAVAILABLE.get(str(exc.response.get("Error", {}).get("Code")))
        if status is None:
            raise
        return UnavailableObject(ref, status)
    return None


def _upload(path: Path, bucket: str, key: str) -> None:
    _s3().upload_file(str(path), bucket, key, ExtraArgs={"ContentType": CONTENT_TYPE})


def _write_json(bucket: str, key: str, document: Mapping[str, Any]) -> None:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def _counts(request: JobInput, summary: ValidationSummary, rejects_uri: str) -> ValidationSummary:
    return replace(
        summary,
        manifest=request.uri,
        by_reason=dict(sorted((summary.by_reason or {}).items())),
        rejects_uri=rejects_uri,
    )


def _cors_warnings(buckets: Iterable[str]) -> list[str]:
    """One warning per bucket whose CORS rules fail Ground Truth's worker pages; logged once."""
    warnings = []
    for bucket in sorted(buckets):
        problem = _cors_problem(bucket)
        if problem is not None:
            warnings.append(cors_warning(bucket, problem))
    if warnings:
        logger.warning(
            "data buckets lack the worker pages' CORS rule", extra={"warnings": warnings}
        )
    return warnings


def _cors_problem(bucket: str) -> str | None:
    """What the bucket's CORS rules lack for worker pages (reading them may be refused)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        rules = _s3().get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code != "NoSuchCORSConfiguration":
            return f"its CORS configuration could not be read ({code})"
        rules = []
    return cors_problem(rules)


def _write_chunks(
    work: _Workspace, plan: list[ChunkRange], bucket: str, layout: JobLayout
) -> list[dict[str, Any]]:
    """Upload each chunk's manifest, reading the clean manifest once, front to back."""
    if len(plan) == 1:
        _upload(work.clean, bucket, layout.chunk(0))
    else:
        part = work.folder / "chunk.manifest"
        with work.clean.open("rb") as clean:
            for chunk in plan:
                with part.open("wb") as out:
                    out.writelines(itertools.islice(clean, chunk.count))
                _upload(part, bucket, layout.chunk(chunk.index))
        part.unlink()
    return [
        {
            "index": chunk.index,
            "first": chunk.first,
            "count": chunk.count,
            "manifestUri": s3_uri(bucket, layout.chunk(chunk.index)),
        }
        for chunk in plan
    ]


def _log_summary(request: JobInput, summary: ValidationSummary) -> None:
    """Counts only: rejected lines may hold submitter-provided text."""
    logger.info(
        "manifest validated",
        extra={
            "manifest": request.uri,
            "version_id": request.version_id,
            "task_type": request.task_type,
            "lines": summary.lines,
            "accepted": summary.accepted,
            "rejected": summary.rejected,
            "blank": summary.blank,
            "by_reason": dict(summary.by_reason or {}),
        },
    )


def _s3() -> S3Client:
    """The S3 client, its connection pool sized for the threads of the existence check."""
    return client("s3", max_attempts=S3_ATTEMPTS, max_pool_connections=HEAD_CONCURRENCY)
