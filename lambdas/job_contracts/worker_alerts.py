"""Catching bad workers early: which workers to flag mid-job, and the record of a flag (pure).

A project with a ``worker_alert`` (:class:`gt_contracts.WorkerAlert`) asks to hear, while a
labeling job runs, about workers whose accuracy is below ``min_accuracy``. After each
consolidation batch, every worker who answered in it is judged on the project's current skill
(:func:`current_skill`: the skill carried from earlier jobs and this job's other batches, plus
this batch, combined as Publish combines them, :func:`job_contracts.skills.combine_records`).

Enough evidence. An accuracy estimate from a few answers is noisy: a fair worker who misses 3
of their first 5 items reads 0.4. So a worker is flagged (:func:`flag_workers`) only when

* they have at least ``min_answers`` answers, and
* even the optimistic end of the estimate is below the threshold: the upper bound of the
  one-sided :data:`CONFIDENCE` (95%) Wilson score interval for a proportion ``a`` observed
  over ``n`` answers (:func:`accuracy_upper_bound`)::

      (a + z²/2n + z·sqrt(a(1-a)/n + z²/4n²)) / (1 + z²/n),   z = Φ⁻¹(CONFIDENCE)

  With ``a = 0.41`` over 57 answers the bound is 0.52, so a threshold of 0.6 flags; over 10
  answers it is 0.66, and nobody is flagged yet.

The estimate is the consolidation method's (an EM posterior for classification, an agreement
score for the other task types), not a count of right answers, so the bound treats it as if it
were one: an approximation, on the cautious side where the method already shrinks a worker
with few answers towards the crowd.

Once per labeling job. A flag is recorded as :class:`FlaggedWorker` at
:func:`job_contracts.layout.alert_key` (written only if absent, so a retried or concurrent
batch does not announce a worker twice); the same document is the detail of the
:data:`WORKER_FLAGGED` event and the notification. It carries ids and figures only, never an
answer.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal, get_args

from gt_contracts import ContractError
from job_contracts.skills import SkillRecord, combine_records

__all__ = [
    "ALERT_KIND",
    "CONFIDENCE",
    "REMOVAL_OUTCOMES",
    "WORKER_FLAGGED",
    "FlaggedWorker",
    "RemovalOutcome",
    "WorkerFlag",
    "accuracy_upper_bound",
    "current_skill",
    "flag_workers",
]

#: The one-sided confidence of the accuracy bound a flag needs.
CONFIDENCE = 0.95
#: The ``detail-type`` of the event put on the default bus (``source: labelflow``).
WORKER_FLAGGED = "LabelFlow Worker Flagged"
#: The ``kind`` message attribute of the notification.
ALERT_KIND = "worker-flagged"

#: What became of a flagged worker on Label Studio: taken off the job's project or out of the
#: organization; ``"unsupported"``, the server has no project membership (Community Edition);
#: ``"failed"``, Label Studio refused or could not be reached (the log says why).
RemovalOutcome = Literal[
    "removed-from-project", "removed-from-organization", "unsupported", "failed"
]
REMOVAL_OUTCOMES: tuple[RemovalOutcome, ...] = get_args(RemovalOutcome)

_REMOVAL_TEXT: Mapping[str, str] = {
    "removed-from-project": "taken off the Label Studio project",
    "removed-from-organization": "taken out of the Label Studio organization",
    "unsupported": "kept: this Label Studio has no project membership",
    "failed": "removal failed",
}


def accuracy_upper_bound(accuracy: float, answers: int, *, confidence: float = CONFIDENCE) -> float:
    """The upper end of the one-sided Wilson score interval of ``accuracy`` over ``answers``.

    Args:
        accuracy: the estimate, in [0, 1].
        answers: how many answers it rests on; none gives 1.0 (nothing is known).
        confidence: the one-sided confidence, in (0, 1).

    Raises:
        ValueError: an accuracy outside [0, 1] or a confidence outside (0, 1).

    Example:
        >>> round(accuracy_upper_bound(0.41, 57), 3), round(accuracy_upper_bound(0.41, 10), 3)
        (0.519, 0.657)
    """
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if answers <= 0:
        return 1.0
    z = NormalDist().inv_cdf(confidence)
    n, z2 = float(answers), z * z
    centre = accuracy + z2 / (2 * n)
    spread = z * math.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n))
    return min(1.0, max(accuracy, (centre + spread) / (1 + z2 / n)))  # rounding aside


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerFlag:
    """Why one worker is flagged: the estimate, its evidence and the bar it failed.

    Attributes:
        worker_id: the worker (Ground Truth's ``workerId``; ``labelstudio.<user id>``).
        accuracy: the estimated accuracy.
        answers: the answers it rests on.
        upper_bound: the optimistic end of the estimate (:func:`accuracy_upper_bound`).
        threshold: the project's ``min_accuracy``.
        min_answers: the project's ``min_answers``.
    """

    worker_id: str
    accuracy: float
    answers: int
    upper_bound: float
    threshold: float
    min_answers: int

    def sentence(self) -> str:
        """``worker w7 flagged: accuracy 0.41 over 57 answers, below 0.60``."""
        return (
            f"worker {self.worker_id} flagged: accuracy {self.accuracy:.2f} over "
            f"{self.answers} answers, below {self.threshold:.2f}"
        )


def current_skill(
    carried: Mapping[str, SkillRecord] | None, batch: Iterable[SkillRecord]
) -> dict[str, SkillRecord]:
    """The current skill of each worker of ``batch``: carried skill and the batch combined.

    Args:
        carried: the project's skill before this batch (the skill store's).
        batch: this batch's estimates, one per worker.
    """
    known = carried or {}
    combined: dict[str, SkillRecord] = {}
    for record in batch:
        earlier = known.get(record.worker_id)
        combined[record.worker_id] = (
            record if earlier is None else combine_records([earlier, record])
        )
    return combined


def flag_workers(
    skills: Mapping[str, SkillRecord],
    *,
    min_accuracy: float,
    min_answers: int,
    already: Collection[str] = (),
    confidence: float = CONFIDENCE,
) -> list[WorkerFlag]:
    """The workers to flag, by worker id (see the module docstring for the rule).

    Args:
        skills: each worker's current skill (:func:`current_skill`).
        min_accuracy: the project's threshold, in (0, 1).
        min_answers: answers a worker needs before a flag, at least 1.
        already: workers flagged before in this job; they are not flagged again.
        confidence: the one-sided confidence of the bound.

    Raises:
        ValueError: a threshold outside (0, 1) or ``min_answers`` below 1.
    """
    if not 0.0 < min_accuracy < 1.0:
        raise ValueError(f"min_accuracy must be in (0, 1), got {min_accuracy}")
    if min_answers < 1:
        raise ValueError(f"min_answers must be at least 1, got {min_answers}")
    skip = set(already)
    flags: list[WorkerFlag] = []
    for worker, record in sorted(skills.items()):
        if worker in skip or record.answers < min_answers:
            continue
        bound = accuracy_upper_bound(record.accuracy, record.answers, confidence=confidence)
        if bound < min_accuracy:
            flags.append(
                WorkerFlag(
                    worker_id=worker,
                    accuracy=record.accuracy,
                    answers=record.answers,
                    upper_bound=bound,
                    threshold=min_accuracy,
                    min_answers=min_answers,
                )
            )
    return flags


@dataclass(frozen=True, slots=True, kw_only=True)
class FlaggedWorker:
    """A flag as recorded and announced (the marker, the event's detail, the notification).

    JSON form (:meth:`to_json`)::

        {"project": "pets", "jobName": "pets-4172...-0", "worker": "labelstudio.7",
         "accuracy": 0.41, "answers": 57, "upperBound": 0.5181, "threshold": 0.6,
         "minAnswers": 20, "confidence": 0.95, "removal": null}

    ``removal`` is ``null`` when nothing was tried, else a :data:`RemovalOutcome`.
    """

    project: str
    job_name: str
    flag: WorkerFlag
    removal: RemovalOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        flag = self.flag
        return {
            "project": self.project,
            "jobName": self.job_name,
            "worker": flag.worker_id,
            "accuracy": round(flag.accuracy, 4),
            "answers": flag.answers,
            "upperBound": round(flag.upper_bound, 4),
            "threshold": flag.threshold,
            "minAnswers": flag.min_answers,
            "confidence": CONFIDENCE,
            "removal": self.removal,
        }

    @classmethod
    def from_json(cls, raw: object, *, at: str) -> FlaggedWorker:
        """Parse :meth:`to_json`'s form.

        Raises:
            ContractError: a field missing or of the wrong type, named with ``at``.
        """
        if not isinstance(raw, Mapping):
            raise ContractError(f"{at} must be an object")
        removal = raw.get("removal")
        if removal is not None and removal not in REMOVAL_OUTCOMES:
            raise ContractError(f"{at}.removal {removal!r} is not one of {list(REMOVAL_OUTCOMES)}")
        flag = WorkerFlag(
            worker_id=_text(raw, "worker", at),
            accuracy=_number(raw, "accuracy", at),
            answers=_count(raw, "answers", at),
            upper_bound=_number(raw, "upperBound", at),
            threshold=_number(raw, "threshold", at),
            min_answers=_count(raw, "minAnswers", at),
        )
        return cls(
            project=_text(raw, "project", at),
            job_name=_text(raw, "jobName", at),
            flag=flag,
            removal=removal,
        )

    def sentence(self) -> str:
        """The flag in one line, with what became of the worker when removal was tried."""
        removal = f"; {_REMOVAL_TEXT[self.removal]}" if self.removal is not None else ""
        return self.flag.sentence() + removal


def _text(raw: Mapping[str, Any], key: str, at: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ContractError(f"{at}.{key} must be a non-empty string")
    return value


def _number(raw: Mapping[str, Any], key: str, at: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContractError(f"{at}.{key} must be a number")
    return float(value)


def _count(raw: Mapping[str, Any], key: str, at: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ContractError(f"{at}.{key} must be a non-negative integer")
    return value
