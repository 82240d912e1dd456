"""The payloads passed between the job workflow's states, parsed and built in one place (pure).

Execution input, and the Validate step's event (:class:`JobInput`), built by the intake
trigger from the dropped manifest and the project::

    {"bucket", "key", "versionId"?, "project", "jobId", "taskType",
     "workforce": {"type", "priceUsdPerTask"?} | null, "backend": "ground-truth"|"labelstudio"}

A chunk step's event (:class:`StartRequest`), one per chunk Validate planned::

    {"taskToken", "jobId", "project", "chunk": {"index", "manifestUri"}}

and its result, what the token is resumed with (:func:`job_contracts.tokens.completed`)::

    {"jobName", "status": "Completed", "outputManifestUri", "labelCounters"}

The Publish step's event (:class:`PublishRequest`)::

    {"jobId", "project", "taskType", "workforce", "jobs": [<chunk result>, ...],
     "validation": <Validate's result>?}

The record-failure step's event (:class:`FailureRequest`)::

    {"jobId", "project", "error", "cause", "chunks"?: [{"index", ...}, ...]}

Parsers raise :class:`gt_contracts.ContractError` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from gt_contracts import TASK_TYPES, ContractError, TaskType, parse_s3_uri, s3_uri
from gt_contracts.project_schema import BACKENDS, WORKFORCE_KINDS, WorkforceKind
from job_contracts.ids import MANIFEST_SUFFIXES, check_job_id
from job_contracts.layout import JobLayout

__all__ = [
    "WORKFORCE_TYPES",
    "Chunk",
    "ChunkResult",
    "FailureRequest",
    "JobInput",
    "PublishRequest",
    "StartRequest",
    "ValidationSummary",
    "WorkforcePrice",
    "WorkforceType",
    "read_validation",
]

WorkforceType = WorkforceKind
WORKFORCE_TYPES: frozenset[str] = frozenset(WORKFORCE_KINDS)


@dataclass(frozen=True, slots=True)
class WorkforcePrice:
    """Who labels the job, and what one task (one worker, one item) costs in USD, if known."""

    type: WorkforceType
    price_usd_per_task: float | None = None

    @classmethod
    def from_json(cls, raw: object, *, field: str = "workforce") -> WorkforcePrice | None:
        """Parse ``{"type", "priceUsdPerTask"?}``; ``None`` when absent.

        Raises:
            ContractError: an unknown type or a price that is not a non-negative number.
        """
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise ContractError(f"{field} must be an object")
        kind = raw.get("type")
        if kind not in WORKFORCE_TYPES:
            raise ContractError(f"{field}.type must be one of {sorted(WORKFORCE_TYPES)}: {kind!r}")
        price = raw.get("priceUsdPerTask")
        if price is not None and (
            isinstance(price, bool) or not isinstance(price, int | float) or not price >= 0
        ):
            raise ContractError(f"{field}.priceUsdPerTask must be a number >= 0: {price!r}")
        return cls(cast(WorkforceType, kind), float(price) if price is not None else None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.price_usd_per_task is not None:
            out["priceUsdPerTask"] = self.price_usd_per_task
        return out


def _text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise ContractError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _task_type(value: object, name: str = "taskType") -> TaskType:
    for task_type in TASK_TYPES:
        if value == task_type:
            return task_type
    raise ContractError(f"{name} {value!r} is not one of {', '.join(TASK_TYPES)}")


@dataclass(frozen=True, kw_only=True)
class JobInput:
    """The execution input of a job, and the Validate step's event."""

    bucket: str
    key: str
    version_id: str | None
    project: str
    job_id: str
    task_type: TaskType
    workforce: WorkforcePrice | None = None
    backend: str = "ground-truth"

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` of the manifest."""
        return s3_uri(self.bucket, self.key)

    @property
    def layout(self) -> JobLayout:
        """Where this job's files go in the results bucket."""
        return JobLayout(self.job_id)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobInput:
        """Parse and check the input.

        Raises:
            ContractError: a missing or invalid field, named in the message.
        """
        fields = {name: _text(event, name) for name in ("bucket", "key", "project", "jobId")}
        version_id = event.get("versionId")
        if version_id is not None and (not isinstance(version_id, str) or not version_id):
            raise ContractError(f"versionId must be a non-empty string, got {version_id!r}")
        bucket, key = parse_s3_uri(s3_uri(fields["bucket"], fields["key"]), field="bucket/key")
        project = fields["project"]
        if not key.startswith(f"{project}/"):
            raise ContractError(f"key {key!r} is not under the project's prefix {project + '/'!r}")
        if not key.endswith(MANIFEST_SUFFIXES):
            raise ContractError(f"key {key!r} must end with .jsonl or .manifest")
        backend = event.get("backend", "ground-truth")
        if backend not in BACKENDS:
            raise ContractError(f"backend {backend!r} is not one of {list(BACKENDS)}")
        return cls(
            bucket=bucket,
            key=key,
            version_id=version_id,
            project=project,
            job_id=check_job_id(fields["jobId"]),
            task_type=_task_type(event.get("taskType")),
            workforce=WorkforcePrice.from_json(event.get("workforce")),
            backend=backend,
        )

    def to_json(self) -> dict[str, Any]:
        """The execution input."""
        out: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key,
            "project": self.project,
            "jobId": self.job_id,
            "taskType": self.task_type,
            "workforce": None if self.workforce is None else self.workforce.to_json(),
            "backend": self.backend,
        }
        if self.version_id is not None:
            out["versionId"] = self.version_id
        return out


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the clean manifest (as planned by the Validate step)."""

    index: int
    manifest_uri: str


@dataclass(frozen=True, slots=True)
class StartRequest:
    """The event of a chunk step (``Start labeling job`` or ``Start Label Studio job``)."""

    task_token: str
    job_id: str
    project: str
    chunk: Chunk

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> StartRequest:
        """Parse ``{"taskToken", "jobId", "project", "chunk": {"index", "manifestUri"}}``.

        Raises:
            ContractError: a missing or invalid field, named.
        """
        token = event.get("taskToken")
        if not isinstance(token, str) or not token:
            raise ContractError("taskToken must be a non-empty string")
        job_id = check_job_id(event.get("jobId"))
        project = event.get("project")
        if not isinstance(project, str) or not project:
            raise ContractError("project must be a non-empty string")
        chunk = event.get("chunk")
        if not isinstance(chunk, Mapping):
            raise ContractError("chunk must be an object")
        index = chunk.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ContractError(f"chunk.index must be a non-negative integer: {index!r}")
        uri = chunk.get("manifestUri")
        if not isinstance(uri, str):
            raise ContractError("chunk.manifestUri must be an s3:// URI")
        parse_s3_uri(uri, field="chunk.manifestUri")
        return cls(token, job_id, project, Chunk(index, uri))


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """One chunk's finished labeling job."""

    job_name: str
    output_manifest_uri: str

    @classmethod
    def from_json(cls, raw: object, where: str) -> ChunkResult:
        if not isinstance(raw, Mapping):
            raise ContractError(f"{where} must be an object")
        name = raw.get("jobName")
        uri = raw.get("outputManifestUri")
        if not isinstance(name, str) or not name or "/" in name:
            raise ContractError(f"{where}.jobName must be a labeling-job name: {name!r}")
        if not isinstance(uri, str):
            raise ContractError(f"{where}.outputManifestUri must be an s3:// URI")
        parse_s3_uri(uri, field=f"{where}.outputManifestUri")
        return cls(name, uri)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationSummary:
    """What Validate counted: lines read, accepted, rejected (by reason), blank, and how many
    accepted lines repeat an earlier line's source (each is labeled).

    Written to ``jobs/<jobId>/validation.json`` (:attr:`JobLayout.validation`) and returned
    by the Validate step; Publish and record-failure pass it on to every summary a user sees.
    """

    manifest: str | None = None
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    blank: int = 0
    by_reason: Mapping[str, int] | None = None
    rejects_uri: str | None = None
    repeated: int = 0

    @classmethod
    def from_json(cls, raw: object, *, field: str = "validation") -> ValidationSummary | None:
        """Parse Validate's result (``None`` when absent).

        Raises:
            ContractError: a count that is not a non-negative integer, named.
        """
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise ContractError(f"{field} must be an object")
        counts = {}
        for name in ("lines", "accepted", "rejected", "blank", "repeated"):
            value = raw.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ContractError(f"{field}.{name} must be a non-negative integer: {value!r}")
            counts[name] = value
        reasons = raw.get("byReason") or {}
        if not isinstance(reasons, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in reasons.items()
        ):
            raise ContractError(f"{field}.byReason must map reasons to counts")
        uris = {}
        for name in ("manifest", "rejectsUri"):
            uri = raw.get(name)
            if uri is not None and not isinstance(uri, str):
                raise ContractError(f"{field}.{name} must be an s3:// URI")
            uris[name] = uri
        return cls(
            manifest=uris["manifest"],
            by_reason=dict(reasons),
            rejects_uri=uris["rejectsUri"],
            **counts,
        )

    def item_updates(self) -> dict[str, dict[str, Any]]:
        """The jobs-table attributes of these counts (DynamoDB attribute-value form)."""
        updates: dict[str, dict[str, Any]] = {
            name: {"N": str(value)}
            for name, value in (
                ("lines", self.lines),
                ("accepted", self.accepted),
                ("rejected", self.rejected),
                ("blank", self.blank),
                ("repeated", self.repeated),
            )
        }
        updates["rejectedByReason"] = {
            "M": {reason: {"N": str(count)} for reason, count in (self.by_reason or {}).items()}
        }
        if self.rejects_uri is not None:
            updates["rejectsUri"] = {"S": self.rejects_uri}
        return updates

    def set_clauses(
        self, extra: Mapping[str, dict[str, Any]] | None = None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """:meth:`item_updates` (and ``extra``) as ``UpdateItem`` SET clauses.

        Returns:
            ``", #v_lines = :v_lines, ..."`` to append to a ``SET`` expression, and the
            attribute names and values it uses (every name through a placeholder: ``lines``
            is a DynamoDB reserved word).
        """
        updates = {**self.item_updates(), **(extra or {})}
        clause = "".join(f", #v_{name} = :v_{name}" for name in updates)
        names = {f"#v_{name}": name for name in updates}
        values = {f":v_{name}": value for name, value in updates.items()}
        return clause, names, values

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "lines": self.lines,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "blank": self.blank,
            "byReason": dict(self.by_reason or {}),
            "rejectsUri": self.rejects_uri,
            "repeated": self.repeated,
        }


def read_validation(s3: Any, bucket: str, job_id: str) -> ValidationSummary | None:
    """``jobs/<jobId>/validation.json`` of ``bucket`` through an S3 client, or ``None`` when
    Validate never wrote it.

    Raises:
        ContractError: the file is not a validation summary.
        Exception: the client's error for anything but a missing object.
    """
    key = JobLayout(job_id).validation
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        response = getattr(exc, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
        if code in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    try:
        raw = json.loads(body)
    except ValueError:
        raise ContractError(f"s3://{bucket}/{key} is not JSON") from None
    return ValidationSummary.from_json(raw, field=f"s3://{bucket}/{key}")


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """The event of the Publish step."""

    job_id: str
    project: str
    task_type: TaskType
    chunks: tuple[ChunkResult, ...]
    workforce: WorkforcePrice | None = None
    validation: ValidationSummary | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PublishRequest:
        """Parse ``{"jobId", "project", "taskType", "jobs": [{"jobName", "outputManifestUri"}]}``
        and the optional ``workforce`` and ``validation``.

        Raises:
            ContractError: a missing or invalid field, named.
        """
        job_id = check_job_id(event.get("jobId"))
        project = event.get("project")
        if not isinstance(project, str) or not project or "/" in project:
            raise ContractError(f"project must be a non-empty name: {project!r}")
        task_type = event.get("taskType")
        if task_type not in TASK_TYPES:
            raise ContractError(f"taskType must be one of {sorted(TASK_TYPES)}: {task_type!r}")
        jobs = event.get("jobs")
        if not isinstance(jobs, list) or not jobs:
            raise ContractError("jobs must list each chunk's labeling job")
        chunks = tuple(ChunkResult.from_json(job, f"jobs[{i}]") for i, job in enumerate(jobs))
        return cls(
            job_id,
            project,
            cast(TaskType, task_type),
            chunks,
            WorkforcePrice.from_json(event.get("workforce")),
            ValidationSummary.from_json(event.get("validation")),
        )


@dataclass(frozen=True, slots=True)
class FailureRequest:
    """The event of the record-failure step."""

    job_id: str
    project: str
    error: str
    cause: str
    chunk_indexes: tuple[int, ...]
    validation: ValidationSummary | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> FailureRequest:
        """Parse ``{"jobId", "project", "error", "cause", "chunks"?, "validation"?}``.

        Raises:
            ContractError: a missing or invalid field, named.
        """
        job_id = check_job_id(event.get("jobId"))
        project = event.get("project")
        if not isinstance(project, str) or not project:
            raise ContractError(f"project must be a non-empty string: {project!r}")
        error = event.get("error")
        if not isinstance(error, str) or not error:
            error = "States.Unknown"
        cause = event.get("cause")
        if not isinstance(cause, str):
            cause = ""
        chunks = event.get("chunks") or []
        if not isinstance(chunks, list):
            raise ContractError("chunks must be a list of the job's chunks")
        indexes = []
        for position, chunk in enumerate(chunks):
            index = chunk.get("index") if isinstance(chunk, Mapping) else None
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise ContractError(f"chunks[{position}].index must be a non-negative integer")
            indexes.append(index)
        return cls(
            job_id,
            project,
            error,
            cause,
            tuple(indexes),
            ValidationSummary.from_json(event.get("validation")),
        )
