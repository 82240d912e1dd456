"""Reading output manifests into typed records (pure: the caller fetches the text).

An output-manifest line is the input line plus ``<attr>`` (the label value) and
``<attr>-metadata``. :func:`read_manifests` parses the text of one or more manifest chunks
(several jobs or several intermediate files), unions them in chunk order and classifies every
line as one :class:`ManifestRecord`:

``labeled``
    a label value LabelFlow can export. Values are normalised to the shapes the consolidation
    Lambda writes (see :mod:`gt_consolidation.batch`); Ground Truth's built-in shapes are converted
    from their ``-metadata`` (``groundtruth/image-classification`` and ``text-classification``
    with a class index as a number or a numeric string, the multi-label, object-detection,
    text-span and semantic-segmentation shapes).
``no-consensus``
    the value ``{"no-consensus": true, "reason", "workers", "method"}``; ``reason`` is kept.
``failed``
    the metadata holds Ground Truth's ``failure-reason`` (for example expired tasks); the
    reason is kept.
``unlabeled``
    no label value (or Ground Truth's ``{}`` when no consolidation ran); ``reason`` says which.

Metadata spelling drift is tolerated: ``job-name``/``job_name`` (``labeling-job/<name>`` or
``<name>``), ``creation-date``/``creation_date``, ``failure-reason``/``failure_reason``, and a
``type`` in any case (``groundtruth/custom``, ``groundTruth/custom``).

Nothing is dropped: every line is kept, in order (:attr:`Manifest.lines`, what the job's
output manifest is made of), as Ground Truth keeps every input line. A line that is not a JSON
object or has neither ``source-ref`` nor ``source`` becomes an :class:`InvalidLine`; a line
repeating the ``source-ref``/``source`` of an earlier one (within or across chunks) is a record
of its own, like any other data object, and is also reported as a :class:`Duplicate`. Blank
lines are not items and are skipped. Deciding what to do with repeats, invalid lines and
failures (retry, re-label, publish anyway) is left to the caller.

The label attribute name is passed in when known; otherwise each line's is inferred from its
single ``*-metadata`` key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Duplicate",
    "InvalidLine",
    "LabelMetadata",
    "Manifest",
    "ManifestRecord",
    "SourceKey",
    "Status",
    "read_manifest",
    "read_manifests",
]

Status = Literal["labeled", "no-consensus", "failed", "unlabeled"]
SourceKey = Literal["source-ref", "source"]

_METADATA_SUFFIX = "-metadata"
_JOB_PREFIX = "labeling-job/"
_SINGLE_TYPES = frozenset(
    {
        "groundtruth/image-classification",
        "groundtruth/text-classification",
        "groundtruth/label-verification",
    }
)
_MULTI_TYPES = frozenset(
    {"groundtruth/image-classification-multilabel", "groundtruth/text-classification-multilabel"}
)


@dataclass(frozen=True, slots=True)
class LabelMetadata:
    """The ``<attr>-metadata`` object, with its spelling variants resolved.

    Attributes:
        type: ``type`` lower-cased (``"groundtruth/custom"``), or ``None``.
        job_name: the job name without a ``labeling-job/`` prefix, or ``None``.
        human_annotated: ``human-annotated`` as written (``"yes"``, ``"no"``, ``"true"``).
        creation_date: ``creation-date`` as written.
        failure_reason: Ground Truth's ``failure-reason`` for a failed object.
        raw: the object as read.
    """

    type: str | None
    job_name: str | None
    human_annotated: str | None
    creation_date: str | None
    failure_reason: str | None
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LabelMetadata:
        kind = _text(_drift(raw, "type"))
        job = _text(_drift(raw, "job-name"))
        return cls(
            type=kind.lower() if kind else None,
            job_name=job.removeprefix(_JOB_PREFIX) if job else None,
            human_annotated=_text(_drift(raw, "human-annotated")),
            creation_date=_text(_drift(raw, "creation-date")),
            failure_reason=_text(_drift(raw, "failure-reason")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """One data object of the output manifest.

    Attributes:
        chunk: index of the chunk it came from (0-based, in the order given).
        line: line number within that chunk (1-based).
        source_key: ``"source-ref"`` (an object in S3) or ``"source"`` (inline text).
        source: the URI or the text.
        label_attribute: the label attribute of the line, or ``None`` when it has none.
        status: see the module docstring.
        label: the normalised label value when ``status == "labeled"``, else ``None``.
        reason: why the object is not labeled (``None`` when it is).
        metadata: the parsed ``<attr>-metadata``, or ``None``.
        fields: the whole line as read.
    """

    chunk: int
    line: int
    source_key: SourceKey
    source: str
    label_attribute: str | None
    status: Status
    label: Mapping[str, Any] | None
    reason: str | None
    metadata: LabelMetadata | None
    fields: Mapping[str, Any]

    @property
    def value(self) -> Any:
        """The raw label value of the line (``None`` when absent)."""
        return self.fields.get(self.label_attribute) if self.label_attribute else None

    @property
    def confidence(self) -> float | None:
        """The item's confidence (top level, or in the ``consolidation`` block)."""
        if self.label is None:
            return None
        value = self.label.get("confidence")
        if value is None:
            block = self.label.get("consolidation")
            value = block.get("confidence") if isinstance(block, Mapping) else None
        return _number(value)

    @property
    def workers(self) -> int | None:
        """How many workers answered, when the value says (no-consensus values included)."""
        return _int(_consensus_field(self, "workers"))

    @property
    def method(self) -> str | None:
        """The consolidation method, when the value says."""
        return _text(_consensus_field(self, "method"))


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A later line repeating the ``source-ref``/``source`` of an earlier record (both kept)."""

    chunk: int
    line: int
    source_key: SourceKey
    source: str
    first_chunk: int
    first_line: int

    @property
    def reason(self) -> str:
        return (
            f"repeats the source of chunk {self.first_chunk} line {self.first_line} (both are kept)"
        )


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line that is not a manifest line (not JSON, not an object, or without a source)."""

    chunk: int
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """The union of one or more output-manifest chunks, in chunk order.

    Attributes:
        records: one per data object (every line that is a manifest line).
        duplicates: the records that repeat an earlier record's source.
        invalid: the lines that are not manifest lines.
        lines: every non-blank line as read, records and invalid lines alike.
    """

    records: tuple[ManifestRecord, ...]
    duplicates: tuple[Duplicate, ...] = ()
    invalid: tuple[InvalidLine, ...] = ()
    lines: tuple[str, ...] = ()

    def with_status(self, status: Status) -> tuple[ManifestRecord, ...]:
        return tuple(r for r in self.records if r.status == status)

    @property
    def labeled(self) -> tuple[ManifestRecord, ...]:
        return self.with_status("labeled")


