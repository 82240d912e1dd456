"""A small Label Studio API client on the standard library (``urllib``), for a labeling backend.

    client = LabelStudioClient("http://127.0.0.1:8080", token)
    project = client.create_project("Reviews", label_config, maximum_annotations=3)
    client.import_tasks(project.id, [{"text": "Great value"}])
    worker = client.as_user(worker_token)
    task = worker.next_task(project.id)          # None once the worker has nothing left
    worker.create_annotation(task.id, [{"from_name": "tone", ...}])
    tasks = client.export_annotations(project.id)

Authentication is Label Studio's legacy API token (``Authorization: Token ...``), which the
organization must allow. The token is kept out of ``repr``, of every error message and of
every log line.

Who sees what. Label Studio's "next task" stream (:meth:`LabelStudioClient.next_task`) never
hands a user a task that user has already answered and stops handing out a task once it has
``maximum_annotations`` answers; with ``overlap_cohort_percentage=100`` (the default here)
every task is meant to collect that many answers. Posting an annotation directly
(:meth:`LabelStudioClient.create_annotation`) is *not* checked by Label Studio: workers must
take their tasks from the stream for "no worker sees the same task twice" to hold.

Retries. A call that gets no response (connection refused, reset, timed out) or a 5xx is
tried again, with exponential back-off, at most ``max_attempts`` times in all; then it raises
:class:`~label_studio_api.errors.LabelStudioUnavailable` or
:class:`~label_studio_api.errors.LabelStudioError`. Deliberately, a POST is retried only when
the connection was refused (the request never reached the server): a POST that failed later
may already have created its tasks, annotation or webhook, and repeating it would duplicate
them. 4xx responses are never retried.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from label_studio_api.errors import LabelStudioError, LabelStudioUnavailable
from label_studio_api.models import Annotation, JsonObject, Project, Task, User, Webhook

__all__ = ["DEFAULT_WEBHOOK_ACTIONS", "LabelStudioClient"]

#: The events a labeling backend listens to: answers arriving, changing or going away.
DEFAULT_WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_TASK_PAGE_SIZE = 100
T = TypeVar("T")


class LabelStudioClient:
    """One Label Studio user's view of the API.

    Args:
        base_url: The server's address, such as ``http://127.0.0.1:8080`` (no ``/api``).
        token: The user's legacy API token.
        timeout: Seconds to wait for each response.
        max_attempts: How many times a call is tried in all (at least 1).
        backoff: Seconds before the first retry; each later retry waits twice as long,
            at most ``max_backoff``.
        sleep: How to wait between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff: float = 0.25,
        max_backoff: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) address, got {base_url!r}")
        if not token:
            raise ValueError("token must not be empty")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"LabelStudioClient({self.base_url!r}, token=<hidden>)"

    def as_user(self, token: str) -> LabelStudioClient:
        """The same server and settings, acting as the user whose token this is."""
        return LabelStudioClient(
            self.base_url,
            token,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            sleep=self._sleep,
        )

    # ---------------------------------------------------------------------------- users

    def whoami(self) -> User:
        """The user this client acts as."""
        return self._parse("GET", "/api/current-user/whoami", User.from_json)

    def invite_token(self) -> str:
        """The organization's invite token: ``/user/signup/?token=<it>`` lets a person join."""
        path = "/api/invite"
        body = self._call("GET", path)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise LabelStudioError(method="GET", path=path, status=200, detail="no invite token")
        return token

    def remove_organization_member(self, organization_id: int, user_id: int) -> None:
        """Take a user out of an organization, and so out of all its projects (any edition).

        Label Studio keeps the account and its answers (a soft delete) and drops its task
        locks. The organization must be this client's active one; a user cannot remove
        themselves (HTTP 405), and one already removed answers HTTP 404.
        """
        self._call("DELETE", f"/api/organizations/{organization_id}/memberships/{user_id}/")

    # ------------------------------------------------------------------------- projects

    def create_project(
        self,
        title: str,
        label_config: str,
        *,
        instructions: str = "",
        description: str = "",
        maximum_annotations: int = 1,
        overlap_cohort_percentage: int = 100,
        show_skip_button: bool = True,
    ) -> Project:
        """Create a project.

        Args:
            title: 3 to 50 characters (Label Studio's limits).
            label_config: The labeling config XML (``<View>...</View>``).
            instructions: HTML shown to workers before they label (empty: none shown).
            description: The project's description in Label Studio's project list.
            maximum_annotations: Answers each task collects (the job's workers per item).
            overlap_cohort_percentage: Share of tasks, in percent, that collect
                ``maximum_annotations`` answers; the rest collect one.
            show_skip_button: Whether workers may skip (cancel) a task.
        """
        if maximum_annotations < 1:
            raise ValueError(f"maximum_annotations must be at least 1, got {maximum_annotations}")
        if not 0 <= overlap_cohort_percentage <= 100:
            raise ValueError(
                f"overlap_cohort_percentage must be 0..100, got {overlap_cohort_percentage}"
            )
        body = {
            "title": title,
            "description": description,
            "label_config": label_config,
            "expert_instruction": instructions,
            "show_instruction": bool(instructions),
            "maximum_annotations": maximum_annotations,
            "overlap_cohort_percentage": overlap_cohort_percentage,
            "show_skip_button": show_skip_button,
            "sampling": "Sequential sampling",
        }
        return self._parse("POST", "/api/projects/", Project.from_json, body)

    def find_projects(self, title: str) -> list[Project]:
        """The projects whose title contains ``title`` (case-insensitive), every page of them."""
        projects: list[Project] = []
        page = 1
        while True:
            query = urllib.parse.urlencode({"title": title, "page": page, "page_size": 100})
            path = f"/api/projects/?{query}"
            body = self._call("GET", path)
            rows = body.get("results") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise LabelStudioError(
                    method="GET", path=path, status=200, detail=f"no project list in {body!r}"
                )
            projects.extend(self._wrap("GET", path, Project.from_json, row) for row in rows)
            if not rows or not body.get("next"):
                return projects
            page += 1

    def get_project(self, project_id: int) -> Project:
        """A project's settings."""
        return self._parse("GET", f"/api/projects/{project_id}/", Project.from_json)

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its tasks, answers and webhooks."""
        self._call("DELETE", f"/api/projects/{project_id}/")

    def remove_project_member(self, project_id: int, user_id: int) -> None:
        """Take a user off a project (project membership: Label Studio Enterprise only).

        Community Edition has no project membership (every member of the organization may
        label every project) and answers HTTP 404.
        """
        query = urllib.parse.urlencode({"user": user_id})
        self._call("DELETE", f"/api/projects/{project_id}/members/?{query}")

    # ---------------------------------------------------------------------------- tasks

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]]) -> list[int]:
        """Add tasks to a project; return their ids, in the order given.

        Each task is either its data (``{"text": "..."}``) or Label Studio's full task
        shape (``{"data": {...}, "meta": {...}}``).
        """
        if not tasks:
            return []
        path = f"/api/projects/{project_id}/import?return_task_ids=true"
        body = self._call("POST", path, [dict(task) for task in tasks])
        ids = body.get("task_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or len(ids) != len(tasks):
            raise LabelStudioError(
                method="POST",
                path=path,
                status=201,
                detail=f"expected {len(tasks)} task ids, got {ids!r}",
            )
        return [int(task_id) for task_id in ids]

    def list_tasks(self, project_id: int) -> list[Task]:
        """Every task of a project with its answer counts, in Label Studio's order."""
        tasks: list[Task] = []
        page = 1
        while True:
            query = urllib.parse.urlencode(
                {"project": project_id, "page": page, "page_size": _TASK_PAGE_SIZE}
            )
            path = f"/api/tasks/?{query}"
            body = self._call("GET", path)
            rows = body.get("tasks") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise LabelStudioError(
                    method="GET", path=path, status=200, detail=f"no task list in {body!r}"
                )
            tasks.extend(self._wrap("GET", path, Task.from_json, row) for row in rows)
            if not rows or len(tasks) >= int(body.get("total", 0)):
                return tasks
            page += 1

    def get_task(self, task_id: int) -> Task:
        """One task with its answer counts."""
        return self._parse("GET", f"/api/tasks/{task_id}/", Task.from_json)

    def next_task(self, project_id: int) -> Task | None:
        """The next task this user should label, or ``None`` when there is none left.

        Label Studio never returns a task this user has answered, nor one that already has
        the project's maximum number of answers.
        """
        path = f"/api/projects/{project_id}/next/"
        try:
            return self._parse("GET", path, Task.from_json)
        except LabelStudioError as error:
            if error.status == 404:
                return None
            raise

    def delete_task(self, task_id: int) -> None:
        """Delete a task and its answers."""
        self._call("DELETE", f"/api/tasks/{task_id}/")

    # ---------------------------------------------------------------------- annotations

    def create_annotation(
        self,
        task_id: int,
        result: Sequence[Mapping[str, Any]],
        *,
        lead_time: float | None = None,
        was_cancelled: bool = False,
    ) -> Annotation:
        """Record this user's answer to a task.

        Args:
            task_id: The task answered.
            result: Label Studio result regions, such as ``{"from_name": "tone",
                "to_name": "text", "type": "choices", "value": {"choices": ["positive"]}}``.
            lead_time: Seconds the worker spent, when known.
            was_cancelled: The worker skipped the task.
        """
        body: JsonObject = {
            "result": [dict(region) for region in result],
            "was_cancelled": was_cancelled,
        }
        if lead_time is not None:
            body["lead_time"] = lead_time
        return self._parse("POST", f"/api/tasks/{task_id}/annotations/", Annotation.from_json, body)

    def list_annotations(self, task_id: int) -> list[Annotation]:
        """Every answer to one task."""
        path = f"/api/tasks/{task_id}/annotations/"
        body = self._call("GET", path)
        if not isinstance(body, list):
            raise LabelStudioError(
                method="GET", path=path, status=200, detail=f"expected a list, got {body!r}"
            )
        return [self._wrap("GET", path, Annotation.from_json, row) for row in body]

    def export_annotations(
        self, project_id: int, *, include_unlabeled: bool = False, timeout: float | None = None
    ) -> list[JsonObject]:
        """A project's tasks with their answers, in Label Studio's JSON export format.

        Each task has ``id``, ``data`` and ``annotations``; each annotation has
        ``completed_by`` (the worker's user id), ``result`` and ``was_cancelled``.

        Args:
            include_unlabeled: Also tasks that have no answer yet.
            timeout: Seconds to wait for this (possibly large) response; the client's
                timeout when ``None``.
        """
        query = urllib.parse.urlencode(
            {"exportType": "JSON", "download_all_tasks": str(include_unlabeled).lower()}
        )
        path = f"/api/projects/{project_id}/export?{query}"
        body = self._call("GET", path, timeout=timeout)
        if not isinstance(body, list) or not all(isinstance(task, dict) for task in body):
            raise LabelStudioError(
                method="GET", path=path, status=200, detail=f"expected a task list: {body!r}"
            )
        return body

    # ------------------------------------------------------------------------- webhooks

    def create_webhook(
        self,
        project_id: int,
        url: str,
        *,
        actions: Iterable[str] = DEFAULT_WEBHOOK_ACTIONS,
        headers: Mapping[str, str] | None = None,
        send_payload: bool = True,
    ) -> Webhook:
        """Have Label Studio POST to ``url`` when one of ``actions`` happens in a project.

        Args:
            headers: Sent with every call (a shared secret, say); Label Studio stores them.
            send_payload: Include the changed objects in each call.
        """
        body = {
            "project": project_id,
            "url": url,
            "send_payload": send_payload,
            "send_for_all_actions": False,
            "actions": list(actions),
            "headers": dict(headers or {}),
            "is_active": True,
        }
        return self._parse("POST", "/api/webhooks/", Webhook.from_json, body)

    def list_webhooks(self, project_id: int) -> list[Webhook]:
        """The webhooks of a project."""
        path = f"/api/webhooks/?project={project_id}"
        body = self._call("GET", path)
        if not isinstance(body, list):
            raise LabelStudioError(
                method="GET", path=path, status=200, detail=f"expected a list, got {body!r}"
            )
        return [self._wrap("GET", path, Webhook.from_json, row) for row in body]

    def delete_webhook(self, webhook_id: int) -> None:
        """Stop a webhook."""
        self._call("DELETE", f"/api/webhooks/{webhook_id}/")

    # -------------------------------------------------------------------------- transport

    def _parse(
        self, method: str, path: str, build: Callable[[Mapping[str, Any]], T], body: Any = None
    ) -> T:
        return self._wrap(method, path, build, self._call(method, path, body))

    @staticmethod
    def _wrap(method: str, path: str, build: Callable[[Mapping[str, Any]], T], row: Any) -> T:
        if not isinstance(row, dict):
            raise LabelStudioError(
                method=method, path=path, status=None, detail=f"expected an object: {row!r}"
            )
        try:
            return build(row)
        except (KeyError, TypeError, ValueError) as error:
            raise LabelStudioError(
                method=method,
                path=path,
                status=None,
                detail=f"unexpected response ({error!r}): {row!r}",
            ) from None

    def _call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        """Send one call with retries; return the decoded JSON body (``None`` when empty)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Token {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(
                self.base_url + path, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                    raw: bytes = response.read()
                    status: int = response.status
            except urllib.error.HTTPError as error:
                text = _read_error(error)
                if error.code >= 500 and method in _IDEMPOTENT and attempt < self.max_attempts:
                    self._wait(attempt)
                    continue
                raise LabelStudioError(
                    method=method, path=path, status=error.code, detail=text, attempts=attempt
                ) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                reason = error.reason if isinstance(error, urllib.error.URLError) else error
                refused = isinstance(reason, ConnectionRefusedError)
                retry = refused or method in _IDEMPOTENT
                if retry and attempt < self.max_attempts:
                    self._wait(attempt)
                    continue
                raise LabelStudioUnavailable(
                    method=method, path=path, status=None, detail=str(reason), attempts=attempt
                ) from None
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except ValueError:
                raise LabelStudioError(
                    method=method,
                    path=path,
                    status=status,
                    detail=f"not JSON: {raw.decode(errors='replace')}",
                    attempts=attempt,
                ) from None

    def _wait(self, attempt: int) -> None:
        self._sleep(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


def _read_error(error: urllib.error.HTTPError) -> str:
    try:
        return error.read().decode(errors="replace")
    except OSError:
        return error.reason if isinstance(error.reason, str) else ""
    finally:
        error.close()
