"""Reading one worker's answer out of a form submission, per task type.

A submission (``annotationData.content`` in the consolidation payload, ``answerContent`` in a
worker-response file) is one JSON object keyed by the ``name`` of each crowd element in the
template. Templates choose those names, so the answer is found by *shape*: the single top-level
key whose value looks like the task type's answer. Other keys (comments, check boxes) are
ignored. Pass ``name=`` to read one key instead.

=====================================  ==========================================================
task type                              answer shape under ``<name>``
=====================================  ==========================================================
image/text-classification              ``{"label": str}`` (``workerComment`` etc. ignored)
image/text-classification-multilabel   ``{"labels": [str, ...]}`` (may be empty)
bounding-box                           ``{"boundingBoxes": [{label, left, top, width, height}],
                                       "inputImageProperties": {width, height}}``
semantic-segmentation                  ``{"labeledImage": {"pngImageData": b64},
                                       "labelMappings": {label: {"color": "#rrggbb"}},
                                       "inputImageProperties": {width, height}}``
named-entity                           ``{"entities": [{label, startOffset, endOffset}]}``
keypoint                               ``{"keypoints": [{label, x, y}], "inputImageProperties"}``
free-text                              a string
numeric                                a number, or a string holding one (``crowd-input``)
=====================================  ==========================================================

Decoding is defensive: the submission may be double-encoded (a JSON string holding JSON), may
come wrapped in a one-element array (the Mechanical Turk envelope), and a structured answer may
itself be a JSON string (hidden inputs filled with ``JSON.stringify``). Anything else raises
:class:`AnswerError` with a precise reason, which the consolidation Lambda reports as the item's
no-consensus reason. Labels are returned as given; checking them against the job's labels is the
caller's decision.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from gt_contracts.errors import AnswerError
from gt_contracts.projects import TaskType

__all__ = [
    "Answer",
    "AnswerBox",
    "AnswerError",
    "AnswerKeypoint",
    "AnswerSpan",
    "BoxesAnswer",
    "KeypointsAnswer",
    "SegmentationAnswer",
    "answer_from_content",
    "boxes_from_content",
    "class_label_from_content",
    "class_labels_from_content",
    "decode_content",
    "entities_from_content",
    "free_text_from_content",
    "keypoints_from_content",
    "number_from_content",
    "segmentation_from_content",
]

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DATA_URL = re.compile(r"^data:[^,]*;base64,")
_MAX_DECODE_DEPTH = 3


@dataclass(frozen=True, slots=True)
class AnswerBox:
    """A box in image pixels, top-left origin."""

    label: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class BoxesAnswer:
    """A ``crowd-bounding-box`` answer: the boxes and, when reported, the image size."""

    boxes: tuple[AnswerBox, ...]
    image_width: int | None = None
    image_height: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerSpan:
    """A labelled text span; ``end`` is exclusive."""

    label: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class AnswerKeypoint:
    """A labelled point in image pixels, top-left origin."""

    label: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class KeypointsAnswer:
    """A ``crowd-keypoint`` answer."""

    points: tuple[AnswerKeypoint, ...]
    image_width: int | None = None
    image_height: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentationAnswer:
    """A ``crowd-semantic-segmentation`` answer.

    Attributes:
        png_base64: the painted mask, base64 PNG (any ``data:`` prefix removed).
        label_colors: label name → ``#rrggbb`` colour used in the PNG.
        image_width, image_height: the image size, when reported.
    """

    png_base64: str
    label_colors: Mapping[str, str] = field(default_factory=dict)
    image_width: int | None = None
    image_height: int | None = None


Answer: TypeAlias = (
    str
    | frozenset[str]
    | BoxesAnswer
    | tuple[AnswerSpan, ...]
    | KeypointsAnswer
    | SegmentationAnswer
    | int
    | float
)


# -- decoding ----------------------------------------------------------------------------------


def decode_content(raw: object) -> dict[str, Any]:
    """The submission as a JSON object.

    Accepts the ``content`` string, bytes, or an already decoded object; decodes JSON strings
    up to three levels deep and unwraps a one-element array.

    Raises:
        AnswerError: not JSON, or JSON that is not an object.
    """
    value = raw
    for depth in range(_MAX_DECODE_DEPTH):
        if isinstance(value, bytes | bytearray):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise AnswerError("content is not UTF-8 text") from None
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            if depth > 0:  # a JSON string that holds plain text, not more JSON
                break
            raise AnswerError(f"content is not JSON ({exc.msg} at position {exc.pos})") from None
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
        value = value[0]
    if not isinstance(value, Mapping):
        raise AnswerError(f"content is a JSON {_kind(value)}, not an object")
    return dict(value)


# -- per task type ------------------------------------------------------------------------------


def class_label_from_content(content: Mapping[str, Any], *, name: str | None = None) -> str:
    """The chosen class of a ``crowd-classifier``/``crowd-image-classifier`` answer.

    Raises:
        AnswerError: no (or several) ``{"label": str}`` answers, or an empty/non-string label.

    Example:
        >>> class_label_from_content({"sentiment": {"label": "positive"}, "note": "clear"})
        'positive'
    """
    key, answer = _find_structured(content, "label", name)
    return _text(answer.get("label"), f"{key}.label")


def class_labels_from_content(
    content: Mapping[str, Any], *, name: str | None = None
) -> frozenset[str]:
    """The chosen classes of a multi-select classifier answer (possibly none).

    Raises:
        AnswerError: no (or several) ``{"labels": [...]}`` answers, or a non-string label.
    """
    key, answer = _find_structured(content, "labels", name)
    labels = _list(answer.get("labels"), f"{key}.labels")
    return frozenset(_text(label, f"{key}.labels[{i}]") for i, label in enumerate(labels))


def boxes_from_content(content: Mapping[str, Any], *, name: str | None = None) -> BoxesAnswer:
    """A ``crowd-bounding-box`` answer (possibly no boxes).

    Raises:
        AnswerError: no (or several) ``{"boundingBoxes": [...]}`` answers, a box without a
            label, a non-numeric or non-positive size, or a bad ``inputImageProperties``.
    """
    key, answer = _find_structured(content, "boundingBoxes", name)
    boxes = []
    for i, raw in enumerate(_list(answer.get("boundingBoxes"), f"{key}.boundingBoxes")):
        at = f"{key}.boundingBoxes[{i}]"
        box = _mapping(raw, at)
        width = _number(box.get("width"), f"{at}.width")
        height = _number(box.get("height"), f"{at}.height")
        if width <= 0 or height <= 0:
            raise AnswerError(f"{at} must have a positive size, got {width} x {height}")
        boxes.append(
            AnswerBox(
                label=_text(box.get("label"), f"{at}.label"),
                left=_number(box.get("left"), f"{at}.left"),
                top=_number(box.get("top"), f"{at}.top"),
                width=width,
                height=height,
            )
        )
    image_width, image_height = _image_size(answer, key)
    return BoxesAnswer(tuple(boxes), image_width, image_height)


def entities_from_content(
    content: Mapping[str, Any], *, name: str | None = None
) -> tuple[AnswerSpan, ...]:
    """A ``crowd-entity-annotation`` answer (possibly no entities).

    Raises:
        AnswerError: no (or several) ``{"entities": [...]}`` answers, or an entity without a
            label or with offsets that are not integers ``0 <= start < end``.
    """
    key, answer = _find_structured(content, "entities", name)
    spans = []
    for i, raw in enumerate(_list(answer.get("entities"), f"{key}.entities")):
        at = f"{key}.entities[{i}]"
        entity = _mapping(raw, at)
        start = _integer(entity.get("startOffset"), f"{at}.startOffset")
        end = _integer(entity.get("endOffset"), f"{at}.endOffset")
        if not 0 <= start < end:
            raise AnswerError(f"{at} has offsets {start}..{end}; need 0 <= start < end")
        spans.append(AnswerSpan(_text(entity.get("label"), f"{at}.label"), start, end))
    return tuple(spans)


def keypoints_from_content(
    content: Mapping[str, Any], *, name: str | None = None
) -> KeypointsAnswer:
    """A ``crowd-keypoint`` answer (possibly no points).

    Raises:
        AnswerError: no (or several) ``{"keypoints": [...]}`` answers, or a point without a
            label or with non-numeric coordinates.
    """
    key, answer = _find_structured(content, "keypoints", name)
    points = []
    for i, raw in enumerate(_list(answer.get("keypoints"), f"{key}.keypoints")):
        at = f"{key}.keypoints[{i}]"
        point = _mapping(raw, at)
        points.append(
            AnswerKeypoint(
                label=_text(point.get("label"), f"{at}.label"),
                x=_number(point.get("x"), f"{at}.x"),
                y=_number(point.get("y"), f"{at}.y"),
            )
        )
    width, height = _image_size(answer, key)
    return KeypointsAnswer(tuple(points), width, height)


def segmentation_from_content(
    content: Mapping[str, Any], *, name: str | None = None
) -> SegmentationAnswer:
    """A ``crowd-semantic-segmentation`` answer.

    Raises:
        AnswerError: no (or several) ``{"labeledImage": ...}`` answers, no PNG data, or a
            ``labelMappings`` entry without a ``#rrggbb`` colour.
    """
    key, answer = _find_structured(content, "labeledImage", name)
    image = _mapping(answer.get("labeledImage"), f"{key}.labeledImage")
    png = _text(image.get("pngImageData"), f"{key}.labeledImage.pngImageData")
    png = _DATA_URL.sub("", png, count=1)
    colors: dict[str, str] = {}
    mappings = answer.get("labelMappings")
    if mappings is not None:
        for label, entry in _mapping(mappings, f"{key}.labelMappings").items():
            at = f"{key}.labelMappings[{label!r}]"
            color = _text(_mapping(entry, at).get("color"), f"{at}.color")
            if not _HEX_COLOR.match(color):
                raise AnswerError(f"{at}.color must be '#rrggbb', got {color!r}")
            colors[label] = color.lower()
    width, height = _image_size(answer, key)
    return SegmentationAnswer(png, colors, width, height)


def free_text_from_content(content: Mapping[str, Any], *, name: str | None = None) -> str:
    """A free-text answer (``crowd-input``, ``crowd-text-area``, ``<textarea>``).

    Raises:
        AnswerError: no string answer, or several string answers and no ``name`` to choose.
    """
    if name is not None:
        value = _named(content, name)
        if not isinstance(value, str):
            raise AnswerError(f"{name!r} must be a string, got {_kind(value)}")
        return value
    found = {k: v for k, v in content.items() if isinstance(v, str)}
    return found[_single(content, list(found), "a string")]


def number_from_content(content: Mapping[str, Any], *, name: str | None = None) -> int | float:
    """A numeric answer: a JSON number, or a string holding one (``crowd-input`` sends text).

    Whole numbers given as integers (``4``, ``"4"``) come back as ``int``, others as ``float``.

    Raises:
        AnswerError: no numeric answer, several, or a non-finite number.
    """
    if name is not None:
        value = _numeric(_named(content, name))
        if value is None:
            raise AnswerError(f"{name!r} must be a finite number")
        return value
    found = {k: n for k, v in content.items() if (n := _numeric(v)) is not None}
    return found[_single(content, list(found), "a number")]


_EXTRACTORS: Mapping[TaskType, Callable[..., Answer]] = {
    "image-classification": class_label_from_content,
    "text-classification": class_label_from_content,
    "image-classification-multilabel": class_labels_from_content,
    "text-classification-multilabel": class_labels_from_content,
    "bounding-box": boxes_from_content,
    "semantic-segmentation": segmentation_from_content,
    "named-entity": entities_from_content,
    "free-text": free_text_from_content,
    "numeric": number_from_content,
    "keypoint": keypoints_from_content,
}


def answer_from_content(
    task_type: TaskType, content: Mapping[str, Any], *, name: str | None = None
) -> Answer:
    """The answer for ``task_type``; see the module table for what each returns.

    Raises:
        AnswerError: as the task type's extractor.
        KeyError: an unknown task type.
    """
    return _EXTRACTORS[task_type](content, name=name)


# -- helpers --------------------------------------------------------------------------------------


def _find_structured(
    content: Mapping[str, Any], marker: str, name: str | None
) -> tuple[str, Mapping[str, Any]]:
    """The ``(key, value)`` whose value is an object holding ``marker``."""
    what = f"an object with {marker!r}"
    if name is not None:
        value = _as_object(_named(content, name))
        if value is None or marker not in value:
            raise AnswerError(f"answer {name!r} is not {what}")
        return name, value
    found = {}
    for key, raw in content.items():
        value = _as_object(raw)
        if value is not None and marker in value:
            found[key] = value
    key = _single(content, list(found), what)
    return key, found[key]


def _single(content: Mapping[str, Any], keys: list[str], what: str) -> str:
    if not keys:
        raise AnswerError(f"no top-level answer is {what} (keys: {sorted(map(str, content))})")
    if len(keys) > 1:
        raise AnswerError(
            f"several top-level answers are {what}: {sorted(keys)}; name the one to read"
        )
    return keys[0]


def _named(content: Mapping[str, Any], name: str) -> Any:
    if name not in content:
        raise AnswerError(f"no answer named {name!r} (keys: {sorted(map(str, content))})")
    return content[name]


def _as_object(value: object) -> Mapping[str, Any] | None:
    """``value`` as an object, decoding a JSON string that holds one."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, Mapping) else None


