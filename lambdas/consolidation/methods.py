"""Classification methods by name, and the automatic default.

``"auto"`` (the default everywhere) is a rule on the size of the evidence, not a tuned knob:

* Dawid-Skene learns a K x K confusion matrix per worker, which takes data. When workers have
  on average at least ``max(20, 2 K^2)`` answers (skill from earlier jobs counts as
  ``prior_strength`` pseudo-answers per class), it runs
  :class:`~consolidation.dawid_skene.DawidSkene` (smoothed, with calibrated confidences): the
  method that recovers the truth best on real crowd data.
* Gold items anchor the confusion matrices however small the batch, so with gold items among
  the answers it runs Dawid-Skene too.
* With less evidence, as in a small Ground Truth batch of a new job, Dawid-Skene can overrule
  a clear majority with near-certain confidence, so it runs
  :class:`~consolidation.majority_vote.MajorityVote`, whose confidence is the honest share of
  workers who agree.
* When no item has two answers there is no agreement to learn from: it runs
  :class:`~consolidation.weighted_vote.WeightedVote`, whose confidence is each worker's prior
  accuracy when skill from earlier jobs is given (and the pool's default accuracy otherwise).

The chosen method is recorded in the result's diagnostics under ``"auto"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from consolidation._common import ConsolidationError, Label, TaskId, WorkerId, WorkerSkill
from consolidation.answers import ClassAnswers
from consolidation.classification import ClassificationResult, TiePolicy
from consolidation.dawid_skene import DawidSkene
from consolidation.majority_vote import MajorityVote
from consolidation.one_coin import OneCoinDawidSkene
from consolidation.weighted_vote import WeightedVote

__all__ = [
    "CLASSIFICATION_METHODS",
    "DEFAULT_METHOD",
    "MIN_ANSWERS_PER_WORKER",
    "AutoMethod",
    "ClassificationMethod",
    "classification_method",
]

DEFAULT_METHOD = "auto"
MIN_ANSWERS_PER_WORKER = 20


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
class AutoMethod:
    """The default: Dawid-Skene with enough evidence per worker, else a vote."""

    tie_policy: TiePolicy = "lowest_label"
    name: str = "auto"

    def choose(
        self,
        answers: ClassAnswers,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
        gold: Mapping[TaskId, Label] | None = None,
    ) -> ClassificationMethod:
        """The method the rule picks for ``answers`` (see the module docstring)."""
        overlap = answers.n_items > 0 and int(np.bincount(answers.item_idx).max()) >= 2
        if not overlap:
            return WeightedVote(tie_policy=self.tie_policy, rounds=1)
        k = answers.n_labels
        dawid_skene = DawidSkene(tie_policy=self.tie_policy)
        if gold and any(task in gold for task in answers.items):
            return dawid_skene
        with_prior = sum(1 for worker in answers.workers if prior and worker in prior)
        evidence = answers.n_answers + with_prior * dawid_skene.prior_strength * k
        if evidence / answers.n_workers >= max(MIN_ANSWERS_PER_WORKER, 2 * k * k):
            return dawid_skene
        return MajorityVote(tie_policy=self.tie_policy)

    def aggregate(
        self,
        answers: ClassAnswers,
        *,
        gold: Mapping[TaskId, Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ClassificationResult:
        method = self.choose(answers, prior, gold)
        result = method.aggregate(answers, gold=gold, prior=prior)
        return ClassificationResult(
            answers=result.answers,
            posteriors=result.posteriors,
            method=result.method,
            accuracy=result.accuracy,
            confusion=result.confusion,
            tie_policy=result.tie_policy,
            gold=result.gold,
            diagnostics={**result.diagnostics, "auto": method.name},
        )


CLASSIFICATION_METHODS: Mapping[str, type[Any]] = {
    "auto": AutoMethod,
    "majority-vote": MajorityVote,
    "weighted-vote": WeightedVote,
    "dawid-skene": DawidSkene,
    "one-coin-dawid-skene": OneCoinDawidSkene,
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
