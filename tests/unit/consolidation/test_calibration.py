"""Calibration: the leave-one-out temperature and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import DawidSkene, expected_calibration_error
from consolidation.calibration import TEMPERATURE_GRID, fit_temperature
from tests.unit.consolidation.data_classification import CALIBRATION, encoded

# Two workers who are each right 90% of the time, on two labels.
_CONFUSION = np.array([[[0.9, 0.1], [0.1, 0.9]]] * 2)


def _fit(pairs: list[tuple[int, int]]) -> float:
    """Temperature for items answered by both workers; ``pairs`` are their answers per item."""
    item_idx = np.repeat(np.arange(len(pairs)), 2)
    worker_idx = np.tile([0, 1], len(pairs))
    label_idx = np.array([label for pair in pairs for label in pair])
    scores = np.full((len(pairs), 2), np.log(0.5))
    np.add.at(scores, item_idx, np.log(_CONFUSION[worker_idx, :, label_idx]))
    return fit_temperature(
        scores,
        np.log(_CONFUSION),
        _CONFUSION,
        item_idx=item_idx,
        worker_idx=worker_idx,
        label_idx=label_idx,
    )


def test_fit_temperature_keeps_posteriors_when_workers_always_agree():
    assert _fit([(0, 0), (1, 1), (0, 0), (1, 1)]) == 1.0


def test_fit_temperature_tempers_posteriors_when_workers_disagree_more_than_modelled():
    # 90%-accurate workers should disagree on 18% of items; here they disagree on half.
    tau = _fit([(0, 1), (1, 0), (0, 0), (1, 1)])

    assert tau < 1.0
    assert tau in TEMPERATURE_GRID


def test_fit_temperature_is_one_without_answers():
    empty = np.empty(0, dtype=np.intp)

    tau = fit_temperature(
        np.zeros((0, 2)),
        np.log(_CONFUSION),
        _CONFUSION,
        item_idx=empty,
        worker_idx=empty,
        label_idx=empty,
    )

    assert tau == 1.0


def test_fit_temperature_is_one_when_no_item_has_two_answers():
    tau = fit_temperature(
        np.log(np.array([[0.9, 0.1], [0.1, 0.9]])),
        np.log(_CONFUSION),
        _CONFUSION,
        item_idx=np.array([0, 1]),
        worker_idx=np.array([0, 1]),
        label_idx=np.array([0, 1]),
    )

    assert tau == 1.0


def test_fit_temperature_samples_large_inputs_and_stays_on_the_grid():
    rng = np.random.default_rng(7)
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, 2, size=(15_000, 2))]

    tau = _fit(pairs)

    assert tau in TEMPERATURE_GRID


def test_temperature_grid_spans_zero_to_one():
    assert TEMPERATURE_GRID[0] > 0
    assert TEMPERATURE_GRID[-1] == 1.0
    assert np.all(np.diff(TEMPERATURE_GRID) > 0)


def test_dawid_skene_reports_the_fitted_temperature():
    result = DawidSkene().aggregate(encoded(CALIBRATION))

    assert result.diagnostics["temperature"] in TEMPERATURE_GRID
    assert result.diagnostics["temperature"] < 1.0


@pytest.mark.parametrize(
    ("confidence", "correct", "expected"),
    [
        ([0.9, 0.9], [True, False], 0.4),
        ([0.75, 0.75, 0.75, 0.75], [True, True, True, False], 0.0),
        ([1.0, 1.0], [True, True], 0.0),
        # Bin [0.1, 0.2): confidence 0.3 vs 1 right; bin [0.8, 0.9): 1.7 vs 2 right.
        ([0.15, 0.15, 0.85, 0.85], [False, True, True, True], (0.7 + 0.3) / 4),
        # Confidence 1.0 falls in the last bin, with 0.95: 1.95 vs 1 right.
        ([0.95, 1.0], [False, True], 0.95 / 2),
        ([0.0, 0.0], [False, False], 0.0),
    ],
)
def test_expected_calibration_error_by_hand(confidence, correct, expected):
    ece = expected_calibration_error(np.array(confidence), np.array(correct))

    assert ece == pytest.approx(expected)


def test_expected_calibration_error_of_nothing_is_zero():
    assert expected_calibration_error(np.empty(0), np.empty(0, dtype=bool)) == 0.0


def test_expected_calibration_error_with_one_bin_is_the_overall_gap():
    confidence = np.array([0.2, 0.6, 0.9])
    correct = np.array([True, False, True])

    ece = expected_calibration_error(confidence, correct, bins=1)

    assert ece == pytest.approx(abs(1.7 - 2) / 3)
