"""Training-ready exports of a labeled manifest (pure: text in memory; the caller uploads).

Each format function takes the records of a :class:`~publish_results.manifest.Manifest`,
exports the ``labeled`` ones and ignores the rest; :func:`excluded_csv` lists everything that
was left out with its reason, so nothing disappears silently. :func:`build_exports` picks the
formats that fit a task type and returns every file (UTF-8 bytes) keyed by its relative path.

Formats and conventions
    ``labels.csv`` (single- and multi-label classification)
        Columns ``<source>,label,confidence,workers,method,reason`` (single label) or
        ``<source>,labels,...`` (multi-label, the labels as a JSON array in class-id order).
        ``<source>`` is ``source-ref`` or ``source`` (``source-ref|source`` when a manifest mixes
        both). Excluded items are omitted unless ``excluded="include"``, which lists them with an
        empty label and their reason.
    ``coco/annotations.json`` (bounding boxes)
        COCO detection: ``images`` ``id`` 1.. in manifest order with ``file_name`` (the S3 key),
        ``width``, ``height`` and ``source-ref``; ``categories`` ``id`` = class id + 1 (0 is left
        for background), ``name`` from the class map, ``supercategory`` ``"none"``;
        ``annotations`` ``id`` 1.. with ``bbox`` ``[x, y, w, h]`` in pixels (top-left corner),
        ``area`` ``w*h``, ``iscrowd`` 0, ``category_id`` and ``confidence``.
    ``yolo/classes.txt`` and ``yolo/labels/<key>.txt`` (bounding boxes)
        One file per image at the image's S3 key with its extension replaced by ``.txt``, one
        line ``<class id> <cx> <cy> <w> <h>`` per box, normalised by the image size, six
        decimals, the box clipped to the image first; an image without boxes gets an empty
        file. ``classes.txt`` holds one class name per line, line ``i`` naming class id ``i``.
    ``voc/Annotations/<key>.xml`` (bounding boxes)
        Pascal VOC: ``folder``, ``filename``, ``path`` (the S3 URI), ``size``
        (width/height/depth), ``segmented`` 0, and per box ``name``, ``pose`` ``Unspecified``,
        ``truncated`` 0, ``difficult`` 0 and ``bndbox`` ``xmin = left``, ``ymin = top``,
        ``xmax = left + width``, ``ymax = top + height`` (0-based pixels, as Ground Truth's).
    ``ner/train.conll`` (named entities)
        Per document a ``-DOCSTART-`` line, a blank line, then one token per line as
        ``token<TAB>start<TAB>end<TAB>tag`` and a blank line. Tokens are maximal runs of
        non-whitespace; ``start``/``end`` are their character offsets in the text (end
        exclusive). Tags are BIO: the first token overlapping an entity is ``B-<label>``, the
        following tokens overlapping it ``I-<label>``, every other token ``O``; an entity that
        covers part of a token tags the whole token.
    ``ner/spacy.json`` (named entities)
        spaCy's training list ``[[text, {"entities": [[start, end, label], ...]}], ...]`` with
        character offsets (end exclusive), sorted by start.
    ``labels.jsonl`` (free text, numbers, keypoints)
        One JSON object per labeled item: ``{<source key>: <source>, **label value}``.
    ``masks.csv`` (semantic segmentation)
        Columns ``source-ref,mask-ref,confidence,workers,method,internal-color-map`` (the colour
        map as compact JSON).
    ``builtin.manifest`` (single- and multi-label classification, bounding boxes)
        The output manifest in the layout Ground Truth's *built-in* task types write, for
        consumers that expect it: every line as in the job's output manifest, with the label
        value as the built-in type stores it (a class index; a list of class indices; ``{
        "image_size", "annotations"}``) and ``<attr>-metadata`` holding ``class-name`` and
        ``confidence`` (single label), ``class-map`` and ``confidence-map`` (multi-label),
        ``objects`` (per-box confidences) and ``class-map`` (of the image's boxes), plus ``type``
        (``groundtruth/image-classification``, ``groundtruth/text-classification``, their
        ``-multilabel`` forms, ``groundtruth/object-detection``), ``job-name``
        (``labeling-job/<name>``), ``human-annotated`` and ``creation-date``. A line without a
        label keeps no value and gets ``failure-reason`` in its metadata.
    ``excluded.csv`` (always)
        Columns ``<source>,status,reason,chunk,line`` for no-consensus, failed and unlabeled
        items, invalid lines (empty source) and items a format had to skip (an image whose
        file name an earlier image took, a repeated source included).

Entity offsets are Python string offsets into ``source``, as the consolidation Lambda writes
them. Entities that overlap an earlier one (by start, longer first) or fall outside the text
are dropped from both NER exports and reported in ``warnings``. Box exports need the image
size (``image_size`` in the label): an image without it is skipped by all three box formats
and reported as ``skipped``, as is an image whose file name collides with an earlier one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from gt_contracts import CLASSIFICATION_TASK_TYPES, MULTILABEL_TASK_TYPES, TaskType
from publish_results.manifest import Manifest, ManifestRecord

__all__ = [
    "Excluded",
    "ExportBundle",
    "ExportFiles",
    "Token",
    "bio_tags",
    "build_exports",
    "builtin_manifest",
    "classification_csv",
    "coco_json",
    "conll",
    "excluded_csv",
    "excluded_items",
    "jsonl",
    "segmentation_csv",
    "spacy_json",
    "tokenize",
    "voc_xml",
    "yolo",
]

ExcludedPolicy = Literal["omit", "include"]
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Excluded:
    """An item left out of the training exports, and why."""

    source: str
    status: str
    reason: str
    chunk: int | None
    line: int | None


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """Files of one format (relative path → text), plus what the format skipped."""

    files: dict[str, str]
    skipped: tuple[Excluded, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportBundle:
    """Every file of a task type's exports (UTF-8 bytes by relative path)."""

    files: dict[str, bytes]
    excluded: tuple[Excluded, ...]
    warnings: tuple[str, ...] = field(default=())


