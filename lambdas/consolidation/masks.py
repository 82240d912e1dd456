"""PNG codec for semantic-segmentation label masks.

Inside the library a mask is a 2-D ``uint8`` array of *class indices*: ``0`` is background and
``1 + k`` is ``labels[k]``. Workers' answers and Ground Truth's output carry colours instead:

* **Worker answers** (``crowd-semantic-segmentation``) hold a base64 PNG in
  ``labeledImage.pngImageData`` and the colour of each label in ``labelMappings``
  (``{"<label>": {"color": "#rrggbb"}}``). :func:`decode_label_png_base64` and
  :func:`decode_label_png` turn them into a class-index mask. RGB, RGBA, palette and greyscale
  PNGs are accepted.
* **Consolidated output** follows Ground Truth's ``internal-color-map`` convention: an indexed
  (palette) PNG whose palette index *is* the class index, index 0 being ``BACKGROUND`` in
  ``#ffffff``. :func:`encode_label_png` writes it and :func:`internal_color_map` builds the
  matching manifest metadata.

Colour rules when decoding (the worker tool's background colour is not documented, so every
colour it could plausibly produce is accepted):

* a colour listed in ``label_colors`` always means its label, even white or black;
* a fully transparent pixel (alpha 0) is background, whatever its RGB value;
* otherwise white ``#ffffff`` (Ground Truth's ``BACKGROUND``) and black ``#000000`` (a
  transparent canvas flattened without its alpha channel) are background;
* any other colour raises :class:`~consolidation._common.ConsolidationError` naming it. Partial
  transparency is ignored: a half-transparent pixel counts by its RGB colour.

Pillow is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from consolidation._common import ConsolidationError, Label, TaskId, round_confidence

__all__ = [
    "BACKGROUND_COLOR",
    "BACKGROUND_LABEL",
    "MAX_LABELS",
    "ColorSpec",
    "decode_label_png",
    "decode_label_png_base64",
    "encode_label_png",
    "internal_color_map",
]

BACKGROUND_LABEL = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
MAX_LABELS = 255
"""A class index must fit a ``uint8`` and a PNG palette (256 entries, one for background)."""

ColorSpec: TypeAlias = str | Mapping[str, str]
"""A label's colour: ``"#rrggbb"`` or the ``labelMappings`` form ``{"color": "#rrggbb"}``."""

_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_WHITE = 0xFFFFFF
_BLACK = 0x000000
_TRANSPARENT = 0xFF000000  # outside the 24-bit RGB range, so it never equals a colour
_SHOWN_UNKNOWN = 5

UInt8Mask: TypeAlias = npt.NDArray[np.uint8]


def decode_label_png_base64(
    data: str | bytes,
    label_colors: Mapping[Label, ColorSpec],
    labels: Sequence[Label],
    *,
    task_id: TaskId | None = None,
) -> UInt8Mask:
    """Decode a worker's ``labeledImage.pngImageData`` into a class-index mask.

    The documented payload is plain base64 (starting ``iVBOR``); a ``data:image/png;base64,``
    prefix and line breaks are tolerated.

    Args:
        data: the base64 text of a PNG.
        label_colors: the answer's ``labelMappings`` (see :func:`decode_label_png`).
        labels: the declared labels; ``labels[k]`` becomes pixel value ``k + 1``.
        task_id: the item, named in errors.

    Returns:
        The mask, as :func:`decode_label_png` returns it.

    Raises:
        ConsolidationError: the text is not base64, or :func:`decode_label_png` rejects the PNG.
    """
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    text = "".join(text.split())
    try:
        png = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConsolidationError(
            f"pngImageData is not valid base64 ({exc})", task_id=task_id
        ) from None
    return decode_label_png(png, label_colors, labels, task_id=task_id)


