"""What every LabelFlow handler shares: AWS clients made on first use, and tracing.

boto3 is imported when the first client is made and the Powertools Tracer (which imports the
X-Ray SDK) is created on the first invocation, so importing a handler stays cheap and a cold
start pays for what it uses only. Clients are cached per service (and client options) for
the life of the execution environment, as a warm Lambda keeps them; :func:`reset_clients`
forgets them.

The clients, the Tracer and the traced handlers are module-level ``functools`` caches, so the
local emulator, which clears those caches when a different function runs, starts each
function as a cold start would.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "EVENT_SOURCE",
    "Handler",
    "client",
    "notify",
    "put_event",
    "reset_clients",
    "traced",
    "traced_handler",
    "tracer",
]

#: The ``source`` of every event LabelFlow puts on the default event bus.
EVENT_SOURCE = "labelflow"

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
_Response = TypeVar("_Response")


@overload
def client(
    service: Literal["s3"],
    *,
    max_attempts: int | None = ...,
    max_pool_connections: int | None = ...,
) -> S3Client: ...
@overload
def client(
    service: Literal["sagemaker"],
    *,
    max_attempts: int | None = ...,
    max_pool_connections: int | None = ...,
) -> SageMakerClient: ...
@overload
def client(
    service: Literal["stepfunctions"],
    *,
    max_attempts: int | None = ...,
    max_pool_connections: int | None = ...,
) -> SFNClient: ...
@overload
def client(
    service: str, *, max_attempts: int | None = ..., max_pool_connections: int | None = ...
) -> Any: ...
def client(
    service: str, *, max_attempts: int | None = None, max_pool_connections: int | None = None
) -> Any:
    """The boto3 client of ``service``, made on first use.

    Args:
        service: the boto3 service name (``"s3"``, ``"dynamodb"``...).
        max_attempts: attempts in all, the first one included, with the SDK's ``standard``
            retry mode (exponential backoff on throttling); ``None`` keeps the SDK's defaults.
        max_pool_connections: the size of the client's connection pool, for callers that share
            one client between threads; ``None`` keeps the SDK's default (10).

    Each combination of arguments has a client of its own.
    """
    return _client(service, max_attempts, max_pool_connections)


@functools.cache
def _client(service: str, max_attempts: int | None, max_pool_connections: int | None) -> Any:
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    if max_attempts is None and max_pool_connections is None:
        return boto3.client(service)  # type: ignore[call-overload]
    from botocore.config import Config  # noqa: PLC0415 - with boto3, on first use

    options: dict[str, Any] = {}
    if max_attempts is not None:
        options["retries"] = {"mode": "standard", "total_max_attempts": max_attempts}
    if max_pool_connections is not None:
        options["max_pool_connections"] = max_pool_connections
    return boto3.client(service, config=Config(**options))  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget the clients made so far (a new endpoint or credentials apply to the next)."""
    _client.cache_clear()


@functools.cache
def tracer() -> Tracer:
    """The Powertools Tracer, built on first use (building it imports the X-Ray SDK)."""
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - deferred: imports the X-Ray SDK

    return Tracer()


def traced(
    handle: Callable[[dict[str, Any], LambdaContext], _Response],
) -> Callable[[dict[str, Any], LambdaContext], _Response]:
    """``handle`` traced with ``capture_lambda_handler(capture_response=False)``.

    The Tracer is built on the first call, not at import.
    """

    def run(event: dict[str, Any], context: LambdaContext) -> _Response:
        response: _Response = traced_handler(handle)(event, context)
        return response

    return run


@functools.cache
def traced_handler(
    handle: Callable[[dict[str, Any], LambdaContext], _Response],
) -> Callable[[dict[str, Any], LambdaContext], _Response]:
    """What :func:`traced` runs: :func:`tracer`'s ``capture_lambda_handler`` around ``handle``."""
    wrapped: Callable[[dict[str, Any], LambdaContext], _Response] = tracer().capture_lambda_handler(
        handle, capture_response=False
    )
    return wrapped


def notify(
    topic_arn: str, *, subject: str, message: dict[str, Any], project: str | None, kind: str
) -> None:
    """Publish ``message`` (as JSON) to the notification topic.

    The message attributes ``project`` and ``kind`` (e.g. ``job-failed``) let subscribers
    filter: a project's e-mail subscriptions receive that project's messages only. A message
    that names no project (``project=None``) goes without the ``project`` attribute, so that
    only unfiltered subscriptions receive it.
    """
    attributes = {"kind": {"DataType": "String", "StringValue": kind}}
    if project is not None:
        attributes["project"] = {"DataType": "String", "StringValue": project}
    client("sns").publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=json.dumps(message),
        MessageAttributes=attributes,
    )


def put_event(detail_type: str, detail: dict[str, Any]) -> None:
    """Put one LabelFlow event on the default event bus.

    Raises:
        RuntimeError: EventBridge refused the entry (so the step fails and is retried).
    """
    response = client("events").put_events(
        Entries=[{"Source": EVENT_SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the event: {response.get('Entries')}")
