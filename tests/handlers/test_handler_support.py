"""The clients, tracing and notifications every handler shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import handler_support


class FakeSNS:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    handler_support.reset_clients()
    yield
    handler_support.reset_clients()


def test_a_client_is_made_once_per_service():
    assert handler_support.client("s3") is handler_support.client("s3")
    assert handler_support.client("s3") is not handler_support.client("dynamodb")


def test_a_client_with_options_backs_off_and_is_kept_apart():
    tuned = handler_support.client("sagemaker", max_attempts=5, max_pool_connections=32)

    config = tuned.meta.config
    assert getattr(config, "retries", None) == {"mode": "standard", "total_max_attempts": 5}
    assert getattr(config, "max_pool_connections", None) == 32
    assert tuned is handler_support.client("sagemaker", max_attempts=5, max_pool_connections=32)
    assert tuned is not handler_support.client("sagemaker")


def test_reset_clients_makes_new_clients():
    first = handler_support.client("s3")

    handler_support.reset_clients()

    assert handler_support.client("s3") is not first


def test_traced_runs_the_handler_inside_the_tracer(lambda_context):
    def handle(event: dict[str, Any], context: Any) -> list[Any]:
        return [event["n"], context.function_name]

    result = handler_support.traced(handle)({"n": 1}, lambda_context)

    assert result == [1, lambda_context.function_name]
    assert handler_support.traced_handler(handle).__wrapped__ is handle  # type: ignore[attr-defined]
    assert handler_support.tracer().disabled


@pytest.mark.parametrize(
    ("project", "attributes"),
    [
        ("pets", {"project": "pets", "kind": "job-completed"}),
        (None, {"kind": "job-completed"}),
    ],
)
def test_notify_names_the_project_and_kind_for_filter_policies(monkeypatch, project, attributes):
    sns = FakeSNS()
    monkeypatch.setattr(handler_support, "client", lambda service: sns)

    handler_support.notify(
        "arn:topic", subject="x" * 120, message={"a": 1}, project=project, kind="job-completed"
    )

    (published,) = sns.published
    assert published["TopicArn"] == "arn:topic"
    assert published["Subject"] == "x" * 100
    assert published["Message"] == '{"a": 1}'
    assert published["MessageAttributes"] == {
        name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
    }