def decode_label_png(
    png: bytes,
    label_colors: Mapping[Label, ColorSpec],
    labels: Sequence[Label],
    *,
    task_id: TaskId | None = None,
) -> UInt8Mask:
    """Decode a label-mask PNG into class indices (colour rules in the module docstring).

    Args:
        png: the PNG file's bytes (RGB, RGBA, palette or greyscale).
        label_colors: label -> colour, each colour ``"#rrggbb"`` (or ``"#rgb"``) or
            ``{"color": "#rrggbb"}`` as in a ``labelMappings`` object. Labels the mask does not
            use may be missing; a mapped label outside ``labels`` is an error only if the mask
            uses its colour.
        labels: the declared labels; ``labels[k]`` becomes pixel value ``k + 1``.
        task_id: the item, named in errors.

    Returns:
        An ``H x W`` ``uint8`` array: 0 for background, ``1 + labels.index(label)`` elsewhere.

    Raises:
        ConsolidationError: not a readable PNG, a malformed or ambiguous colour map, a colour in
            the image that is neither a label's nor background (the message names it), or a
            colour mapped to an undeclared label.

    Example:
        >>> png = encode_label_png(np.array([[0, 1]], dtype=np.uint8), ["#2ca02c"])
        >>> decode_label_png(png, {"cat": {"color": "#2ca02c"}}, ["cat"]).tolist()
        [[0, 1]]
    """
    _check_labels(labels, task_id)
    position = {label: k + 1 for k, label in enumerate(labels)}
    by_code: dict[int, Label] = {}
    for label, spec in label_colors.items():
        code = _packed(_color_text(spec, label, task_id), task_id)
        other = by_code.setdefault(code, label)
        if other != label:
            raise ConsolidationError(
                f"labels {other!r} and {label!r} share the colour {_hex(code)}", task_id=task_id
            )

    rgba = _read_rgba(png, task_id)
    code_img = rgba[..., 0].astype(np.uint32) << 16
    code_img |= rgba[..., 1].astype(np.uint32) << 8
    code_img |= rgba[..., 2]
    code_img[rgba[..., 3] == 0] = _TRANSPARENT

    mask = np.zeros(code_img.shape, dtype=np.uint8)
    known = code_img == np.uint32(_TRANSPARENT)
    for code, label in by_code.items():
        hit = code_img == np.uint32(code)
        if not hit.any():
            continue
        if label not in position:
            raise ConsolidationError(
                f"colour {_hex(code)} is mapped to label {label!r}, which is not one of "
                f"{list(labels)}",
                task_id=task_id,
            )
        mask[hit] = position[label]
        known |= hit
    for code in (_WHITE, _BLACK):
        if code not in by_code:
            known |= code_img == np.uint32(code)
    if not known.all():
        unknown = np.unique(code_img[~known])
        shown = ", ".join(_hex(int(c)) for c in unknown[:_SHOWN_UNKNOWN])
        more = f" and {unknown.size - _SHOWN_UNKNOWN} more" if unknown.size > _SHOWN_UNKNOWN else ""
        mapped = {label: _hex(c) for c, label in by_code.items()}
        raise ConsolidationError(
            f"mask uses colour {shown}{more}, which is neither a label colour {mapped} "
            "nor background (transparent, #ffffff or #000000)",
            task_id=task_id,
        )
    return mask


