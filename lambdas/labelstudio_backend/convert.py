"""Label Studio answers in the shape Ground Truth's crowd elements submit (pure).

A Label Studio annotation is a list of result regions, each ``{"from_name", "to_name",
"type", "value", ...}``. :func:`answer_content` keeps the regions of the project's control
(``from_name`` = the answer name) and returns the ``answerContent`` the project's Ground
Truth template would have submitted, keyed by the same answer name, so the consolidation
reads both backends' answers with the same code (``docs/contracts.md``, "Task types"):

========================================  ======================  ===============================
task type                                 Label Studio region     ``answerContent[<name>]``
========================================  ======================  ===============================
image/text-classification                 ``choices``             ``{"label": str}``
image/text-classification-multilabel      ``choices``             ``{"labels": [str, ...]}``
bounding-box                              ``rectanglelabels``     ``{"boundingBoxes": [{"label",
                                                                  "left", "top", "width",
                                                                  "height"}],
                                                                  "inputImageProperties":
                                                                  {"width", "height"}}``
named-entity                              ``labels``              ``{"entities": [{"label",
                                                                  "startOffset", "endOffset"}]}``
keypoint                                  ``keypointlabels``      ``{"keypoints": [{"label", "x",
                                                                  "y"}], "inputImageProperties"}``
free-text                                 ``textarea``            the text
numeric                                   ``number``              the number as a string
                                                                  (``crowd-input type=number``)
========================================  ======================  ===============================

Geometry: Label Studio stores rectangles and points in percent of the image
(``original_width``/``original_height`` on the region); Ground Truth in whole pixels from the
top-left corner, so values are scaled and rounded. A rotated rectangle has no Ground Truth
form and is refused. Text offsets: Label Studio counts UTF-16 code units (JavaScript
strings); the contract's offsets count characters (code points), so they are converted with
the task's text. Several text areas are joined with line breaks.

Semantic segmentation (``brushlabels``, run-length encoded masks) is not converted: the start
step refuses such projects (:data:`CONVERTIBLE_TASK_TYPES`).

Failure contract: an answer that cannot be converted raises :class:`ConversionError` with the
reason; the finish step then records the answer as an empty submission (``{}``), which the
consolidation turns into the item's explicit no-consensus result, and counts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gt_contracts import TaskType

__all__ = ["CONVERTIBLE_TASK_TYPES", "ConversionError", "answer_content", "utf16_to_index"]


class ConversionError(ValueError):
    """A Label Studio answer that has no Ground Truth form; the message says why."""


Region = Mapping[str, Any]


def answer_content(
    task_type: TaskType,
    regions: Sequence[Region],
    *,
    name: str,
    text: str | None = None,
) -> dict[str, Any]:
    """The ``answerContent`` of one Label Studio annotation.

    Args:
        task_type: the project's task type.
        regions: the annotation's ``result``.
        name: the answer name (the Label Studio control's ``name``, the crowd element's).
        text: the task's text, for named entities (offsets are converted with it).

    Raises:
        ConversionError: the answer has no Ground Truth form (see the module docstring).
    """
    convert = _CONVERTERS.get(task_type)
    if convert is None:
        raise ConversionError(f"task type {task_type!r} is not converted from Label Studio")
    own = [region for region in regions if region.get("from_name") == name]
    return {name: convert(own, text)}


def utf16_to_index(text: str, offset: int) -> int:
    """The character index in ``text`` of a UTF-16 code-unit ``offset``.

    Raises:
        ConversionError: the offset is outside the text or splits a surrogate pair.
    """
    if offset < 0:
        raise ConversionError(f"offset {offset} is negative")
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
        if units > offset:
            raise ConversionError(f"offset {offset} splits the character at {index}")
    if units == offset:
        return len(text)
    raise ConversionError(f"offset {offset} is past the end of the text ({units} code units)")


# -- converters -----------------------------------------------------------------------------------


def _value(region: Region) -> Mapping[str, Any]:
    value = region.get("value")
    if not isinstance(value, Mapping):
        raise ConversionError(f"region {region.get('id')!r} has no value object")
    return value


def _strings(value: Mapping[str, Any], key: str) -> list[str]:
    raw = value.get(key)
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConversionError(f"{key!r} must be a list of strings")
    return list(raw)


def _choices(regions: Sequence[Region]) -> list[str]:
    labels: list[str] = []
    for region in regions:
        for label in _strings(_value(region), "choices"):
            if label not in labels:
                labels.append(label)
    return labels


def _single(regions: Sequence[Region], _text: str | None) -> dict[str, Any]:
    labels = _choices(regions)
    if len(labels) != 1:
        raise ConversionError(f"a single-label answer needs exactly one choice, got {len(labels)}")
    return {"label": labels[0]}


def _multiple(regions: Sequence[Region], _text: str | None) -> dict[str, Any]:
    return {"labels": _choices(regions)}


def _number(value: Mapping[str, Any], key: str) -> float:
    raw = value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ConversionError(f"{key!r} must be a finite number, got {raw!r}")
    return float(raw)


def _image_size(region: Region) -> tuple[int, int]:
    width, height = region.get("original_width"), region.get("original_height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise ConversionError(
            f"region {region.get('id')!r} has no positive original_width/original_height"
        )
    return width, height


def _one_label(value: Mapping[str, Any], key: str) -> str:
    labels = _strings(value, key)
    if len(labels) != 1:
        raise ConversionError(f"a region needs exactly one label in {key!r}, got {len(labels)}")
    return labels[0]


def _sized(regions: Sequence[Region]) -> tuple[int, int] | None:
    sizes = {_image_size(region) for region in regions}
    if len(sizes) > 1:
        raise ConversionError(f"regions disagree on the image size: {sorted(sizes)}")
    return next(iter(sizes)) if sizes else None


def _boxes(regions: Sequence[Region], _text: str | None) -> dict[str, Any]:
    boxes = []
    for region in regions:
        value = _value(region)
        if value.get("rotation") not in (None, 0, 0.0):
            raise ConversionError(f"rotated rectangle {region.get('id')!r} has no pixel-box form")
        width, height = _image_size(region)
        left = round(_number(value, "x") * width / 100)
        top = round(_number(value, "y") * height / 100)
        right = round((_number(value, "x") + _number(value, "width")) * width / 100)
        bottom = round((_number(value, "y") + _number(value, "height")) * height / 100)
        boxes.append(
            {
                "label": _one_label(value, "rectanglelabels"),
                "left": left,
                "top": top,
                "width": max(right - left, 1),
                "height": max(bottom - top, 1),
            }
        )
    answer: dict[str, Any] = {"boundingBoxes": boxes}
    size = _sized(regions)
    if size is not None:
        answer["inputImageProperties"] = {"width": size[0], "height": size[1]}
    return answer


def _keypoints(regions: Sequence[Region], _text: str | None) -> dict[str, Any]:
    points = []
    for region in regions:
        value = _value(region)
        width, height = _image_size(region)
        points.append(
            {
                "label": _one_label(value, "keypointlabels"),
                "x": round(_number(value, "x") * width / 100),
                "y": round(_number(value, "y") * height / 100),
            }
        )
    answer: dict[str, Any] = {"keypoints": points}
    size = _sized(regions)
    if size is not None:
        answer["inputImageProperties"] = {"width": size[0], "height": size[1]}
    return answer


def _entities(regions: Sequence[Region], text: str | None) -> dict[str, Any]:
    if text is None:
        raise ConversionError("named entities need the task's text")
    entities = []
    for region in regions:
        value = _value(region)
        start, end = value.get("start"), value.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or start >= end:
            raise ConversionError(f"span {region.get('id')!r} needs integer start < end")
        entities.append(
            {
                "label": _one_label(value, "labels"),
                "startOffset": utf16_to_index(text, start),
                "endOffset": utf16_to_index(text, end),
            }
        )
    return {"entities": entities}


def _free_text(regions: Sequence[Region], _text: str | None) -> str:
    texts = [line for region in regions for line in _strings(_value(region), "text")]
    if not texts:
        raise ConversionError("no text was entered")
    return "\n".join(texts)


def _numeric(regions: Sequence[Region], _text: str | None) -> str:
    if len(regions) != 1:
        raise ConversionError(f"a numeric answer needs exactly one number, got {len(regions)}")
    number = _number(_value(regions[0]), "number")
    return str(int(number)) if number.is_integer() else repr(number)


_CONVERTERS: Mapping[TaskType, Callable[[Sequence[Region], str | None], Any]] = {
    "image-classification": _single,
    "text-classification": _single,
    "image-classification-multilabel": _multiple,
    "text-classification-multilabel": _multiple,
    "bounding-box": _boxes,
    "named-entity": _entities,
    "keypoint": _keypoints,
    "free-text": _free_text,
    "numeric": _numeric,
}

#: The task types whose Label Studio answers are converted (all but semantic segmentation).
CONVERTIBLE_TASK_TYPES: frozenset[TaskType] = frozenset(_CONVERTERS)
