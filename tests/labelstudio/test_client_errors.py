"""The client's errors and retries, against a scripted HTTP server and a closed port."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from label_studio_api import LabelStudioClient, LabelStudioError, LabelStudioUnavailable
from label_studio_api.errors import MAX_DETAIL_CHARS

TOKEN = "0123456789abcdef0123456789abcdef01234567"


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, body) of ``script``; records requests."""

    script: list[tuple[int, str]]
    seen: list[tuple[str, str, str | None]]

    def _answer(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status, body = self.script.pop(0) if self.script else (200, "{}")
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, list[tuple[int, str]], list[tuple[str, str, str | None]]]]:
    script: list[tuple[int, str]] = []
    seen: list[tuple[str, str, str | None]] = []
    handler = type("Handler", (_Scripted,), {"script": script, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script, seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting is refused


def test_server_down_raises_unavailable_after_bounded_backoff() -> None:
    waits: list[float] = []
    client = LabelStudioClient(
        f"http://127.0.0.1:{_closed_port()}", TOKEN, max_attempts=4, backoff=0.5, sleep=waits.append
    )

    with pytest.raises(LabelStudioUnavailable) as down:
        client.list_tasks(7)

    error = down.value
    assert (error.method, error.status, error.attempts) == ("GET", None, 4)
    assert error.path.startswith("/api/tasks/?project=7")
    assert "refused" in error.detail.lower()
    assert waits == [0.5, 1.0, 2.0]
    assert TOKEN not in str(error)


def test_refused_post_is_retried_too_because_nothing_reached_the_server() -> None:
    waits: list[float] = []
    client = LabelStudioClient(
        f"http://127.0.0.1:{_closed_port()}", TOKEN, max_attempts=3, sleep=waits.append
    )

    with pytest.raises(LabelStudioUnavailable) as down:
        client.import_tasks(1, [{"text": "a"}])

    assert down.value.attempts == 3
    assert len(waits) == 2


def test_get_5xx_is_retried_then_succeeds(scripted) -> None:
    url, script, seen = scripted
    script += [(503, "busy"), (502, "bad gateway"), (200, '{"id": 4, "email": "a@b.c"}')]
    waits: list[float] = []
    client = LabelStudioClient(url, TOKEN, max_attempts=3, backoff=0.1, sleep=waits.append)

    user = client.whoami()

    assert (user.id, user.email) == (4, "a@b.c")
    assert len(seen) == 3
    assert waits == [0.1, 0.2]
    assert all(auth == f"Token {TOKEN}" for _, _, auth in seen)


def test_get_5xx_gives_up_after_max_attempts_with_status_and_trimmed_text(scripted) -> None:
    url, script, seen = scripted
    script += [(500, "x" * 5000)] * 3
    client = LabelStudioClient(url, TOKEN, max_attempts=3, sleep=lambda _: None)

    with pytest.raises(LabelStudioError) as failed:
        client.get_project(9)

    error = failed.value
    assert not isinstance(error, LabelStudioUnavailable)
    assert (error.method, error.path, error.status, error.attempts) == (
        "GET",
        "/api/projects/9/",
        500,
        3,
    )
    assert len(error.detail) == MAX_DETAIL_CHARS
    assert len(seen) == 3
    assert "GET /api/projects/9/: HTTP 500 after 3 attempts" in str(error)


def test_post_5xx_is_not_repeated_so_nothing_is_created_twice(scripted) -> None:
    url, script, seen = scripted
    script += [(500, "database is locked")]
    client = LabelStudioClient(url, TOKEN, max_attempts=4, sleep=lambda _: None)

    with pytest.raises(LabelStudioError) as failed:
        client.create_annotation(3, [])

    assert (failed.value.status, failed.value.attempts) == (500, 1)
    assert [(method, path) for method, path, _ in seen] == [("POST", "/api/tasks/3/annotations/")]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_4xx_is_never_retried(scripted, status: int) -> None:
    url, script, seen = scripted
    script += [(status, '{"detail": "no"}')]
    client = LabelStudioClient(url, TOKEN, max_attempts=4, sleep=lambda _: None)

    with pytest.raises(LabelStudioError) as failed:
        client.delete_task(5)

    assert (failed.value.status, failed.value.attempts) == (status, 1)
    assert len(seen) == 1


def test_next_task_is_none_when_the_stream_is_empty(scripted) -> None:
    url, script, _ = scripted
    script += [(404, '{"detail": "There are no tasks for a@b.c"}')]

    assert LabelStudioClient(url, TOKEN).next_task(2) is None


def test_unexpected_response_shape_is_a_typed_error(scripted) -> None:
    url, script, _ = scripted
    script += [(201, '{"id": "not a number"}')]

    with pytest.raises(LabelStudioError) as failed:
        LabelStudioClient(url, TOKEN).create_project("Shape", "<View/>")

    assert failed.value.path == "/api/projects/"
    assert "unexpected response" in failed.value.detail


def test_import_checks_one_id_per_task(scripted) -> None:
    url, script, _ = scripted
    script += [(201, '{"task_count": 2, "task_ids": [1]}')]

    with pytest.raises(LabelStudioError, match="expected 2 task ids"):
        LabelStudioClient(url, TOKEN).import_tasks(1, [{"text": "a"}, {"text": "b"}])


def test_a_worker_is_removed_from_a_project_or_from_the_organization(scripted) -> None:
    url, script, seen = scripted
    script += [(204, ""), (200, '{"id": 1, "email": "a@b.c", "active_organization": 4}')]
    script += [(204, "")]
    studio = LabelStudioClient(url, TOKEN)

    studio.remove_project_member(12, 7)
    organization = studio.whoami().organization
    assert organization == 4
    studio.remove_organization_member(organization, 7)

    assert [(method, path) for method, path, _ in seen] == [
        ("DELETE", "/api/projects/12/members/?user=7"),
        ("GET", "/api/current-user/whoami"),
        ("DELETE", "/api/organizations/4/memberships/7/"),
    ]


def test_project_membership_missing_on_community_edition_is_a_404_error(scripted) -> None:
    url, script, _ = scripted
    script += [(404, '{"detail": "Not found."}')]

    with pytest.raises(LabelStudioError) as failed:
        LabelStudioClient(url, TOKEN).remove_project_member(12, 7)

    assert failed.value.status == 404


@pytest.mark.parametrize(
    ("base_url", "token", "attempts"),
    [("127.0.0.1:8080", TOKEN, 1), ("http://127.0.0.1:8080", "", 1), ("http://h", TOKEN, 0)],
)
def test_bad_client_settings_are_rejected(base_url: str, token: str, attempts: int) -> None:
    with pytest.raises(ValueError):
        LabelStudioClient(base_url, token, max_attempts=attempts)
