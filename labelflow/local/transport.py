"""The in-process functions' AWS requests, handed to the emulator's application without a socket.

An in-process function's boto3 client signs and serializes each request as it would in AWS;
:func:`send` (a botocore ``before-send`` handler on the functions' sessions, see
:mod:`labelflow.local.lambda_runtime`) then passes the signed request to the WSGI
application the emulator's server runs, on the caller's thread, and hands its response back
to botocore. Everything between the signed request and the response is the server's code,
unchanged: moto's dispatcher, the IAM evaluation of the caller's role session, the service's
handler, the patches. What is skipped is the transport: a TCP connection and a server thread
per request (moto's server closes every connection), and HTTP framing on both sides, about
half of what a request to the emulator costs.

A request for another endpoint, or any request while no application is served
(:func:`serve`), goes over the network as usual.
"""

from __future__ import annotations

import io
import threading
from typing import Any
from urllib.parse import urlsplit

__all__ = ["send", "serve", "served_endpoint"]

_lock = threading.Lock()
_served: tuple[str, Any] | None = None
#: Request headers that only describe the HTTP exchange, not the request.
_TRANSPORT_HEADERS = frozenset({"expect", "transfer-encoding", "connection"})


def serve(endpoint_url: str | None, app: Any = None) -> None:
    """Serve requests for ``endpoint_url`` with the WSGI ``app`` (None: stop serving)."""
    global _served  # noqa: PLW0603 - one emulator per process
    with _lock:
        _served = None if endpoint_url is None else (endpoint_url.rstrip("/"), app)


def served_endpoint() -> str | None:
    """The endpoint served in process, if any."""
    served = _served
    return served[0] if served else None


class _Body(io.BytesIO):
    """A response body botocore can read whole (``stream()``) or as a stream (``read()``)."""

    def stream(self, **_: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _body(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    start = body.tell() if hasattr(body, "tell") else None
    data = body.read()
    if start is not None and hasattr(body, "seek"):
        body.seek(start)  # botocore may send the same body again on a retry
    return data if isinstance(data, bytes) else _text(data).encode("utf-8")


def send(request: Any, **_: Any) -> Any:
    """botocore ``before-send`` handler: the response of the served application, or None."""
    served = _served
    if served is None or not request.url.startswith(served[0] + "/"):
        return None
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    url = urlsplit(request.url)
    data = _body(request)
    headers = [
        (name, _text(value))
        for name, value in request.headers.items()
        if name.lower() not in _TRANSPORT_HEADERS
    ]
    builder = EnvironBuilder(
        path=url.path,
        base_url=f"{url.scheme}://{url.netloc}",
        query_string=url.query,
        method=request.method,
        headers=headers,
        data=data,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["RAW_URI"] = environ["REQUEST_URI"] = url.path + (f"?{url.query}" if url.query else "")
    app_iter, status, response_headers = run_wsgi_app(served[1], environ, buffered=True)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if callable(close):
            close()
    http_headers = HTTPHeaders()
    for name, value in response_headers.items():
        http_headers[name] = value
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), http_headers, _Body(content))
