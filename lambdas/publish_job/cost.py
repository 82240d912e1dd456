"""What a job's workforce cost (pure).

The Publish event may carry the workforce its labeling jobs used::

    "workforce": {"type": "private" | "vendor" | "public", "priceUsdPerTask": 0.036}

``priceUsdPerTask`` is optional. Ground Truth charges a public (Mechanical Turk) or vendor
workforce's price per *task*, one worker's answer to one item, so the job's workforce cost is
``answers * priceUsdPerTask`` where ``answers`` counts the worker answers of the audit trail.
A private workforce is paid outside AWS, so its workforce cost is 0. Ground Truth's own
per-object service fee is not part of this figure. :func:`job_cost` returns::

    {"workforce": "private" | "vendor" | "public" | null, "answers": int,
     "priceUsdPerTask": number | null, "workforceCostUsd": number | null,
     "currency": "USD", "note": str}

``workforceCostUsd`` is ``null`` when it cannot be known: no workforce in the event, or a
vendor or public workforce without a price. Arithmetic is decimal, so 3 * 0.012 is 0.036.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from gt_contracts import ContractError

__all__ = ["WORKFORCE_TYPES", "Workforce", "WorkforceType", "job_cost"]

WorkforceType = Literal["private", "vendor", "public"]
WORKFORCE_TYPES: frozenset[str] = frozenset(get_args(WorkforceType))


@dataclass(frozen=True, slots=True)
class Workforce:
    """Who labeled the job and what one task costs (USD), when known."""

    type: WorkforceType
    price_usd_per_task: float | None = None

    @classmethod
    def from_event(cls, raw: object) -> Workforce | None:
        """Parse the event's optional ``workforce``; ``None`` when absent.

        Raises:
            ContractError: an unknown type or a price that is not a non-negative number.
        """
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise ContractError("workforce must be an object")
        kind = raw.get("type")
        if kind not in WORKFORCE_TYPES:
            raise ContractError(
                f"workforce.type must be one of {sorted(WORKFORCE_TYPES)}: {kind!r}"
            )
        price = raw.get("priceUsdPerTask")
        if price is not None and (
            isinstance(price, bool) or not isinstance(price, int | float) or not price >= 0
        ):
            raise ContractError(f"workforce.priceUsdPerTask must be a number >= 0: {price!r}")
        return cls(cast(WorkforceType, kind), float(price) if price is not None else None)


def job_cost(workforce: Workforce | None, answers: int) -> dict[str, Any]:
    """The job's workforce cost for ``answers`` worker answers (see the module docstring)."""
    price = workforce.price_usd_per_task if workforce is not None else None
    cost: Decimal | None
    if workforce is None:
        cost, note = None, "no workforce given: cost unknown"
    elif workforce.type == "private":
        cost = Decimal(0)
        note = "private workforce: no per-task worker charge (workers are paid outside AWS)"
    elif price is None:
        cost, note = None, f"{workforce.type} workforce without a price per task: cost unknown"
    else:
        cost = Decimal(repr(price)) * answers
        note = f"{workforce.type} workforce: {answers} answers x {price} USD per task"
    return {
        "workforce": workforce.type if workforce is not None else None,
        "answers": answers,
        "priceUsdPerTask": price,
        "workforceCostUsd": float(cost) if cost is not None else None,
        "currency": "USD",
        "note": note + "; Ground Truth's per-object service fee is not included",
    }
