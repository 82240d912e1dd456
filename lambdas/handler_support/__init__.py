"""What every LabelFlow handler shares: AWS clients made on first use, and tracing.

boto3 is imported when the first client is made and the Powertools Tracer (which imports the
X-Ray SDK) is created on the first invocation, so importing a handler stays cheap and a cold
start pays for what it uses only. Clients are cached per service for the life of the
execution environment, as a warm Lambda keeps them; :func:`reset_clients` forgets them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
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
]

#: The ``source`` of every event LabelFlow puts on the default event bus.
EVENT_SOURCE = "labelflow"

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sagemaker"]) -> SageMakerClient: ...
@overload
def client(service: Literal["stepfunctions"]) -> SFNClient: ...
@overload
def client(service: str) -> Any: ...
def client(service: str) -> Any:
    """The boto3 client of ``service``, made on first use."""
    return _client(service)


@functools.cache
def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - deferred: importing boto3 is most of a cold start

    return boto3.client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget the clients made so far (a new endpoint or credentials apply to the next)."""
    _client.cache_clear()


def traced(handle: Handler) -> Handler:
    """``handle`` traced with ``capture_lambda_handler(capture_response=False)``.

    The Tracer is built on the first call, not at import.
    """

    @functools.cache
    def tracing() -> Handler:
        from aws_lambda_powertools import Tracer  # noqa: PLC0415 - imports the X-Ray SDK

        wrapped: Handler = Tracer().capture_lambda_handler(handle, capture_response=False)
        return wrapped

    def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return tracing()(event, context)

    return run


def notify(
    topic_arn: str, *, subject: str, message: dict[str, Any], project: str, kind: str
) -> None:
    """Publish ``message`` (as JSON) to the notification topic.

    The message attributes ``project`` and ``kind`` (e.g. ``job-failed``) let subscribers
    filter: a project's e-mail subscriptions receive that project's messages only.
    """
    client("sns").publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=json.dumps(message),
        MessageAttributes={
            "project": {"DataType": "String", "StringValue": project},
            "kind": {"DataType": "String", "StringValue": kind},
        },
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