# -- the bundle -----------------------------------------------------------------------------------


def build_exports(
    manifest: Manifest, *, task_type: TaskType, excluded: ExcludedPolicy = "omit"
) -> ExportBundle:
    """The exports that fit ``task_type`` plus ``excluded.csv``.

    Args:
        manifest: the read manifest.
        task_type: the project's task type.
        excluded: whether ``labels.csv`` also lists excluded items (classification only).

    Returns:
        The files, everything excluded (manifest problems and items a format skipped) and
        the formats' warnings.
    """
    records = manifest.records
    parts: list[ExportFiles] = []
    if task_type in CLASSIFICATION_TASK_TYPES or task_type in MULTILABEL_TASK_TYPES:
        multi = task_type in MULTILABEL_TASK_TYPES
        parts.append(
            ExportFiles({"labels.csv": classification_csv(records, multi=multi, excluded=excluded)})
        )
        parts.append(ExportFiles({"builtin.manifest": builtin_manifest(records, task_type)}))
    elif task_type == "bounding-box":
        parts += [coco_json(records), yolo(records), voc_xml(records)]
        parts.append(ExportFiles({"builtin.manifest": builtin_manifest(records, task_type)}))
    elif task_type == "named-entity":
        parts += [conll(records), spacy_json(records)]
    elif task_type == "semantic-segmentation":
        parts.append(ExportFiles({"masks.csv": segmentation_csv(records)}))
    else:
        parts.append(ExportFiles({"labels.jsonl": jsonl(records)}))
    skipped = _unique(s for part in parts for s in part.skipped)
    everything = (*excluded_items(manifest), *skipped)
    files = {path: text for part in parts for path, text in part.files.items()}
    files["excluded.csv"] = excluded_csv(everything, _source_header(records))
    return ExportBundle(
        files={path: text.encode("utf-8") for path, text in files.items()},
        excluded=everything,
        warnings=tuple(w for part in parts for w in part.warnings),
    )


def excluded_items(manifest: Manifest) -> tuple[Excluded, ...]:
    """Every item of the manifest that no training export will contain, in manifest order."""
    out = [
        Excluded(r.source, r.status, r.reason or r.status, r.chunk, r.line)
        for r in manifest.records
        if r.status != "labeled"
    ]
    out += [Excluded("", "invalid", i.reason, i.chunk, i.line) for i in manifest.invalid]
    return tuple(out)


