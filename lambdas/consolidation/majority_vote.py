"""Majority vote: the label most workers gave.

Confidence is the share of workers that gave the winning label. Gold items take their known
label. Ties follow ``tie_policy`` (``"lowest_label"``: the first tied label in vocabulary order;
``"no_consensus"``: the item is refused and the tied labels named).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from consolidation._common import Label, TaskId, WorkerId, WorkerSkill
from consolidation.answers import ClassAnswers
from consolidation.classification import (
    ClassificationResult,
    TiePolicy,
    clamp_gold,
    gold_targets,
)

__all__ = ["MajorityVote"]


@dataclass(frozen=True, kw_only=True)
class MajorityVote:
    """Unweighted majority vote.

    Example:
        >>> from consolidation import Annotation, ClassAnswers, MajorityVote
        >>> answers = ClassAnswers.from_annotations(
        ...     [Annotation("q1", "w1", "cat"), Annotation("q1", "w2", "cat"),
        ...      Annotation("q1", "w3", "dog")])
        >>> MajorityVote().aggregate(answers).outcomes()[0].value
        'cat'
    """

    tie_policy: TiePolicy = "lowest_label"
    name: str = "majority-vote"

    def aggregate(
        self,
        answers: ClassAnswers,
        *,
        gold: Mapping[TaskId, Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ClassificationResult:
        """Consolidate ``answers``; ``prior`` is accepted for a uniform interface and unused."""
        del prior
        votes = answers.votes
        totals = votes.sum(axis=1, keepdims=True)
        posteriors = votes / np.where(totals > 0, totals, 1.0)
        rows, cols = gold_targets(answers, gold)
        clamp_gold(posteriors, rows, cols)
        winners = posteriors.argmax(axis=1) if posteriors.size else np.empty(0, dtype=np.intp)
        agree = (winners[answers.item_idx] == answers.label_idx).astype(np.float64)
        right = np.bincount(answers.worker_idx, weights=agree, minlength=answers.n_workers)
        # Not in place: bincount of no answers is an integer array.
        accuracy = right / np.maximum(answers.worker_counts, 1)
        return ClassificationResult(
            answers=answers,
            posteriors=posteriors,
            method=self.name,
            accuracy=accuracy,
            tie_policy=self.tie_policy,
            gold=rows,
        )
