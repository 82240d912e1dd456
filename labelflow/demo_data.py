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
from pathlib import Path

__all__ = [
    "DIGIT_LABELS",
    "DUCK_LABELS",
    "DigitImage",
    "RecordedItems",
    "digit_images",
    "duck_answers",
]

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


#: The duck set's answers as labels of the replay project ("does the image show a duck?").
DUCK_LABELS = ("no", "yes")


@dataclass(frozen=True)
class RecordedItems:
    """Items of a recorded crowd set: each item's text, true label and recorded answers."""

    truth: dict[str, str]  # item text -> true label
    answers: list[tuple[str, str, str]]  # (item text, worker, label), in the set's order


def duck_answers(root: Path, *, items: int, per_item: int) -> RecordedItems:
    """The first ``items`` items of the duck set (by id) with their first ``per_item`` answers.

    The set (``examples/crowd/duck``: 39 Mechanical Turk workers, 108 images, "does it show a
    duck?") ships its answers and gold labels, not its images, so an item's text names it.

    Raises:
        ValueError: ``items`` or ``per_item`` is out of the set's range.
    """
    import csv

    folder = root / "examples" / "crowd" / "duck"
    with (folder / "truth.csv").open(newline="") as handle:
        gold = {row["question"]: row["truth"] for row in csv.DictReader(handle)}
    by_item: dict[str, list[tuple[str, str]]] = {}
    with (folder / "answers.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            by_item.setdefault(row["question"], []).append((row["worker"], row["answer"]))
    chosen = sorted((q for q in gold if len(by_item.get(q, ())) >= per_item), key=int)
    if not 1 <= items <= len(chosen):
        raise ValueError(f"items must be from 1 to {len(chosen)}, got {items}")
    truth: dict[str, str] = {}
    answers: list[tuple[str, str, str]] = []
    for question in chosen[:items]:
        text = f"Duck set, image {question}: does it show a duck?"
        truth[text] = DUCK_LABELS[int(gold[question])]
        for worker, answer in by_item[question][:per_item]:
            answers.append((text, worker, DUCK_LABELS[int(answer)]))
    return RecordedItems(truth, answers)