def excluded_csv(items: Iterable[Excluded], source_header: str = "source-ref") -> str:
    """``<source>,status,reason,chunk,line`` for every excluded item (a header at least)."""
    rows = [
        [item.source, item.status, item.reason, _cell(item.chunk), _cell(item.line)]
        for item in items
    ]
    return _csv([source_header, "status", "reason", "chunk", "line"], rows)


# -- classification -------------------------------------------------------------------------------


def classification_csv(
    records: Sequence[ManifestRecord], *, multi: bool = False, excluded: ExcludedPolicy = "omit"
) -> str:
    """The classification table (see the module docstring for the columns)."""
    rows: list[list[str]] = []
    for record in records:
        if record.status != "labeled":
            if excluded == "include":
                rows.append([record.source, "", "", _cell(record.workers), "", record.reason or ""])
            continue
        label = record.label or {}
        names = json.dumps(_multi_labels(label), ensure_ascii=False) if multi else _single(label)
        rows.append(
            [
                record.source,
                names,
                _cell(record.confidence),
                _cell(record.workers),
                record.method or "",
                "",
            ]
        )
    header = [_source_header(records), "labels" if multi else "label"]
    return _csv([*header, "confidence", "workers", "method", "reason"], rows)


def _single(label: Mapping[str, Any]) -> str:
    name = label.get("class-name")
    return str(name) if name is not None else str(label.get("class-id", ""))


def _multi_labels(label: Mapping[str, Any]) -> list[str]:
    class_map = label.get("class-map") or {}
    ids = label.get("class-ids") or []
    return [str(class_map.get(str(i), i)) for i in ids]


# -- built-in layout ------------------------------------------------------------------------------


_BUILTIN_TYPES: Mapping[str, str] = {
    "image-classification": "groundtruth/image-classification",
    "text-classification": "groundtruth/text-classification",
    "image-classification-multilabel": "groundtruth/image-classification-multilabel",
    "text-classification-multilabel": "groundtruth/text-classification-multilabel",
    "bounding-box": "groundtruth/object-detection",
}


def builtin_manifest(records: Sequence[ManifestRecord], task_type: TaskType) -> str:
    """The output manifest in the built-in task types' layout (see the module docstring)."""
    kind = _BUILTIN_TYPES[task_type]
    out = []
    for record in records:
        attribute = record.label_attribute
        line = dict(record.fields)
        if attribute is None:
            out.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
            continue
        line.pop(attribute, None)
        line.pop(f"{attribute}-metadata", None)
        metadata: dict[str, Any] = {}
        if record.status == "labeled" and record.label is not None:
            value, metadata = _builtin_value(record.label, task_type)
            line[attribute] = value
        else:
            metadata["failure-reason"] = record.reason or record.status
        described = record.metadata
        job = described.job_name if described is not None else None
        metadata.update(
            {
                "type": kind,
                "job-name": f"labeling-job/{job}" if job else None,
                "human-annotated": (described.human_annotated if described else None) or "yes",
                "creation-date": described.creation_date if described else None,
            }
        )
        line[f"{attribute}-metadata"] = {k: v for k, v in metadata.items() if v is not None}
        out.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return "".join(text + "\n" for text in out)


def _builtin_value(label: Mapping[str, Any], task_type: TaskType) -> tuple[Any, dict[str, Any]]:
    """The built-in label value and its metadata fields, from LabelFlow's label value."""
    if task_type in CLASSIFICATION_TASK_TYPES:
        return label.get("class-id"), {
            "class-name": label.get("class-name"),
            "confidence": _number(label.get("confidence")),
        }
    if task_type in MULTILABEL_TASK_TYPES:
        return list(_as_list(label.get("class-ids"))), {
            "class-map": dict(_as_map(label.get("class-map"))),
            "confidence-map": dict(_as_map(label.get("confidence-map"))),
        }
    block = _as_map(label.get("consolidation"))
    annotations = list(_as_list(label.get("annotations")))
    value = {"image_size": list(_as_list(label.get("image_size"))), "annotations": annotations}
    # As the built-in type writes it: the classes of the image's boxes only.
    present = {str(_as_map(box).get("class_id")) for box in annotations}
    class_map = {k: v for k, v in _as_map(block.get("class-map")).items() if str(k) in present}
    return value, {"objects": list(_as_list(block.get("objects"))), "class-map": class_map}