def encode_label_png(mask: npt.NDArray[Any], colors: Sequence[str]) -> bytes:
    """Write a class-index mask as an indexed PNG in Ground Truth's colour convention.

    Palette index 0 is ``BACKGROUND`` in ``#ffffff``; index ``k + 1`` is ``colors[k]``, the
    colour of ``labels[k]``. Pixel values are written unchanged as palette indices, so the PNG
    reads back as the same class indices and displays in the label colours.

    Args:
        mask: ``H x W`` integer (or boolean) array with values in ``0 .. len(colors)``.
        colors: one ``"#rrggbb"`` per label, in label order; distinct and not ``#ffffff``.

    Returns:
        The PNG file's bytes.

    Raises:
        ConsolidationError: a mask that is not 2-D, not integer, empty or out of range; too many,
            malformed, repeated or background-coloured colours.
    """
    if len(colors) > MAX_LABELS:
        raise ConsolidationError(f"at most {MAX_LABELS} label colours, got {len(colors)}")
    palette = bytearray(b"\xff\xff\xff")
    seen = {_WHITE: BACKGROUND_LABEL}
    for k, color in enumerate(colors):
        code = _packed(color, None)
        if code in seen:
            raise ConsolidationError(
                f"colour {_hex(code)} of label index {k + 1} is already used by "
                f"{'background' if code == _WHITE else 'another label'}"
            )
        seen[code] = str(k)
        palette += bytes(((code >> 16) & 0xFF, (code >> 8) & 0xFF, code & 0xFF))
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.size == 0:
        raise ConsolidationError(f"a mask must be a non-empty 2-D array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ConsolidationError(f"a mask must hold integer class indices, got {arr.dtype}")
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high > len(colors):
        raise ConsolidationError(f"mask values must lie in 0..{len(colors)}, got {low}..{high}")

    from PIL import Image  # noqa: PLC0415  (lazy: only the PNG codec needs Pillow)

    height, width = arr.shape
    image = Image.frombytes("P", (width, height), arr.astype(np.uint8, copy=False).tobytes())
    image.putpalette(bytes(palette), "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def internal_color_map(
    labels: Sequence[Label], colors: Sequence[str], confidence: float
) -> dict[str, dict[str, Any]]:
    """Ground Truth's ``internal-color-map`` metadata matching :func:`encode_label_png`.

    Keys are palette indices as strings: ``"0"`` is ``BACKGROUND``/``#ffffff`` and ``str(k + 1)``
    is ``labels[k]``/``colors[k]``. Every class carries the same image-level ``confidence``, as
    Ground Truth writes it.

    Raises:
        ConsolidationError: ``labels`` and ``colors`` differ in length, or a colour is malformed.
    """
    if len(labels) != len(colors):
        raise ConsolidationError(
            f"{len(labels)} labels but {len(colors)} colours; give one colour per label"
        )
    score = round_confidence(confidence)
    out = {
        "0": {"class-name": BACKGROUND_LABEL, "hex-color": BACKGROUND_COLOR, "confidence": score}
    }
    for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
        out[str(k + 1)] = {
            "class-name": label,
            "hex-color": _hex(_packed(color, None)),
            "confidence": score,
        }
    return out


# -- helpers ----------------------------------------------------------------------------------


def _check_labels(labels: Sequence[Label], task_id: TaskId | None) -> None:
    if len(labels) > MAX_LABELS:
        raise ConsolidationError(f"at most {MAX_LABELS} labels, got {len(labels)}", task_id=task_id)
    if len(set(labels)) != len(labels):
        raise ConsolidationError(f"labels contain duplicates: {list(labels)}", task_id=task_id)


def _color_text(spec: ColorSpec, label: Label, task_id: TaskId | None) -> str:
    if isinstance(spec, str):
        return spec
    color = spec.get("color") if isinstance(spec, Mapping) else None
    if not isinstance(color, str):
        raise ConsolidationError(
            f"label {label!r}: expected '#rrggbb' or {{'color': '#rrggbb'}}, got {spec!r}",
            task_id=task_id,
        )
    return color


def _packed(color: str, task_id: TaskId | None) -> int:
    """``"#rrggbb"`` or ``"#rgb"`` (any case, ``#`` optional) as the integer ``0xRRGGBB``."""
    match = _HEX.fullmatch(color.strip()) if isinstance(color, str) else None
    if match is None:
        raise ConsolidationError(f"not a colour: {color!r} (expected '#rrggbb')", task_id=task_id)
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits, 16)


def _hex(code: int) -> str:
    return f"#{code:06x}"


def _read_rgba(png: bytes, task_id: TaskId | None) -> npt.NDArray[np.uint8]:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415  (lazy import, see module)

    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise ConsolidationError(
                    f"label mask must be a PNG, got {image.format}", task_id=task_id
                )
            rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    except ConsolidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ConsolidationError(
            f"label mask is not a readable PNG ({exc})", task_id=task_id
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ConsolidationError(f"label mask PNG is damaged ({exc})", task_id=task_id) from None
    if rgba.ndim != 3 or rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise ConsolidationError(f"label mask is empty (shape {rgba.shape})", task_id=task_id)
    return rgba
