"""Validate a JSON Lines input manifest as a stream, and split its clean lines into jobs (pure).

The manifest arrives as an iterable of byte chunks of any size (S3 ``iter_chunks``, a local
file read in blocks). Chunk boundaries may fall anywhere, including inside a line or inside a
multi-byte character: lines are cut on ``\\n`` bytes before anything is decoded, and no byte
of a multi-byte UTF-8 character can be ``\\n``. Memory stays bounded: at most one chunk plus one
unfinished line is held (an unfinished line longer than any valid line stops being buffered),
plus one 16-byte digest per distinct accepted source, to find repeated sources.

Rules, checked in this order; the first that fails is the line's one reason (:class:`Reason`):

======================== =================================================================
reason                   the line ...
======================== =================================================================
``line-too-long``        has more than 100,000 characters (Unicode code points, without its
                         line ending). A line longer than 400,001 bytes cannot be valid and is
                         rejected without being decoded.
``not-utf8``             is not valid UTF-8
``not-json``             is not one strict JSON value (a truncated object, two objects on
                         one line, ``NaN``)
``not-an-object``        is JSON but not an object (``[...]``, ``"text"``, ``42``)
``dollar-attribute``     has a top-level attribute name starting with ``$``
``both-sources``         has both ``source-ref`` and ``source``
``no-source``            has neither
``invalid-source-ref``   has a ``source-ref`` that is not an ``s3://bucket/key`` string
``invalid-source``       has a ``source`` that is not a non-empty string
``wrong-source-for-task`` has the key the task type cannot label: text task types
                         (``text-classification``, ``text-classification-multilabel``,
                         ``named-entity``) need ``source``; image task types need
                         ``source-ref``; ``free-text`` and ``numeric`` take either
``attribute-too-long``   has an attribute whose value, serialized as compact JSON
                         (``ensure_ascii=False``), exceeds 20,000 characters
``object-missing``       has a ``source-ref`` whose object does not exist (second step)
``object-forbidden``     has a ``source-ref`` whose object cannot be read (second step): outside
                         the manifest's bucket and the stage's data sources (the detail names
                         the bucket or prefix to declare), or refused by S3
======================== =================================================================

Decisions:

* **Line numbers** are 1-based and count every line, blank ones included.
* **Line endings**: ``\\n`` and ``\\r\\n``; a final line without an ending is read as a line; a
  UTF-8 byte-order mark at the start of the manifest is ignored.
* **Blank lines** (empty, or white space only) are skipped and counted (``blank``), not
  rejected: they label nothing and Ground Truth never sees them.
* **Clean lines are written verbatim**: the line's own bytes without its line ending, followed
  by ``\\n``. Attribute order, spacing and number spelling are the submitter's; only ``\\r\\n``
  becomes ``\\n``.
* **Repeated sources are kept**: every line is a data object, as in Ground Truth, so a line
  repeating the ``source-ref`` (same URI string) or the ``source`` (same text) of an earlier
  accepted line is accepted too, and counted (``ValidationSummary.repeated``) so the submitter
  can see it. Repeats are found by a 16-byte BLAKE2b digest of the value (``source-ref`` URIs
  and ``source`` texts in separate tables, so a text equal to a URI is no repeat). Holding
  digests instead of values keeps memory at about 150 bytes per distinct source whatever the
  length of the texts (see ``benchmarks/validation``). Two URIs that name the same object
  differently (``s3://b/k`` and ``s3://b//k``) are not repeats. A repeated ``source-ref`` names
  the position of its first occurrence (:attr:`SourceRef.first`), so the existence check asks
  S3 once per object and every line of a missing object is rejected.
* **Rejects** are ``{"line", "reason", "detail", "content"}``: ``reason`` is a :class:`Reason`
  value (a closed set, so the counts, a :class:`job_contracts.steps.ValidationSummary`, are kept
  by reason), ``detail`` says precisely what is wrong (which attribute, how long), ``content``
  is the first 200 characters of the line (undecodable bytes shown as U+FFFD).

Existence of referenced objects is a second step, because checking needs I/O: the validator
hands every accepted ``source-ref`` to the sink as a :class:`SourceRef`, the caller checks
each distinct object once, and :func:`remove_unavailable` re-reads
the accepted lines and turns the unavailable ones into rejects. The accepted lines of the first
step are therefore only *candidates*; the clean manifest is final after the second step (or
right away when every object exists).

Splitting: :func:`plan_chunks` cuts the clean manifest into consecutive ranges, each small
enough for one labeling job. A job's results are the union of its chunks' results.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from hashlib import blake2b
from typing import Any, Literal, NamedTuple, Protocol

from gt_contracts import SOURCE_KINDS, TASK_TYPES, ContractError, TaskType, parse_s3_uri
from job_contracts.steps import ValidationSummary
from validate_manifest.sources import ItemSources

__all__ = [
    "CONTENT_CHARS",
    "DEFAULT_MAX_OBJECTS_PER_JOB",
    "MAX_ATTRIBUTE_CHARS",
    "MAX_LINE_CHARS",
    "SEMANTIC_SEGMENTATION_MAX_OBJECTS",
    "ChunkRange",
    "ManifestRejected",
    "ManifestValidator",
    "ObjectStatus",
    "Reason",
    "Reject",
    "SourceRef",
    "UnavailableObject",
    "ValidationSink",
    "job_object_limit",
    "plan_chunks",
    "remove_unavailable",
    "validate_manifest",
]

MAX_LINE_CHARS = 100_000
MAX_ATTRIBUTE_CHARS = 20_000
CONTENT_CHARS = 200
DEFAULT_MAX_OBJECTS_PER_JOB = 100_000
SEMANTIC_SEGMENTATION_MAX_OBJECTS = 20_000

# A UTF-8 character takes at most 4 bytes, plus one byte for a "\r" before the "\n".
_MAX_LINE_BYTES = 4 * MAX_LINE_CHARS + 1
# Re-serializing a parsed value compactly never makes it more than 4.5 times longer than its
# text in the line (the worst case is a float such as 1e15 -> 1000000000000000.0), so no
# attribute of a line this short can exceed the attribute limit and the check is skipped.
_ATTRIBUTE_CHECK_FROM_CHARS = MAX_ATTRIBUTE_CHARS // 5
_BOM = b"\xef\xbb\xbf"
_DIGEST_BYTES = 16
_REMOVE_BATCH = 4096
# A fast pre-check of source-ref URIs: the same bucket rule as gt_contracts.parse_s3_uri and a
# non-empty key. A URI it does not match goes through parse_s3_uri, which decides.
_S3_URI = re.compile(r"s3://[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]/.", re.DOTALL)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Strict JSON: NaN, Infinity and -Infinity, which json.loads accepts, are refused.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
# The C scanner behind the decoder, called directly: decode() adds two white-space regex
# matches and two Python calls per line, more than the scan itself costs on a short line.
# (JSONDecoder sets it as ``self.scan_once``; the stubs do not declare the attribute.)
_scan_json: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]


class Reason(StrEnum):
    """Why a line was rejected (see the module docstring for the order of the checks)."""

    LINE_TOO_LONG = "line-too-long"
    NOT_UTF8 = "not-utf8"
    NOT_JSON = "not-json"
    NOT_AN_OBJECT = "not-an-object"
    DOLLAR_ATTRIBUTE = "dollar-attribute"
    BOTH_SOURCES = "both-sources"
    NO_SOURCE = "no-source"
    INVALID_SOURCE_REF = "invalid-source-ref"
    INVALID_SOURCE = "invalid-source"
    WRONG_SOURCE_FOR_TASK = "wrong-source-for-task"
    ATTRIBUTE_TOO_LONG = "attribute-too-long"
    OBJECT_MISSING = "object-missing"
    OBJECT_FORBIDDEN = "object-forbidden"


#: What the existence check found for a ``source-ref``: no such object, or not readable.
ObjectStatus = Literal["missing", "forbidden"]

_STATUS_REASONS: Mapping[ObjectStatus, Reason] = {
    "missing": Reason.OBJECT_MISSING,
    "forbidden": Reason.OBJECT_FORBIDDEN,
}


class ManifestRejected(Exception):
    """No line of the manifest can be labeled; the message gives the rejects file."""


@dataclass(frozen=True, slots=True)
class Reject:
    """One rejected line."""

    line: int
    reason: Reason
    detail: str
    content: str

    def to_json(self) -> bytes:
        """One compact JSON line (without ``\\n``), UTF-8 encoded."""
        record = {
            "line": self.line,
            "reason": str(self.reason),
            "detail": self.detail,
            "content": self.content,
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


class SourceRef(NamedTuple):
    """An accepted ``source-ref``: ``position`` is the 0-based position among accepted lines;
    ``first`` the position of the first accepted line with the same URI (``position`` itself
    for a first occurrence)."""

    position: int
    line: int
    uri: str
    first: int


@dataclass(frozen=True, slots=True)
class UnavailableObject:
    """A ``source-ref`` whose object the existence check could not find or read."""

    ref: SourceRef
    status: ObjectStatus


class ValidationSink(Protocol):
    """Where the validator writes; each call gets a batch in manifest order."""

    def clean(self, lines: list[bytes]) -> None:
        """Accepted lines, without line endings."""

    def reject(self, reject: Reject) -> None:
        """One rejected line."""

    def source_refs(self, refs: list[SourceRef]) -> None:
        """The ``source-ref`` of accepted lines, for the existence check."""


# SourceRef((index, line, uri, first)) without the Python-level __new__ of a NamedTuple.
_new_ref: Callable[[tuple[int, int, str, int]], SourceRef] = functools.partial(
    tuple.__new__, SourceRef
)


def _content(raw: bytes) -> str:
    return raw[: 4 * CONTENT_CHARS].decode("utf-8", "replace")[:CONTENT_CHARS]


def _compact_length(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class ManifestValidator:
    """The first step, fed chunk by chunk: ``feed(chunk)`` any number of times, then ``finish()``.

    Use :func:`validate_manifest` unless the chunks arrive by callback.

    Args:
        task_type: the project's task type; decides whether lines need ``source-ref`` or
            ``source``.
        sink: receives clean lines, rejects and ``source-ref`` URIs as soon as they are known.

    Raises:
        ValueError: an unknown task type.
    """

    def __init__(self, task_type: TaskType, sink: ValidationSink) -> None:
        if task_type not in TASK_TYPES:
            raise ValueError(f"unknown task type {task_type!r}; expected one of {TASK_TYPES}")
        kinds = SOURCE_KINDS[task_type]
        self._task_type = task_type
        self._takes_refs = "s3" in kinds
        self._takes_text = "text" in kinds
        self._sink = sink
        self._pending = b""
        self._overflow: bytes | None = None  # start of an unfinished line that is too long
        self._line = 0
        self._accepted = 0
        self._blank = 0
        self._repeated = 0
        self._by_reason: dict[str, int] = {}
        self._seen_refs: dict[bytes, int] = {}
        self._seen_texts: dict[bytes, int] = {}
        self._finished = False

    def feed(self, chunk: bytes) -> None:
        """Validate every line that ``chunk`` completes; keep the unfinished rest.

        Raises:
            RuntimeError: called after :meth:`finish`.
        """
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if not chunk:
            return
        if self._overflow is not None:
            end = chunk.find(b"\n")
            if end < 0:
                return
            self._reject_overflow(self._overflow)
            chunk = chunk[end + 1 :]
        lines = (self._pending + chunk if self._pending else chunk).split(b"\n")
        self._pending = lines.pop()
        self._check_lines(lines)
        if len(self._pending) > _MAX_LINE_BYTES:
            self._overflow, self._pending = self._pending[: 4 * CONTENT_CHARS], b""

    def finish(self) -> ValidationSummary:
        """Validate the last line (one without a line ending) and return the counts."""
        if not self._finished:
            self._finished = True
            if self._overflow is not None:
                self._reject_overflow(self._overflow)
            elif self._pending:
                lines, self._pending = [self._pending], b""
                self._check_lines(lines)
        rejected = sum(self._by_reason.values())
        return ValidationSummary(
            lines=self._accepted + rejected + self._blank,
            accepted=self._accepted,
            rejected=rejected,
            blank=self._blank,
            by_reason=dict(self._by_reason),
            repeated=self._repeated,
        )

    def _reject(self, line: int, reason: Reason, detail: str, raw: bytes) -> None:
        self._by_reason[reason.value] = self._by_reason.get(reason.value, 0) + 1
        self._sink.reject(Reject(line, reason, detail, _content(raw)))

    def _reject_overflow(self, start: bytes) -> None:
        self._line += 1
        self._overflow = None
        self._reject(
            self._line,
            Reason.LINE_TOO_LONG,
            f"line has more than {_MAX_LINE_BYTES:,} bytes, so more than "
            f"{MAX_LINE_CHARS:,} characters",
            start,
        )

    def _check_lines(self, lines: list[bytes]) -> None:
        """The hot loop: per accepted line, a decode, one C-level JSON scan, a digest."""
        scan = _scan_json
        decode = _DECODER.decode
        check = self._check_object
        clean: list[bytes] = []
        refs: list[SourceRef] = []
        seen_refs = self._seen_refs
        seen_texts = self._seen_texts
        line = self._line
        accepted = self._accepted
        for raw in lines:
            line += 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]  # noqa: PLW2901 - the line without its ending
            if line == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]  # noqa: PLW2901
            if not raw or raw.isspace():
                self._blank += 1
                continue
            if len(raw) > _MAX_LINE_BYTES:
                self._reject(
                    line,
                    Reason.LINE_TOO_LONG,
                    f"line has {len(raw):,} bytes, so more than {MAX_LINE_CHARS:,} characters",
                    raw,
                )
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                self._reject(line, Reason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start + 1}", raw)
                continue
            if len(text) > MAX_LINE_CHARS:
                self._reject(
                    line,
                    Reason.LINE_TOO_LONG,
                    f"line has {len(text):,} characters; the limit is {MAX_LINE_CHARS:,}",
                    raw,
                )
                continue
            try:
                obj, end = scan(text, 0)
                if end != len(text):
                    obj = decode(text)  # trailing white space, or extra data (raises)
            except (StopIteration, ValueError):
                try:  # leading white space is fine; anything else gets json's own message
                    obj = decode(text)
                except ValueError as exc:
                    self._reject(line, Reason.NOT_JSON, f"not JSON: {exc}", raw)
                    continue
            problem = check(obj, len(text))
            if problem is not None:
                self._reject(line, problem[0], problem[1], raw)
                continue
            uri = obj.get("source-ref")
            if uri is not None:
                digest = blake2b(uri.encode(), digest_size=_DIGEST_BYTES).digest()
                first = seen_refs.setdefault(digest, accepted)
                repeated = first != accepted
                refs.append(_new_ref((accepted, line, uri, first)))
            else:
                value = obj["source"].encode("utf-8", "surrogatepass")  # "\\ud800" is JSON
                digest = blake2b(value, digest_size=_DIGEST_BYTES).digest()
                repeated = seen_texts.setdefault(digest, line) != line
            if repeated:
                self._repeated += 1
            clean.append(raw)
            accepted += 1
        self._line = line
        self._accepted = accepted
        if clean:
            self._sink.clean(clean)
        if refs:
            self._sink.source_refs(refs)

    def _check_object(self, obj: object, chars: int) -> tuple[Reason, str] | None:
        """The shape rules for one parsed line; ``None`` when it may be labeled."""
        if type(obj) is not dict:
            return Reason.NOT_AN_OBJECT, f"a JSON {_json_type(obj)}, not an object"
        for name in obj:
            if name[:1] == "$":
                return Reason.DOLLAR_ATTRIBUTE, f"attribute name {name!r} starts with '$'"
        if "source-ref" in obj:
            if "source" in obj:
                return Reason.BOTH_SOURCES, "a line has either 'source-ref' or 'source', not both"
            uri = obj["source-ref"]
            if type(uri) is not str or not _S3_URI.match(uri):
                try:  # the fast pattern accepts a subset of what the contract parser accepts
                    parse_s3_uri(uri, field="source-ref")
                except ContractError as exc:
                    return Reason.INVALID_SOURCE_REF, str(exc)
            if not uri.isascii():
                try:
                    uri.encode()
                except UnicodeEncodeError:
                    return Reason.INVALID_SOURCE_REF, f"source-ref is not valid Unicode: {uri!r}"
            if not self._takes_refs:
                return (
                    Reason.WRONG_SOURCE_FOR_TASK,
                    f"{self._task_type} labels text: lines need 'source', not 'source-ref'",
                )
        elif "source" in obj:
            text = obj["source"]
            if not isinstance(text, str):
                return Reason.INVALID_SOURCE, f"'source' must be a string, got {_json_type(text)}"
            if not text:
                return Reason.INVALID_SOURCE, "'source' is an empty string"
            if not self._takes_text:
                return (
                    Reason.WRONG_SOURCE_FOR_TASK,
                    f"{self._task_type} labels S3 objects: lines need 'source-ref', not 'source'",
                )
        else:
            return Reason.NO_SOURCE, "a line needs 'source-ref' (an S3 URI) or 'source' (text)"
        if chars > _ATTRIBUTE_CHECK_FROM_CHARS:
            for name, value in obj.items():
                size = _compact_length(value)
                if size > MAX_ATTRIBUTE_CHARS:
                    return (
                        Reason.ATTRIBUTE_TOO_LONG,
                        f"attribute {name!r} has {size:,} characters serialized; "
                        f"the limit is {MAX_ATTRIBUTE_CHARS:,}",
                    )
        return None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


def validate_manifest(
    chunks: Iterable[bytes], task_type: TaskType, sink: ValidationSink
) -> ValidationSummary:
    """The first step over a whole manifest.

    Args:
        chunks: the manifest's bytes, in order, cut anywhere.
        task_type: the project's task type.
        sink: receives candidate clean lines, rejects and ``source-ref`` URIs.

    Returns:
        The counts. ``accepted`` lines are candidates until :func:`remove_unavailable` ran.

    Raises:
        ValueError: an unknown task type.

    Example:
        >>> class Lists:
        ...     def __init__(self): self.lines, self.rejects, self.refs = [], [], []
        ...     def clean(self, lines): self.lines += lines
        ...     def reject(self, reject): self.rejects.append(reject)
        ...     def source_refs(self, refs): self.refs += refs
        >>> sink = Lists()
        >>> data = [b'{"source-ref": "s3://bkt/a.jpg"}\\r\\n', b"\\n[1]\\n"]
        >>> validate_manifest(data, "bounding-box", sink).to_json()["byReason"]
        {'not-an-object': 1}
        >>> sink.lines, [r.line for r in sink.rejects], sink.refs[0].uri
        ([b'{"source-ref": "s3://bkt/a.jpg"}'], [3], 's3://bkt/a.jpg')
    """
    validator = ManifestValidator(task_type, sink)
    for chunk in chunks:
        validator.feed(chunk)
    return validator.finish()


def remove_unavailable(
    candidates: Iterable[bytes],
    unavailable: Iterable[UnavailableObject],
    sink: ValidationSink,
    summary: ValidationSummary,
    sources: ItemSources | None = None,
) -> ValidationSummary:
    """The second step: drop the candidate lines whose ``source-ref`` object is unavailable.

    Args:
        candidates: the clean lines of the first step, in order (a trailing ``\\n`` is
            ignored).
        unavailable: what the existence check found, keyed by :attr:`SourceRef.position`.
        sink: receives the final clean lines and one reject per unavailable object (in
            manifest order); ``source_refs`` is not called.
        summary: the first step's counts.
        sources: where the job's items may live; an ``object-forbidden`` reject then says
            which bucket or prefix to declare (:meth:`ItemSources.unavailable_detail`).

    Returns:
        The final counts.
    """
    by_index = {item.ref.position: item for item in unavailable}
    by_reason = dict(summary.by_reason or {})
    batch: list[bytes] = []
    for index, raw in enumerate(candidates):
        line = raw[:-1] if raw.endswith(b"\n") else raw
        item = by_index.get(index)
        if item is None:
            batch.append(line)
            if len(batch) >= _REMOVE_BATCH:
                sink.clean(batch)
                batch = []
            continue
        reason = _STATUS_REASONS[item.status]
        by_reason[reason.value] = by_reason.get(reason.value, 0) + 1
        if sources is not None:
            detail = sources.unavailable_detail(item.ref.uri, item.status)
        elif item.status == "missing":
            detail = f"no object at {item.ref.uri}"
        else:
            detail = f"the object at {item.ref.uri} cannot be read (access denied)"
        sink.reject(Reject(item.ref.line, reason, detail, _content(line)))
    if batch:
        sink.clean(batch)
    return replace(
        summary,
        accepted=summary.accepted - len(by_index),
        rejected=summary.rejected + len(by_index),
        by_reason=by_reason,
    )


@dataclass(frozen=True, slots=True)
class ChunkRange:
    """Clean lines ``first`` to ``first + count - 1`` (0-based), labeled as job ``index``."""

    index: int
    first: int
    count: int


def job_object_limit(max_objects_per_job: int, task_type: TaskType) -> int:
    """Objects one labeling job may hold: the configured limit, and at most 20,000 for
    semantic segmentation (a Ground Truth quota that cannot be raised)."""
    if task_type == "semantic-segmentation":
        return min(max_objects_per_job, SEMANTIC_SEGMENTATION_MAX_OBJECTS)
    return max_objects_per_job


def plan_chunks(
    accepted: int,
    max_objects_per_job: int = DEFAULT_MAX_OBJECTS_PER_JOB,
    task_type: TaskType = "image-classification",
) -> list[ChunkRange]:
    """Cut ``accepted`` clean lines into the fewest chunks within the per-job limit.

    The chunks are consecutive and as even as possible (sizes differ by at most one, larger
    ones first), so parallel jobs finish at about the same time: 100,001 lines make two jobs
    of 50,001 and 50,000, not 100,000 and 1.

    Args:
        accepted: clean lines in the manifest.
        max_objects_per_job: the per-job limit (Ground Truth's default quota is 100,000).
        task_type: the project's task type (semantic segmentation caps at 20,000).

    Returns:
        The chunks in order; empty when there are no lines.

    Raises:
        ValueError: a negative ``accepted`` or a limit below 1.

    Example:
        >>> [(c.first, c.count) for c in plan_chunks(5, 2)]
        [(0, 2), (2, 2), (4, 1)]
    """
    if accepted < 0:
        raise ValueError(f"accepted must be >= 0, got {accepted}")
    if max_objects_per_job < 1:
        raise ValueError(f"max_objects_per_job must be >= 1, got {max_objects_per_job}")
    if accepted == 0:
        return []
    chunks = math.ceil(accepted / job_object_limit(max_objects_per_job, task_type))
    size, larger = divmod(accepted, chunks)
    plan: list[ChunkRange] = []
    first = 0
    for index in range(chunks):
        count = size + (1 if index < larger else 0)
        plan.append(ChunkRange(index, first, count))
        first += count
    return plan