# -- bounding boxes -------------------------------------------------------------------------------


_Box = tuple[int, float, float, float, float, float | None]


@dataclass(frozen=True, slots=True)
class _Image:
    record: ManifestRecord
    path: PurePosixPath
    width: int
    height: int
    depth: int
    boxes: tuple[_Box, ...]


def _images(
    records: Sequence[ManifestRecord],
) -> tuple[list[_Image], list[Excluded], dict[int, str], list[str]]:
    """Labeled images with a size, what was skipped, the class names by id, and warnings."""
    images: list[_Image] = []
    skipped: list[Excluded] = []
    classes: dict[int, str] = {}
    taken: dict[PurePosixPath, str] = {}
    for record in records:
        if record.status != "labeled" or record.label is None:
            continue
        label = record.label
        block = _as_map(label.get("consolidation"))
        for key, name in _as_map(block.get("class-map")).items():
            if str(key).isdigit():
                classes.setdefault(int(key), str(name))
        size = _image_size(label)
        if size is None:
            skipped.append(_skip(record, "no image_size in the label; box exports need it"))
            continue
        boxes = _boxes(label, block)
        if boxes is None:
            skipped.append(_skip(record, "a box annotation lacks class_id/left/top/width/height"))
            continue
        path = _key_path(record.source)
        if path in taken and taken[path] != record.source:
            skipped.append(_skip(record, f"file name {path} already used by {taken[path]}"))
            continue
        taken[path] = record.source
        images.append(_Image(record, path, *size, boxes))
    warnings = []
    used = {b[0] for image in images for b in image.boxes}
    for missing in sorted(used - set(classes)):
        classes[missing] = f"class-{missing}"
        warnings.append(f"class id {missing} has no name in any class map; named class-{missing}")
    return images, skipped, dict(sorted(classes.items())), warnings


def _boxes(label: Mapping[str, Any], block: Mapping[str, Any]) -> tuple[_Box, ...] | None:
    """``(class id, left, top, width, height, confidence)`` per box; ``None`` if malformed."""
    objects = _as_list(block.get("objects"))
    boxes = []
    for i, raw in enumerate(_as_list(label.get("annotations"))):
        box = _as_map(raw)
        class_id = box.get("class_id")
        numbers = [_number(box.get(k)) for k in ("left", "top", "width", "height")]
        if not isinstance(class_id, int) or isinstance(class_id, bool) or class_id < 0:
            return None
        left, top, width, height = numbers
        if left is None or top is None or width is None or height is None:
            return None
        confidence = _number(_as_map(objects[i]).get("confidence")) if i < len(objects) else None
        boxes.append((class_id, left, top, width, height, confidence))
    return tuple(boxes)


def _image_size(label: Mapping[str, Any]) -> tuple[int, int, int] | None:
    sizes = _as_list(label.get("image_size"))
    size = _as_map(sizes[0]) if sizes else {}
    width, height = _number(size.get("width")), _number(size.get("height"))
    depth = _number(size.get("depth")) or 3
    if width is None or height is None or width <= 0 or height <= 0:
        return None
    return round(width), round(height), round(depth)


def coco_json(records: Sequence[ManifestRecord]) -> ExportFiles:
    """``coco/annotations.json`` (see the module docstring)."""
    images, skipped, classes, warnings = _images(records)
    doc: dict[str, Any] = {
        "info": {"description": "LabelFlow export", "version": "1.0"},
        "images": [],
        "annotations": [],
        "categories": [
            {"id": class_id + 1, "name": name, "supercategory": "none"}
            for class_id, name in classes.items()
        ],
    }
    annotation_id = 0
    for image_id, image in enumerate(images, start=1):
        doc["images"].append(
            {
                "id": image_id,
                "file_name": str(image.path),
                "width": image.width,
                "height": image.height,
                "source-ref": image.record.source,
            }
        )
        for class_id, left, top, width, height, confidence in image.boxes:
            annotation_id += 1
            doc["annotations"].append(
                {
                    "id": annotation_id,
                    "image_id": image_id,
                    "category_id": class_id + 1,
                    "bbox": [_num(left), _num(top), _num(width), _num(height)],
                    "area": _num(width * height),
                    "iscrowd": 0,
                    "confidence": confidence,
                }
            )
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    return ExportFiles({"coco/annotations.json": text}, tuple(skipped), tuple(warnings))


