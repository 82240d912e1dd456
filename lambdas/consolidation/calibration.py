"""Calibration of classification confidences.

Dawid-Skene posteriors assume workers err independently given the truth, which real crowds do
not (hard items fool several workers at once), so raw posteriors are over-confident.
:func:`fit_temperature` corrects this without gold labels: it scales the log-posterior scores
by a temperature ``tau`` in (0, 1] chosen to best predict each worker's answer from the *other*
answers on the item (leave-one-answer-out predictive likelihood). Scaling all scores by the same
positive factor never changes the winning label, only how sure the method claims to be.

:func:`expected_calibration_error` measures the result against known truth.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["TEMPERATURE_GRID", "expected_calibration_error", "fit_temperature"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

TEMPERATURE_GRID = np.linspace(0.05, 1.0, 39)
_MAX_SAMPLE = 20_000


def fit_temperature(
    scores: FloatArray,
    log_confusion: FloatArray,
    confusion: FloatArray,
    *,
    item_idx: IntArray,
    worker_idx: IntArray,
    label_idx: IntArray,
) -> float:
    """Temperature that best predicts held-out answers.

    Args:
        scores: ``[item, label]`` log joint scores (log prior + summed log confusion).
        log_confusion, confusion: ``[worker, true, given]``.
        item_idx, worker_idx, label_idx: the answers.

    Returns:
        ``tau`` from :data:`TEMPERATURE_GRID`; 1.0 when there is nothing to learn from (no item
        with two or more answers). At most 20,000 answers, evenly spaced, are used.
    """
    n_answers = item_idx.shape[0]
    if n_answers == 0:
        return 1.0
    answers_per_item = np.bincount(item_idx, minlength=scores.shape[0])
    usable = np.flatnonzero(answers_per_item[item_idx] >= 2)
    if usable.size == 0:
        return 1.0
    if usable.size > _MAX_SAMPLE:
        usable = usable[np.linspace(0, usable.size - 1, _MAX_SAMPLE).astype(np.intp)]
    ii, ww, gg = item_idx[usable], worker_idx[usable], label_idx[usable]
    k = scores.shape[1]
    cell = ww * k + gg
    # Class-major [true, answer] arrays, so every reduction below runs across whole rows.
    held_out = np.stack([scores[:, t][ii] - log_confusion[:, t, :].ravel()[cell] for t in range(k)])
    likelihood_of_answer = np.stack([confusion[:, t, :].ravel()[cell] for t in range(k)])
    held_out -= held_out.max(axis=0)
    best_tau, best_ll = 1.0, -np.inf
    for tau in TEMPERATURE_GRID:
        post = np.exp(tau * held_out)
        predicted = (post * likelihood_of_answer).sum(axis=0) / post.sum(axis=0)
        ll = float(np.log(np.maximum(predicted, 1e-300)).sum())
        if ll > best_ll:
            best_tau, best_ll = float(tau), ll
    return best_tau


def expected_calibration_error(
    confidence: FloatArray, correct: npt.NDArray[np.bool_], bins: int = 10
) -> float:
    """Expected calibration error: the bin-weighted gap between confidence and accuracy.

    Args:
        confidence: confidence of each prediction, in [0, 1].
        correct: whether each prediction was right.
        bins: number of equal-width confidence bins.

    Example:
        >>> import numpy as np
        >>> round(expected_calibration_error(np.array([0.9, 0.9]), np.array([True, False])), 2)
        0.4
    """
    if confidence.size == 0:
        return 0.0
    which = np.minimum((confidence * bins).astype(np.intp), bins - 1)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    right_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    return float(np.abs(conf_sum - right_sum).sum() / confidence.size)
