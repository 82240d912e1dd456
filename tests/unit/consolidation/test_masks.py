"""The label-mask PNG codec: worker PNGs in, class indices out, Ground Truth PNGs back."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from consolidation._common import ConsolidationError
from consolidation.masks import (
    BACKGROUND_COLOR,
    decode_label_png,
    decode_label_png_base64,
    encode_label_png,
    internal_color_map,
)

LABELS = ["Bird", "Sky"]
MAPPINGS = {"Bird": {"color": "#2ca02c"}, "Sky": {"color": "#1f77b4"}}
GREEN = (0x2C, 0xA0, 0x2C)
BLUE = (0x1F, 0x77, 0xB4)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
EXPECTED = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _rgb_png(rows: list[list[tuple[int, ...]]], mode: str = "RGB") -> bytes:
    return _png(Image.fromarray(np.array(rows, dtype=np.uint8)).convert(mode))


def test_decode_label_png_reads_rgb_with_white_background() -> None:
    png = _rgb_png([[WHITE, GREEN, BLUE], [BLUE, GREEN, WHITE]])

    mask = decode_label_png(png, MAPPINGS, LABELS)

    assert mask.dtype == np.uint8
    assert mask.tolist() == EXPECTED.tolist()


def test_decode_label_png_treats_transparent_pixels_as_background() -> None:
    rows = [
        [(12, 34, 56, 0), (*GREEN, 255), (*BLUE, 255)],
        [(*BLUE, 255), (*GREEN, 128), (255, 0, 0, 0)],
    ]
    png = _png(Image.fromarray(np.array(rows, dtype=np.uint8)))

    assert decode_label_png(png, MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_reads_palette_png() -> None:
    image = Image.frombytes("P", (3, 2), bytes([0, 1, 2, 2, 1, 0]))
    image.putpalette(bytes([*BLACK, *GREEN, *BLUE]), "RGB")

    assert decode_label_png(_png(image), MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_reads_palette_png_with_transparent_entry() -> None:
    image = Image.frombytes("P", (3, 2), bytes([0, 1, 2, 2, 1, 0]))
    image.putpalette(bytes([*GREEN, *GREEN, *BLUE]), "RGB")
    image.info["transparency"] = 0  # entry 0 shares Bird's colour but is fully transparent

    assert decode_label_png(_png(image), MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_treats_black_as_background() -> None:
    png = _rgb_png([[BLACK, GREEN, BLUE], [BLUE, GREEN, BLACK]])

    assert decode_label_png(png, MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_maps_white_to_a_label_that_claims_it() -> None:
    png = _rgb_png([[WHITE, BLACK]])

    mask = decode_label_png(png, {"Snow": "#FFFFFF"}, ["Snow"])

    assert mask.tolist() == [[1, 0]]


@pytest.mark.parametrize(
    "colors",
    [
        {"Bird": "#2ca02c", "Sky": "#1f77b4"},
        {"Bird": "#2CA02C", "Sky": "1f77b4"},
        {"Bird": {"color": "#2ca02c"}, "Sky": {"color": "#1F77B4"}},
    ],
)
def test_decode_label_png_accepts_plain_and_label_mapping_colours(
    colors: dict[str, object],
) -> None:
    png = _rgb_png([[WHITE, GREEN, BLUE], [BLUE, GREEN, WHITE]])

    assert decode_label_png(png, colors, LABELS).tolist() == EXPECTED.tolist()  # type: ignore[arg-type]


def test_decode_label_png_accepts_short_hex_colours() -> None:
    png = _rgb_png([[(0xFF, 0x00, 0x00), WHITE]])

    assert decode_label_png(png, {"Red": "#f00"}, ["Red"]).tolist() == [[1, 0]]


def test_decode_label_png_uses_declared_label_order_for_indices() -> None:
    png = _rgb_png([[GREEN, BLUE]])

    mask = decode_label_png(png, MAPPINGS, ["Sky", "Bird"])

    assert mask.tolist() == [[2, 1]]


def test_decode_label_png_names_an_unknown_colour() -> None:
    png = _rgb_png([[WHITE, (0x12, 0x34, 0x56)]])

    with pytest.raises(ConsolidationError, match="#123456") as info:
        decode_label_png(png, MAPPINGS, LABELS, task_id="img-7")

    assert info.value.task_id == "img-7"


def test_decode_label_png_rejects_a_used_colour_of_an_undeclared_label() -> None:
    png = _rgb_png([[(0xD6, 0x27, 0x28)]])

    with pytest.raises(ConsolidationError, match="'Tree'"):
        decode_label_png(png, {**MAPPINGS, "Tree": "#d62728"}, LABELS)


def test_decode_label_png_ignores_an_unused_undeclared_label() -> None:
    png = _rgb_png([[GREEN, WHITE]])

    mask = decode_label_png(png, {**MAPPINGS, "Tree": "#d62728"}, LABELS)

    assert mask.tolist() == [[1, 0]]


def test_decode_label_png_rejects_two_labels_with_one_colour() -> None:
    png = _rgb_png([[GREEN]])

    with pytest.raises(ConsolidationError, match="share the colour #2ca02c"):
        decode_label_png(png, {"Bird": "#2ca02c", "Sky": "#2CA02C"}, LABELS)


@pytest.mark.parametrize("color", ["green", "#12345", "#gggggg", ""])
def test_decode_label_png_rejects_a_malformed_colour(color: str) -> None:
    with pytest.raises(ConsolidationError, match="not a colour"):
        decode_label_png(_rgb_png([[WHITE]]), {"Bird": color}, LABELS)


def test_decode_label_png_rejects_a_mapping_without_color() -> None:
    with pytest.raises(ConsolidationError, match="'Bird'"):
        decode_label_png(_rgb_png([[WHITE]]), {"Bird": {"colour": "#2ca02c"}}, LABELS)


def test_decode_label_png_rejects_a_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), WHITE).save(out, format="JPEG")

    with pytest.raises(ConsolidationError, match="must be a PNG, got JPEG"):
        decode_label_png(out.getvalue(), MAPPINGS, LABELS)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n-truncated"])
def test_decode_label_png_rejects_unreadable_bytes(data: bytes) -> None:
    with pytest.raises(ConsolidationError, match="PNG") as info:
        decode_label_png(data, MAPPINGS, LABELS, task_id="img-1")

    assert info.value.task_id == "img-1"


def test_decode_label_png_rejects_duplicate_labels() -> None:
    with pytest.raises(ConsolidationError, match="duplicates"):
        decode_label_png(_rgb_png([[WHITE]]), MAPPINGS, ["Bird", "Bird"])


def test_decode_label_png_base64_reads_the_documented_payload() -> None:
    png = _rgb_png([[WHITE, GREEN, BLUE], [BLUE, GREEN, WHITE]])
    payload = base64.b64encode(png).decode("ascii")

    assert payload.startswith("iVBOR")
    assert decode_label_png_base64(payload, MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_base64_tolerates_data_url_prefix_and_line_breaks() -> None:
    png = _rgb_png([[WHITE, GREEN, BLUE], [BLUE, GREEN, WHITE]])
    text = base64.b64encode(png).decode("ascii")
    wrapped = "data:image/png;base64," + "\n".join(
        text[i : i + 20] for i in range(0, len(text), 20)
    )

    assert decode_label_png_base64(wrapped, MAPPINGS, LABELS).tolist() == EXPECTED.tolist()


def test_decode_label_png_base64_accepts_bytes() -> None:
    png = _rgb_png([[GREEN]])

    assert decode_label_png_base64(base64.b64encode(png), MAPPINGS, LABELS).tolist() == [[1]]


def test_decode_label_png_base64_rejects_invalid_base64() -> None:
    with pytest.raises(ConsolidationError, match="not valid base64") as info:
        decode_label_png_base64("iVBOR*!", MAPPINGS, LABELS, task_id="img-2")

    assert info.value.task_id == "img-2"


def test_encode_label_png_writes_ground_truth_palette() -> None:
    png = encode_label_png(EXPECTED, ["#2ca02c", "#1f77b4"])

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.mode == "P"
        palette = image.getpalette()
        indices = np.asarray(image)
    assert palette is not None
    assert palette[:9] == [*WHITE, *GREEN, *BLUE]
    assert indices.tolist() == EXPECTED.tolist()


def test_encode_label_png_round_trips_through_decode() -> None:
    colors = ["#2ca02c", "#1f77b4"]

    png = encode_label_png(EXPECTED, colors)

    back = decode_label_png(png, dict(zip(LABELS, colors, strict=True)), LABELS)
    assert back.tolist() == EXPECTED.tolist()


def test_encode_label_png_accepts_boolean_masks() -> None:
    png = encode_label_png(np.array([[True, False]]), ["#2ca02c"])

    assert decode_label_png(png, {"Bird": "#2ca02c"}, ["Bird"]).tolist() == [[1, 0]]


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.array([[0, 3]]), r"0\.\.2, got 0\.\.3"),
        (np.array([[-1, 0]]), r"0\.\.2, got -1\.\.0"),
        (np.array([[0.0, 1.0]]), "integer"),
        (np.zeros((2, 2, 3), dtype=np.uint8), "2-D"),
        (np.zeros((0, 4), dtype=np.uint8), "2-D"),
    ],
)
def test_encode_label_png_rejects_invalid_masks(mask: np.ndarray, message: str) -> None:
    with pytest.raises(ConsolidationError, match=message):
        encode_label_png(mask, ["#2ca02c", "#1f77b4"])


@pytest.mark.parametrize(
    ("colors", "message"),
    [
        (["#ffffff"], "background"),
        (["#2ca02c", "#2CA02C"], "another label"),
        (["blue"], "not a colour"),
        (["#000001"] * 256, "at most 255"),
    ],
)
def test_encode_label_png_rejects_invalid_colours(colors: list[str], message: str) -> None:
    with pytest.raises(ConsolidationError, match=message):
        encode_label_png(np.zeros((1, 1), dtype=np.uint8), colors)


def test_internal_color_map_matches_ground_truth_metadata() -> None:
    color_map = internal_color_map(["cat"], ["#2CA02C"], 0.81234)

    assert color_map == {
        "0": {"class-name": "BACKGROUND", "hex-color": BACKGROUND_COLOR, "confidence": 0.8123},
        "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.8123},
    }


def test_internal_color_map_rejects_mismatched_lengths() -> None:
    with pytest.raises(ConsolidationError, match="1 labels but 2 colours"):
        internal_color_map(["cat"], ["#2ca02c", "#1f77b4"], 0.5)


def test_masks_import_does_not_load_pillow() -> None:
    root = Path(__file__).resolve().parents[3]
    code = "import sys, consolidation.masks; print('PIL' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root / "lambdas",
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "False"


@settings(max_examples=40, deadline=None)
@given(
    mask=arrays(
        np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 3)
    )
)
def test_encode_label_png_round_trip_preserves_any_mask(mask: np.ndarray) -> None:
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c"]
    labels = ["a", "b", "c"]

    png = encode_label_png(mask, colors)

    assert np.array_equal(
        decode_label_png(png, dict(zip(labels, colors, strict=True)), labels), mask
    )