def yolo(records: Sequence[ManifestRecord]) -> ExportFiles:
    """``yolo/classes.txt`` and one ``yolo/labels/<key>.txt`` per image."""
    images, skipped, classes, warnings = _images(records)
    count = max(classes) + 1 if classes else 0
    files = {"yolo/classes.txt": "".join(f"{classes.get(i, f'class-{i}')}\n" for i in range(count))}
    for image in images:
        lines = []
        for class_id, left, top, width, height, _ in image.boxes:
            x0, x1 = _clip(left, image.width), _clip(left + width, image.width)
            y0, y1 = _clip(top, image.height), _clip(top + height, image.height)
            cx, cy = (x0 + x1) / 2 / image.width, (y0 + y1) / 2 / image.height
            w, h = (x1 - x0) / image.width, (y1 - y0) / image.height
            lines.append(f"{class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        files[f"yolo/labels/{image.path.with_suffix('.txt')}"] = "".join(lines)
    return ExportFiles(files, tuple(skipped), tuple(warnings))


def voc_xml(records: Sequence[ManifestRecord]) -> ExportFiles:
    """One ``voc/Annotations/<key>.xml`` per image (Pascal VOC)."""
    images, skipped, classes, warnings = _images(records)
    files = {}
    for image in images:
        root = ET.Element("annotation")
        _sub(root, "folder", str(image.path.parent) if str(image.path.parent) != "." else "")
        _sub(root, "filename", image.path.name)
        _sub(root, "path", image.record.source)
        _sub(_sub(root, "source"), "database", "LabelFlow")
        size = _sub(root, "size")
        _sub(size, "width", str(image.width))
        _sub(size, "height", str(image.height))
        _sub(size, "depth", str(image.depth))
        _sub(root, "segmented", "0")
        for class_id, left, top, width, height, _ in image.boxes:
            obj = _sub(root, "object")
            _sub(obj, "name", classes[class_id])
            _sub(obj, "pose", "Unspecified")
            _sub(obj, "truncated", "0")
            _sub(obj, "difficult", "0")
            box = _sub(obj, "bndbox")
            _sub(box, "xmin", _fmt(left))
            _sub(box, "ymin", _fmt(top))
            _sub(box, "xmax", _fmt(left + width))
            _sub(box, "ymax", _fmt(top + height))
        ET.indent(root)
        text = ET.tostring(root, encoding="unicode", xml_declaration=False)
        files[f"voc/Annotations/{image.path.with_suffix('.xml')}"] = (
            '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n"
        )
    return ExportFiles(files, tuple(skipped), tuple(warnings))


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _key_path(source: str) -> PurePosixPath:
    """The S3 key of ``source`` (or the path of another URI) as a safe relative path."""
    rest = source.split("://", 1)[1].split("/", 1)[-1] if "://" in source else source
    parts = [p for p in rest.split("/") if p not in ("", ".", "..")]
    return PurePosixPath(*parts) if parts else PurePosixPath("image")


def _clip(x: float, limit: int) -> float:
    return min(max(x, 0.0), float(limit))


# -- named entities -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """A whitespace-delimited token and its character offsets (end exclusive)."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Maximal runs of non-whitespace, with their offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def bio_tags(tokens: Sequence[Token], entities: Sequence[tuple[int, int, str]]) -> list[str]:
    """BIO tag per token for non-overlapping ``(start, end, label)`` entities."""
    tags = ["O"] * len(tokens)
    for start, end, label in entities:
        inside = False
        for i, token in enumerate(tokens):
            if token.start < end and token.end > start and tags[i] == "O":
                tags[i] = f"{'I' if inside else 'B'}-{label}"
                inside = True
    return tags


def _entities(record: ManifestRecord) -> tuple[list[tuple[int, int, str]], list[str]]:
    """The record's entities, sorted, without overlaps; warnings for what was dropped."""
    label = record.label or {}
    where = f"{record.source_key} at chunk {record.chunk} line {record.line}"
    warnings = []
    spans = []
    for raw in _as_list(_as_map(label.get("annotations")).get("entities")):
        entity = _as_map(raw)
        start, end, name = entity.get("startOffset"), entity.get("endOffset"), entity.get("label")
        if isinstance(start, int) and isinstance(end, int) and isinstance(name, str):
            spans.append((start, end, name))
        else:
            warnings.append(f"entity {raw!r} lacks label/startOffset/endOffset in {where}")
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0]), s[2]))
    kept: list[tuple[int, int, str]] = []
    for start, end, name in spans:
        if not 0 <= start < end <= len(record.source):
            warnings.append(f"entity {name!r} [{start}, {end}) is outside the text of {where}")
        elif kept and start < max(e for _, e, _ in kept):
            warnings.append(f"entity {name!r} [{start}, {end}) overlaps another in {where}")
        else:
            kept.append((start, end, name))
    return kept, warnings