def read_manifest(text: str | bytes, *, label_attribute: str | None = None) -> Manifest:
    """Read one output manifest (JSON Lines). See :func:`read_manifests`."""
    return read_manifests([text], label_attribute=label_attribute)


def read_manifests(
    chunks: Sequence[str | bytes], *, label_attribute: str | None = None
) -> Manifest:
    """Read and union output-manifest chunks.

    Args:
        chunks: the text of each chunk (UTF-8 when bytes), in the order to keep.
        label_attribute: the job's label attribute name; ``None`` infers it per line from the
            single ``*-metadata`` key.

    Returns:
        Every record, the repeated sources, the invalid lines and every line as read.

    Example:
        >>> m = read_manifest('{"source": "hi", "a": {"text": "x", "confidence": 1.0}, '
        ...                   '"a-metadata": {"type": "groundtruth/custom"}}')
        >>> m.records[0].status, m.records[0].label["text"]
        ('labeled', 'x')
    """
    records: list[ManifestRecord] = []
    duplicates: list[Duplicate] = []
    invalid: list[InvalidLine] = []
    lines: list[str] = []
    seen: dict[tuple[str, str], ManifestRecord] = {}
    for chunk_no, chunk in enumerate(chunks):
        text = chunk.decode("utf-8-sig") if isinstance(chunk, bytes) else chunk.lstrip("\ufeff")
        for line_no, raw_line in enumerate(text.splitlines(), start=1):
            if not raw_line.strip():
                continue
            lines.append(raw_line)
            parsed = _parse_line(raw_line, chunk_no, line_no, label_attribute)
            if isinstance(parsed, InvalidLine):
                invalid.append(parsed)
                continue
            key = (parsed.source_key, parsed.source)
            first = seen.get(key)
            if first is not None:
                duplicates.append(
                    Duplicate(
                        chunk_no, line_no, parsed.source_key, parsed.source, first.chunk, first.line
                    )
                )
            else:
                seen[key] = parsed
            records.append(parsed)
    return Manifest(tuple(records), tuple(duplicates), tuple(invalid), tuple(lines))


