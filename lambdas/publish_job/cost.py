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

from decimal import Decimal
from typing import Any

from job_contracts.steps import WorkforcePrice

__all__ = ["job_cost"]


def job_cost(workforce: WorkforcePrice | None, answers: int) -> dict[str, Any]:
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
