"""Real data for the local labeling job of ``make demo``: handwritten digits.

scikit-learn ships the UCI handwritten-digits set (1,797 scans of digits written by 43
people, 8x8 pixels of 17 grey levels) inside its wheel, so it is available offline.
:func:`digit_images` renders a sample of it as PNG images a worker can label (dark ink on a
light page, scaled up with visible pixels) and returns each image with its true digit, which
the demo keeps to itself to score the labels, never shows to workers.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

__all__ = ["DIGIT_LABELS", "DigitImage", "digit_images"]

DIGIT_LABELS = tuple(str(digit) for digit in range(10))
_SCALE = 12  # 8x8 scans become 96x96 images
_GREY_LEVELS = 16


@dataclass(frozen=True)
class DigitImage:
    """One scan: its file name, PNG bytes and true digit."""

    name: str
    png: bytes
    truth: str


def digit_images(count: int, *, seed: int = 7) -> list[DigitImage]:
    """``count`` scans drawn at random (seeded) from the digits set, rendered as PNG.

    Raises:
        ValueError: ``count`` is not between 1 and the size of the set.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    total = len(digits.target)
    if not 1 <= count <= total:
        raise ValueError(f"count must be from 1 to {total}, got {count}")
    chosen = sorted(random.Random(seed).sample(range(total), count))
    images = []
    for index in chosen:
        ink = digits.images[index]
        pixels = bytes(255 - int(value * 255 / _GREY_LEVELS) for value in ink.flatten())
        scan = Image.frombytes("L", (8, 8), pixels)
        big = scan.resize((8 * _SCALE, 8 * _SCALE), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        big.save(buffer, format="PNG")
        images.append(
            DigitImage(f"digit-{index:04d}.png", buffer.getvalue(), str(digits.target[index]))
        )
    return images