# -- one line -------------------------------------------------------------------------------------


def _parse_line(
    raw_line: str, chunk: int, line: int, label_attribute: str | None
) -> ManifestRecord | InvalidLine:
    try:
        fields = json.loads(raw_line)
    except ValueError as exc:
        return InvalidLine(chunk, line, f"not JSON: {exc}")
    if not isinstance(fields, dict):
        return InvalidLine(chunk, line, f"not a JSON object but {type(fields).__name__}")
    source_key: SourceKey
    if isinstance(fields.get("source-ref"), str):
        source_key = "source-ref"
    elif isinstance(fields.get("source"), str):
        source_key = "source"
    else:
        return InvalidLine(chunk, line, "no 'source-ref' or 'source' string")
    attribute = label_attribute or _infer_attribute(fields)
    if attribute is None and label_attribute is None:
        candidates = _attribute_candidates(fields)
        if len(candidates) > 1:
            return InvalidLine(
                chunk, line, f"several label attributes {candidates}; name the one to read"
            )
    raw_meta = fields.get(f"{attribute}{_METADATA_SUFFIX}") if attribute else None
    metadata = LabelMetadata.from_json(raw_meta) if isinstance(raw_meta, Mapping) else None
    value = fields.get(attribute) if attribute else None
    status, label, reason = _classify(value, metadata, attribute)
    return ManifestRecord(
        chunk=chunk,
        line=line,
        source_key=source_key,
        source=fields[source_key],
        label_attribute=attribute if attribute and (value is not None or metadata) else None,
        status=status,
        label=label,
        reason=reason,
        metadata=metadata,
        fields=fields,
    )


def _attribute_candidates(fields: Mapping[str, Any]) -> list[str]:
    return sorted(
        key.removesuffix(_METADATA_SUFFIX)
        for key in fields
        if key.endswith(_METADATA_SUFFIX) and len(key) > len(_METADATA_SUFFIX)
    )


def _infer_attribute(fields: Mapping[str, Any]) -> str | None:
    candidates = _attribute_candidates(fields)
    return candidates[0] if len(candidates) == 1 else None


def _classify(
    value: Any, metadata: LabelMetadata | None, attribute: str | None
) -> tuple[Status, dict[str, Any] | None, str | None]:
    if metadata is not None and metadata.failure_reason:
        return "failed", None, metadata.failure_reason
    if attribute is None:
        return "unlabeled", None, "no label attribute"
    if value is None:
        return "unlabeled", None, f"no {attribute!r} value"
    if isinstance(value, Mapping) and value.get("no-consensus"):
        reason = _text(value.get("reason")) or "no consensus (no reason given)"
        return "no-consensus", None, reason
    if isinstance(value, Mapping) and not value:
        ref = _text(metadata.raw.get("worker-response-ref")) if metadata else None
        detail = f" (worker responses: {ref})" if ref else ""
        return "unlabeled", None, f"empty label value, not consolidated{detail}"
    label = _normalise(value, metadata)
    if label is None:
        return "unlabeled", None, f"unreadable label value of type {type(value).__name__}"
    return "labeled", label, None


# -- normalising label values ---------------------------------------------------------------------


