"""The errors of the Label Studio API client.

Every failure of a call is a :class:`LabelStudioError` that names the HTTP method, the URL
path (never the host's credentials, never the token) and the status, with the response text
trimmed to :data:`MAX_DETAIL_CHARS`. A server that cannot be reached at all, after the
client's bounded retries, is a :class:`LabelStudioUnavailable` (status ``None``).
"""

from __future__ import annotations

__all__ = ["MAX_DETAIL_CHARS", "LabelStudioError", "LabelStudioUnavailable"]

#: How much of a response body an error message keeps.
MAX_DETAIL_CHARS = 300


class LabelStudioError(Exception):
    """A Label Studio API call failed.

    Attributes:
        method: The HTTP method of the call (``"GET"``, ``"POST"``, ...).
        path: The URL path of the call, query string included (``/api/projects/3/``).
        status: The HTTP status of the last response; ``None`` when no response arrived.
        detail: The response text (or the connection error), trimmed.
        attempts: How many times the call was tried.
    """

    def __init__(
        self, *, method: str, path: str, status: int | None, detail: str, attempts: int = 1
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = trim(detail)
        self.attempts = attempts
        shown = "no response" if status is None else f"HTTP {status}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"Label Studio {method} {path}: {shown}{tries}: {self.detail}")


class LabelStudioUnavailable(LabelStudioError):
    """No response from the server (connection refused, reset or timed out) after retries."""


def trim(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