def _mapping(value: object, at: str) -> Mapping[str, Any]:
    obj = _as_object(value)
    if obj is None:
        raise AnswerError(f"{at} must be an object, got {_kind(value)}")
    return obj


def _list(value: object, at: str) -> list[Any]:
    if not isinstance(value, list):
        raise AnswerError(f"{at} must be a list, got {_kind(value)}")
    return value


def _text(value: object, at: str) -> str:
    if not isinstance(value, str) or not value:
        raise AnswerError(f"{at} must be a non-empty string, got {_kind(value)}")
    return value


def _number(value: object, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnswerError(f"{at} must be a finite number, got {_kind(value)}")
    return float(value)


def _integer(value: object, at: str) -> int:
    number = _number(value, at)
    if not number.is_integer():
        raise AnswerError(f"{at} must be an integer, got {number}")
    return int(number)


def _numeric(value: object) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def _image_size(answer: Mapping[str, Any], key: str) -> tuple[int | None, int | None]:
    raw = answer.get("inputImageProperties")
    if raw is None:
        return None, None
    at = f"{key}.inputImageProperties"
    props = _mapping(raw, at)
    width = _integer(props.get("width"), f"{at}.width")
    height = _integer(props.get("height"), f"{at}.height")
    if width <= 0 or height <= 0:
        raise AnswerError(f"{at} must be positive, got {width} x {height}")
    return width, height


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "empty string" if not value else "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__