def _normalise(value: Any, metadata: LabelMetadata | None) -> dict[str, Any] | None:
    """The LabelFlow shape of a label value (built-in shapes converted from the metadata)."""
    kind = metadata.type if metadata else None
    meta: Mapping[str, Any] = metadata.raw if metadata else {}
    index = _int(value) if not isinstance(value, Mapping | list) else None
    if index is not None and (kind in _SINGLE_TYPES or "class-name" in meta):
        return _drop_none(
            {
                "class-name": _text(meta.get("class-name")),
                "class-id": index,
                "confidence": _number(meta.get("confidence")),
            }
        )
    if isinstance(value, list) and (kind in _MULTI_TYPES or "class-map" in meta):
        return _builtin_multilabel(value, meta)
    if isinstance(value, str) and (
        kind == "groundtruth/semantic-segmentation" or value.startswith("s3://")
    ):
        # A segmentation label under a ``-ref`` attribute is the mask's S3 URI; a custom job's
        # metadata has no colour map (LabelFlow writes it to a JSON file beside the mask).
        return _builtin_segmentation(value, meta)
    if not isinstance(value, Mapping):
        return None
    label = dict(value)
    if "class-id" in label and _int(label["class-id"]) is not None:
        label["class-id"] = _int(label["class-id"])
    if isinstance(label.get("class-ids"), list):
        label["class-ids"] = [_int(i) if _int(i) is not None else i for i in label["class-ids"]]
    if isinstance(label.get("annotations"), list):
        label["annotations"] = [_box_ids(a) for a in label["annotations"]]
    if kind == "groundtruth/object-detection" and "consolidation" not in label:
        objects = _as_list(meta.get("objects"))
        label["consolidation"] = _drop_none(
            {
                "class-map": _as_map(meta.get("class-map")),
                "objects": objects,
                "confidence": _min_confidence(_as_map(o).get("confidence") for o in objects),
            }
        )
    if kind == "groundtruth/text-span" and "consolidation" not in label:
        entities = _as_list(meta.get("entities"))
        label["consolidation"] = _drop_none(
            {
                "entities": entities,
                "confidence": _min_confidence(_as_map(e).get("confidence") for e in entities),
            }
        )
    return label


def _builtin_multilabel(value: list[Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    ids = [i for i in (_int(v) for v in value) if i is not None]
    class_map = _as_map(meta.get("class-map"))
    confidences = _as_map(meta.get("confidence-map"))
    chosen = {str(i): class_map[str(i)] for i in ids if str(i) in class_map}
    confidence_map = {str(i): confidences[str(i)] for i in ids if str(i) in confidences}
    return _drop_none(
        {
            "class-ids": ids,
            "class-map": chosen,
            "confidence-map": confidence_map,
            "confidence": _min_confidence(confidence_map.values()),
        }
    )


def _builtin_segmentation(ref: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    color_map = meta.get("internal-color-map")
    color_map = color_map if isinstance(color_map, Mapping) else {}
    confidence = _min_confidence(
        entry.get("confidence") for entry in color_map.values() if isinstance(entry, Mapping)
    )
    return _drop_none({"ref": ref, "internal-color-map": color_map, "confidence": confidence})


def _box_ids(annotation: Any) -> Any:
    if isinstance(annotation, Mapping) and _int(annotation.get("class_id")) is not None:
        return {**annotation, "class_id": _int(annotation["class_id"])}
    return annotation


def _min_confidence(values: Any) -> float | None:
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    return min(numbers) if numbers else None


def _consensus_field(record: ManifestRecord, key: str) -> Any:
    value = record.label if record.label is not None else record.value
    if not isinstance(value, Mapping):
        return None
    if key in value:
        return value[key]
    block = value.get("consolidation")
    return block.get(key) if isinstance(block, Mapping) else None


# -- small readers --------------------------------------------------------------------------------


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _drift(raw: Mapping[str, Any], key: str) -> Any:
    """``raw[key]`` under its hyphen or underscore spelling."""
    if key in raw:
        return raw[key]
    return raw.get(key.replace("-", "_"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    """An integer from a number or a numeric string (``2``, ``"2"``, ``2.0``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _drop_none(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}
