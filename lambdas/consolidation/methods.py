"""Classification methods by name, and the default.

``"auto"`` (the default everywhere) is :class:`~consolidation.hierarchical.
HierarchicalDawidSkene` with its shrinkage chosen per run. It replaces an earlier rule that
switched between majority vote and Dawid-Skene on the *mean* number of answers per worker, and
which failed three ways: on heavy-tailed crowds the mean hides that most workers have a handful
of answers; one gold item switched it to a full Dawid-Skene however small the batch; and skill
carried from earlier batches entered as a fixed number of pseudo-answers, so a batch of 50 items
kept falling back to a vote although its workers had hundreds of answers on record. The
hierarchical model has no switch: each worker's confusion matrix is the worker's evidence (this
run's and every earlier batch's, answer for answer) shrunk toward the pool's, and how strongly
is chosen on the run's own held-out answers. Its confidences are tempered out of sample (gold
items when there are enough, held-out answers otherwise). Majority vote and textbook
Dawid-Skene remain as named methods for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from consolidation._common import ConsolidationError, Label, TaskId, WorkerId, WorkerSkill
from consolidation.answers import ClassAnswers
from consolidation.classification import ClassificationResult
from consolidation.dawid_skene import DawidSkene
from consolidation.hierarchical import HierarchicalDawidSkene
from consolidation.majority_vote import MajorityVote
from consolidation.one_coin import OneCoinDawidSkene
from consolidation.weighted_vote import WeightedVote

__all__ = [
    "CLASSIFICATION_METHODS",
    "DEFAULT_METHOD",
    "AutoMethod",
    "ClassificationMethod",
    "classification_method",
]

DEFAULT_METHOD = "auto"


class ClassificationMethod(Protocol):
    """What every single-label classification method offers."""

    @property
    def name(self) -> str: ...

    def aggregate(
        self,
        answers: ClassAnswers,
        *,
        gold: Mapping[TaskId, Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ClassificationResult: ...


@dataclass(frozen=True, kw_only=True)
class AutoMethod(HierarchicalDawidSkene):
    """The default: hierarchical Dawid-Skene with the shrinkage chosen per run."""

    name: str = "auto"


CLASSIFICATION_METHODS: Mapping[str, type[Any]] = {
    "auto": AutoMethod,
    "majority-vote": MajorityVote,
    "weighted-vote": WeightedVote,
    "dawid-skene": DawidSkene,
    "one-coin-dawid-skene": OneCoinDawidSkene,
    "hierarchical-dawid-skene": HierarchicalDawidSkene,
}


def classification_method(
    name: str = DEFAULT_METHOD, params: Mapping[str, Any] | None = None
) -> ClassificationMethod:
    """Build a method by name with hyperparameters.

    Raises:
        ConsolidationError: an unknown method or hyperparameter, with the valid choices.
    """
    try:
        cls = CLASSIFICATION_METHODS[name]
    except KeyError:
        raise ConsolidationError(
            f"unknown method {name!r}; choose one of {sorted(CLASSIFICATION_METHODS)}"
        ) from None
    try:
        method: ClassificationMethod = cls(**dict(params or {}))
    except TypeError as exc:
        raise ConsolidationError(f"bad parameters for method {name!r}: {exc}") from None
    return method
