"""The job's workforce cost: answers x price per task."""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import ContractError
from job_contracts.steps import PublishRequest
from job_contracts.steps import WorkforcePrice as Workforce
from publish_job.cost import job_cost
from tests.unit.lambdas.test_publish_job_logic import event


def test_a_public_workforce_is_charged_per_answer_in_exact_decimals() -> None:
    cost = job_cost(Workforce("public", 0.012), answers=3)

    assert cost["workforceCostUsd"] == 0.036
    assert cost["answers"] == 3
    assert cost["priceUsdPerTask"] == 0.012
    assert cost["workforce"] == "public"
    assert cost["currency"] == "USD"


def test_a_vendor_workforce_uses_its_price_too() -> None:
    assert job_cost(Workforce("vendor", 0.84), answers=10)["workforceCostUsd"] == 8.4


def test_a_private_workforce_costs_nothing_per_task_and_says_so() -> None:
    cost = job_cost(Workforce("private", 0.5), answers=100)

    assert cost["workforceCostUsd"] == 0.0
    assert "private workforce" in cost["note"]


@pytest.mark.parametrize("workforce", [None, Workforce("public"), Workforce("vendor")])
def test_cost_is_unknown_without_a_workforce_or_a_price(workforce: Workforce | None) -> None:
    cost = job_cost(workforce, answers=5)

    assert cost["workforceCostUsd"] is None
    assert "unknown" in cost["note"]
    assert cost["answers"] == 5


def test_the_event_workforce_is_parsed() -> None:
    request = PublishRequest.from_event(
        {**event(), "workforce": {"type": "public", "priceUsdPerTask": 0.036}}
    )

    assert request.workforce == Workforce("public", 0.036)
    assert PublishRequest.from_event(event()).workforce is None


@pytest.mark.parametrize(
    ("workforce", "message"),
    [
        ({"type": "crowd"}, "workforce.type"),
        ({"type": "public", "priceUsdPerTask": -1}, "priceUsdPerTask"),
        ({"type": "public", "priceUsdPerTask": "0.1"}, "priceUsdPerTask"),
        ({"type": "public", "priceUsdPerTask": True}, "priceUsdPerTask"),
        ("public", "workforce must be an object"),
    ],
)
def test_a_bad_workforce_is_named(workforce: Any, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        PublishRequest.from_event({**event(), "workforce": workforce})
