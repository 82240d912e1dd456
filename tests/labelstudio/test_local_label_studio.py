"""The API client against a real local Label Studio: projects, workers, answers, exports."""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from label_studio_api import LabelStudioClient, LabelStudioError, LabelStudioUnavailable
from labelflow.local.label_studio import Account, LocalLabelStudio
from tests.labelstudio.conftest import TEXT_CLASSIFICATION, choice

LABELS = ("positive", "negative", "neutral")


def _title(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


def _work_until_done(
    label_studio: LocalLabelStudio, project_id: int, workers: list[Account], pick: Any
) -> list[tuple[int, int, str]]:
    """Workers take turns asking for their next task and answering it, until none has
    anything left; return (worker id, task id, label) per answer."""
    clients = {worker.user_id: label_studio.client(worker) for worker in workers}
    answers: list[tuple[int, int, str]] = []
    active = set(clients)
    while active:
        for worker_id, client in clients.items():
            if worker_id not in active:
                continue
            task = client.next_task(project_id)
            if task is None:
                active.discard(worker_id)
                continue
            label = pick(worker_id, task.id)
            annotation = client.create_annotation(task.id, [choice(label)], lead_time=1.5)
            assert annotation.completed_by == worker_id
            answers.append((worker_id, task.id, label))
    return answers


def test_local_label_studio_runs_with_admin_and_distinct_annotators(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    assert label_studio.running
    assert label_studio.url.startswith("http://127.0.0.1:")
    assert admin.whoami().email == "admin@labelflow.local"
    ids = {account.user_id for account in annotators}
    assert len(ids) == 3
    assert label_studio.admin is not None
    assert label_studio.admin.user_id not in ids
    for account in annotators:
        assert label_studio.client(account).whoami().id == account.user_id
        assert account.token not in repr(account)


def test_three_annotators_answers_are_exported_with_their_user_ids(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    # Given a project that wants three answers per task
    project = admin.create_project(
        _title("Reviews"),
        TEXT_CLASSIFICATION,
        instructions="<p>Choose the tone the writer expresses.</p>",
        maximum_annotations=3,
    )
    assert project.maximum_annotations == 3
    assert project.overlap_cohort_percentage == 100
    texts = ["Great value", "Broke in a day", "It is a chair", "Would buy again"]
    task_ids = admin.import_tasks(project.id, [{"text": text} for text in texts])
    assert len(task_ids) == len(set(task_ids)) == 4

    # When three workers answer everything the task stream gives them
    def pick(worker_id: int, task_id: int) -> str:
        return LABELS[(worker_id + task_id) % len(LABELS)]

    answers = _work_until_done(label_studio, project.id, annotators, pick)

    # Then every worker answered every task exactly once
    assert sorted((w, t) for w, t, _ in answers) == sorted(
        (a.user_id, t) for a in annotators for t in task_ids
    )
    counts = {task.id: task.total_annotations for task in admin.list_tasks(project.id)}
    assert counts == dict.fromkeys(task_ids, 3)
    # and the export carries each answer with the user id of its worker
    exported = admin.export_annotations(project.id)
    assert sorted(task["id"] for task in exported) == sorted(task_ids)
    got = {
        (annotation["completed_by"], task["id"], annotation["result"][0]["value"]["choices"][0])
        for task in exported
        for annotation in task["annotations"]
    }
    assert got == set(answers)
    assert {task["id"]: task["data"]["text"] for task in exported} == dict(
        zip(task_ids, texts, strict=True)
    )


def test_maximum_annotations_caps_answers_and_no_worker_sees_a_task_twice(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    project = admin.create_project(_title("Capped"), TEXT_CLASSIFICATION, maximum_annotations=2)
    task_ids = admin.import_tasks(project.id, [{"text": f"item {n}"} for n in range(3)])

    answers = _work_until_done(label_studio, project.id, annotators, lambda w, t: "neutral")

    pairs = [(worker, task) for worker, task, _ in answers]
    assert len(pairs) == len(set(pairs)) == 6  # 3 tasks x 2 answers, no repeats
    per_task = {task.id: task.total_annotations for task in admin.list_tasks(project.id)}
    assert per_task == dict.fromkeys(task_ids, 2)
    assert all(client_has_nothing(label_studio, project.id, a) for a in annotators)


def client_has_nothing(label_studio: LocalLabelStudio, project_id: int, account: Account) -> bool:
    return label_studio.client(account).next_task(project_id) is None


def test_deleted_task_is_gone_from_list_export_and_stream(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    project = admin.create_project(_title("Deletions"), TEXT_CLASSIFICATION)
    kept, dropped = admin.import_tasks(project.id, [{"text": "keep me"}, {"text": "drop me"}])

    admin.delete_task(dropped)

    assert [task.id for task in admin.list_tasks(project.id)] == [kept]
    with pytest.raises(LabelStudioError) as missing:
        admin.get_task(dropped)
    assert missing.value.status == 404
    assert missing.value.path == f"/api/tasks/{dropped}/"
    exported = admin.export_annotations(project.id, include_unlabeled=True)
    assert [task["id"] for task in exported] == [kept]
    worker = label_studio.client(annotators[0])
    first = worker.next_task(project.id)
    assert first is not None
    assert first.id == kept


def test_wrong_token_is_refused_without_retries_or_leaking_it(
    label_studio: LocalLabelStudio,
) -> None:
    wrong = "f" * 40
    client = LabelStudioClient(label_studio.url, wrong)

    with pytest.raises(LabelStudioError) as refused:
        client.create_project(_title("Never"), TEXT_CLASSIFICATION)

    error = refused.value
    assert (error.method, error.path, error.status, error.attempts) == (
        "POST",
        "/api/projects/",
        401,
        1,
    )
    assert "Invalid token" in error.detail
    assert wrong not in str(error)
    assert wrong not in repr(client)


def test_invalid_label_config_is_a_typed_error_with_the_reason(admin: LabelStudioClient) -> None:
    with pytest.raises(LabelStudioError) as rejected:
        admin.create_project(_title("Broken"), "<View><Choices name='x'/></View>")
    assert rejected.value.status == 400
    assert rejected.value.path == "/api/projects/"
    assert "label_config" in rejected.value.detail


def test_deleted_project_is_gone(admin: LabelStudioClient) -> None:
    project = admin.create_project(_title("Temporary"), TEXT_CLASSIFICATION)
    admin.import_tasks(project.id, [{"text": "short-lived"}])

    admin.delete_project(project.id)

    with pytest.raises(LabelStudioError) as missing:
        admin.get_project(project.id)
    assert missing.value.status == 404


class _Receiver(http.server.BaseHTTPRequestHandler):
    calls: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.calls.append({"body": body, "secret": self.headers.get("X-LabelFlow-Secret")})
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    calls: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"calls": calls})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_webhook_reports_new_answers_until_deleted(
    label_studio: LocalLabelStudio,
    admin: LabelStudioClient,
    annotators: list[Account],
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, calls = receiver
    project = admin.create_project(_title("Hooked"), TEXT_CLASSIFICATION, maximum_annotations=2)
    first, second = admin.import_tasks(project.id, [{"text": "one"}, {"text": "two"}])
    webhook = admin.create_webhook(project.id, url, headers={"X-LabelFlow-Secret": "s3cret"})
    assert webhook.project == project.id
    assert [hook.id for hook in admin.list_webhooks(project.id)] == [webhook.id]

    worker = label_studio.client(annotators[0])
    created = worker.create_annotation(first, [choice("positive")])

    created_calls = [c for c in calls if c["body"].get("action") == "ANNOTATION_CREATED"]
    assert len(created_calls) == 1
    assert created_calls[0]["secret"] == "s3cret"
    assert created_calls[0]["body"]["annotation"]["id"] == created.id
    assert created_calls[0]["body"]["task"]["id"] == first

    admin.delete_webhook(webhook.id)
    worker.create_annotation(second, [choice("negative")])
    assert admin.list_webhooks(project.id) == []
    assert len([c for c in calls if c["body"].get("action") == "ANNOTATION_CREATED"]) == 1


def test_stop_ends_the_whole_process_group_and_removes_the_data(
    label_studio: LocalLabelStudio,
) -> None:
    # Given a second server of its own (the session's one keeps running)
    studio = LocalLabelStudio().start()
    url, group, workdir = studio.url, studio.pid, studio.workdir
    assert group is not None
    assert workdir is not None
    assert workdir.exists()
    client = studio.client(max_attempts=3, backoff=0.01)
    assert client.whoami().email == "admin@labelflow.local"
    assert url != label_studio.url

    # When it stops
    studio.stop()

    # Then nothing of its process group is left, its data is gone, and calls to it fail
    # with the typed error once the bounded retries are spent
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    assert not workdir.exists()
    assert not studio.running
    with pytest.raises(LabelStudioUnavailable) as down:
        client.list_tasks(1)
    assert (down.value.attempts, down.value.status) == (3, None)
    assert label_studio.running


def test_preview_serves_a_projects_config_with_the_line_as_its_task() -> None:

    from labelflow.preview import serve_label_studio
    from tests.worker_ui.cases import CASES
    from worker_ui import label_studio_config

    project = CASES["text-classification"].project()
    seen: dict[str, Any] = {}

    def look(server: Any, project_id: int) -> None:
        admin = server.client()
        seen["config"] = admin.get_project(project_id).label_config
        seen["tasks"] = [task.data for task in admin.list_tasks(project_id)]

    serve_label_studio(project, {"source": "Lovely kettle."}, until=look)

    assert seen["config"].strip() == label_studio_config(project).strip()
    assert seen["tasks"] == [{"text": "Lovely kettle."}]
