"""The local stand-in for a Lambda function URL."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from labelflow.local.webhook_relay import WebhookRelay


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_request_becomes_a_function_url_event_and_the_response_goes_back() -> None:
    seen: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 401, "headers": {"x-reason": "secret"}, "body": "refused"}

    with WebhookRelay(invoke) as relay:
        status, body = _post(
            relay.url + "hooks/ls?project=3",
            b'{"action": "ANNOTATION_CREATED"}',
            {"X-LabelFlow-Secret": "s3cr3t", "Content-Type": "application/json"},
        )

    assert (status, body) == (401, b"refused")
    (event,) = seen
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/hooks/ls"
    assert event["rawQueryString"] == "project=3"
    assert event["headers"]["x-labelflow-secret"] == "s3cr3t"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert json.loads(event["body"]) == {"action": "ANNOTATION_CREATED"}
    assert event["isBase64Encoded"] is False


def test_a_plain_result_is_json_with_status_200_and_a_failure_is_502() -> None:
    answers: list[Any] = [{"finished": True}, RuntimeError("function crashed")]

    def invoke(event: dict[str, Any]) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with WebhookRelay(invoke) as relay:
        assert _post(relay.url, b"{}", {}) == (200, b'{"finished": true}')
        status, body = _post(relay.url, b"{}", {})

    assert status == 502
    assert b"function crashed" in body
    assert relay.requests == 2


def test_binary_bodies_are_base64_encoded() -> None:
    seen: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {}

    with WebhookRelay(invoke) as relay:
        _post(relay.url, b"\xff\xfe", {})
    assert seen[0]["isBase64Encoded"] is True
    assert seen[0]["body"] == "//4="


def test_stop_closes_the_port() -> None:
    relay = WebhookRelay(lambda event: {}).start()
    url = relay.url
    relay.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
