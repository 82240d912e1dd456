"""Simulated annotators answering through a real local Label Studio."""

from __future__ import annotations

from label_studio_api import LabelStudioClient
from labelflow.local.label_studio import Account, LocalLabelStudio
from labelflow.local.ls_annotators import (
    Choices,
    SimulatedAnnotator,
    answer_project,
    replay_answers,
)
from tests.worker_ui.cases import CASES
from worker_ui import label_studio_config

TEXTS = {"r1": "Lovely", "r2": "Awful", "r3": "Fine", "r4": "Broken"}
TRUTH = {"r1": "positive", "r2": "negative", "r3": "positive", "r4": "negative"}
CONTROL = Choices("answer", "text", ("positive", "negative"))


def _project(admin: LabelStudioClient, title: str, maximum: int) -> tuple[int, dict[str, int]]:
    project = CASES["text-classification"].project(labels=CONTROL.labels)
    created = admin.create_project(title, label_studio_config(project), maximum_annotations=maximum)
    ids = admin.import_tasks(created.id, [{"text": t, "item": k} for k, t in TEXTS.items()])
    return created.id, dict(zip(TEXTS, ids, strict=True))


def test_annotators_fill_every_task_up_to_the_maximum_through_the_stream(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    project, tasks = _project(admin, "Simulated, always right", maximum=2)
    crowd = [SimulatedAnnotator(account, 1.0) for account in annotators[:3]]

    given = answer_project(label_studio, project, crowd, CONTROL, lambda d: TRUTH[str(d["item"])])

    assert given == 2 * len(TEXTS)
    for item, task_id in tasks.items():
        answers = admin.list_annotations(task_id)
        assert len(answers) == 2
        assert len({a.completed_by for a in answers}) == 2  # two different people
        assert {a.result[0]["value"]["choices"][0] for a in answers} == {TRUTH[item]}


def test_an_annotator_who_is_always_wrong_never_picks_the_truth(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    project, tasks = _project(admin, "Simulated, always wrong", maximum=1)

    answer_project(
        label_studio,
        project,
        [SimulatedAnnotator(annotators[0], 0.0)],
        CONTROL,
        lambda d: TRUTH[str(d["item"])],
    )

    for item, task_id in tasks.items():
        (answer,) = admin.list_annotations(task_id)
        assert answer.result[0]["value"]["choices"] != [TRUTH[item]]


def test_recorded_answers_are_replayed_by_the_accounts_standing_in_for_their_workers(
    label_studio: LocalLabelStudio, admin: LabelStudioClient, annotators: list[Account]
) -> None:
    _, tasks = _project(admin, "Replayed", maximum=3)
    accounts = {"w1": annotators[0], "w2": annotators[1]}
    recorded = [("r1", "w1", "positive"), ("r1", "w2", "negative"), ("zz", "w1", "positive")]

    posted = replay_answers(
        lambda worker: label_studio.client(accounts[worker]), tasks, recorded, CONTROL
    )

    assert posted == 2  # the answer to an item without a task is left out
    answers = admin.list_annotations(tasks["r1"])
    assert sorted((a.completed_by, a.result[0]["value"]["choices"][0]) for a in answers) == sorted(
        [(annotators[0].user_id, "positive"), (annotators[1].user_id, "negative")]
    )
