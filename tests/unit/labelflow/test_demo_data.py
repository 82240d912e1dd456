"""The demo's handwritten-digit images."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from labelflow.demo_data import DIGIT_LABELS, digit_images


def test_digits_are_real_pngs_with_their_true_digit() -> None:
    images = digit_images(20, seed=3)
    assert len(images) == 20
    assert len({image.name for image in images}) == 20
    assert {image.truth for image in images} <= set(DIGIT_LABELS)
    with Image.open(io.BytesIO(images[0].png)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (96, 96)
        # dark ink on a light page: both extremes appear
        assert picture.mode == "L"
        darkest, lightest = picture.getextrema()
        assert isinstance(darkest, int)
        assert isinstance(lightest, int)
        assert darkest < 64
        assert lightest > 192


def test_the_sample_repeats_with_its_seed_and_changes_without() -> None:
    assert [i.name for i in digit_images(5, seed=1)] == [i.name for i in digit_images(5, seed=1)]
    assert [i.name for i in digit_images(5, seed=1)] != [i.name for i in digit_images(5, seed=2)]


@pytest.mark.parametrize("count", [0, 1798])
def test_a_count_outside_the_set_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="count must be from 1 to 1797"):
        digit_images(count)


def test_duck_answers_are_the_recorded_answers_of_the_first_items() -> None:
    from labelflow.demo_data import DUCK_LABELS, duck_answers
    from labelflow.local.up import REPO_ROOT

    recorded = duck_answers(REPO_ROOT, items=5, per_item=3)

    assert len(recorded.truth) == 5
    assert len(recorded.answers) == 15
    assert set(recorded.truth.values()) <= set(DUCK_LABELS)
    for text in recorded.truth:
        workers = [worker for item, worker, _ in recorded.answers if item == text]
        assert len(workers) == len(set(workers)) == 3  # three different people per item
    with pytest.raises(ValueError, match="items must be from 1 to 108"):
        duck_answers(REPO_ROOT, items=500, per_item=3)