def conll(records: Sequence[ManifestRecord]) -> ExportFiles:
    """``ner/train.conll`` (see the module docstring)."""
    out = io.StringIO()
    warnings: list[str] = []
    for record in records:
        if record.status != "labeled":
            continue
        entities, dropped = _entities(record)
        warnings += dropped
        tokens = tokenize(record.source)
        out.write("-DOCSTART-\t-1\t-1\tO\n\n")
        for token, tag in zip(tokens, bio_tags(tokens, entities), strict=True):
            out.write(f"{token.text}\t{token.start}\t{token.end}\t{tag}\n")
        out.write("\n")
    return ExportFiles({"ner/train.conll": out.getvalue()}, (), tuple(warnings))


def spacy_json(records: Sequence[ManifestRecord]) -> ExportFiles:
    """``ner/spacy.json``: ``[[text, {"entities": [[start, end, label], ...]}], ...]``."""
    data: list[Any] = []
    warnings: list[str] = []
    for record in records:
        if record.status != "labeled":
            continue
        entities, dropped = _entities(record)
        warnings += dropped
        data.append([record.source, {"entities": [list(e) for e in entities]}])
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return ExportFiles({"ner/spacy.json": text}, (), tuple(warnings))


# -- the rest -------------------------------------------------------------------------------------


def jsonl(records: Sequence[ManifestRecord]) -> str:
    """``labels.jsonl``: one ``{<source key>: <source>, **label}`` per labeled item."""
    return "".join(
        json.dumps({record.source_key: record.source, **(record.label or {})}, ensure_ascii=False)
        + "\n"
        for record in records
        if record.status == "labeled"
    )


def segmentation_csv(records: Sequence[ManifestRecord]) -> str:
    """``masks.csv``: an index of the consolidated mask URIs."""
    rows = []
    for record in records:
        if record.status != "labeled" or record.label is None:
            continue
        color_map = _as_map(record.label.get("internal-color-map"))
        rows.append(
            [
                record.source,
                str(record.label.get("ref", "")),
                _cell(record.confidence),
                _cell(record.workers),
                record.method or "",
                json.dumps(color_map, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            ]
        )
    header = ["source-ref", "mask-ref", "confidence", "workers", "method", "internal-color-map"]
    return _csv(header, rows)


# -- helpers --------------------------------------------------------------------------------------


def _source_header(records: Sequence[ManifestRecord]) -> str:
    keys = {r.source_key for r in records}
    return keys.pop() if len(keys) == 1 else "source-ref|source"


def _csv(header: list[str], rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _cell(value: float | int | None) -> str:
    return "" if value is None else str(value)


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 4)


def _fmt(x: float) -> str:
    return str(_num(x))


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _skip(record: ManifestRecord, reason: str) -> Excluded:
    return Excluded(record.source, "skipped", reason, record.chunk, record.line)


def _unique(items: Iterable[Excluded]) -> tuple[Excluded, ...]:
    return tuple(dict.fromkeys(items))
