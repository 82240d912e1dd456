"""A local HTTP endpoint that hands each request to a Lambda function, as a function URL does.

Label Studio delivers webhooks by HTTP POST. In AWS they reach the webhook function through its
Lambda function URL; on a laptop, :class:`WebhookRelay` listens on 127.0.0.1 and turns each
request into the function URL event (payload format 2.0: ``rawPath``, lower-cased
``headers``, ``body``, ``isBase64Encoded``, ``requestContext.http``), calls ``invoke`` with it
and answers with the function's ``statusCode``, ``headers`` and ``body`` (a sender that
stopped waiting meanwhile gets nothing; the function has run, as behind a function URL).
A result that is not such a response is sent as JSON with status 200, as function URLs do.
An exception from ``invoke`` is answered with status 502, so the sender (Label Studio) sees a
failed delivery.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookRelay", "function_url_event"]

Invoke = Callable[[dict[str, Any]], Any]


def function_url_event(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """The Lambda function URL event (payload format 2.0) of one HTTP request."""
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": f"local-{now:.6f}",
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class WebhookRelay:
    """Relays HTTP requests on 127.0.0.1 to ``invoke`` (see the module docstring)."""

    def __init__(self, invoke: Invoke, *, port: int = 0) -> None:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                relay._answer(self)

            def do_GET(self) -> None:
                relay._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # requests are not logged: their headers carry the shared secret

        self._invoke = invoke
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.requests = 0

    @property
    def url(self) -> str:
        """The relay's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> WebhookRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        path, _, query = request.path.partition("?")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        event = function_url_event(request.command, path, query, dict(request.headers), body)
        try:
            result = self._invoke(event)
        except Exception as exc:  # the delivery failed; the sender may retry
            status, headers, payload = 502, {"content-type": "text/plain"}, str(exc).encode()
        else:
            status, headers, payload = _response(result)
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the sender stopped waiting; the function ran all the same


def _response(result: Any) -> tuple[int, dict[str, str], bytes]:
    if isinstance(result, Mapping) and "statusCode" in result:
        body = result.get("body") or ""
        raw = (
            base64.b64decode(body)
            if result.get("isBase64Encoded")
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), headers, raw
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()
