"""Simulated annotators who answer classification tasks through Label Studio's API.

Each :class:`SimulatedAnnotator` is a real Label Studio user (an :class:`Account` of the local
server) who takes tasks from the project's task stream (``/api/projects/<id>/next/``), so
Label Studio itself decides who sees what: nobody answers a task twice, and no task gets more
than the project's maximum answers. An annotator picks the true label with its ``accuracy``
and otherwise one of the other labels at random (seeded, so runs repeat).

:func:`answer_project` lets them take turns, one task each per round, until the stream is
empty for all of them, and returns how many answers were given. :func:`replay_answers` posts
recorded answers instead: each recorded worker is mapped to one account and answers exactly
the tasks that worker answered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from label_studio_api import LabelStudioClient
from labelflow.local.label_studio import Account, LocalLabelStudio

__all__ = ["Choices", "SimulatedAnnotator", "answer_project", "choice_result", "replay_answers"]


@dataclass(frozen=True)
class Choices:
    """The Choices control a worker answers: its names in the labeling config, and labels."""

    from_name: str
    to_name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class SimulatedAnnotator:
    """A Label Studio user who answers right with probability ``accuracy``."""

    account: Account
    accuracy: float

    def answer(self, truth: str, labels: Sequence[str], rng: random.Random) -> str:
        if rng.random() < self.accuracy or len(labels) < 2:
            return truth
        return rng.choice([label for label in labels if label != truth])


def choice_result(control: Choices, label: str) -> list[dict[str, Any]]:
    """The Label Studio result of ticking ``label``."""
    return [
        {
            "from_name": control.from_name,
            "to_name": control.to_name,
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def answer_project(
    server: LocalLabelStudio,
    project_id: int,
    annotators: Sequence[SimulatedAnnotator],
    control: Choices,
    truth: Callable[[Mapping[str, Any]], str],
    *,
    seed: int = 7,
    on_answer: Callable[[int], None] | None = None,
) -> int:
    """Let the annotators answer every task they are offered; return the number of answers."""
    rng = random.Random(seed)
    clients = [(a, server.client(a.account)) for a in annotators]
    active = list(clients)
    given = 0
    while active:
        for annotator, client in list(active):
            task = client.next_task(project_id)
            if task is None:
                active.remove((annotator, client))
                continue
            label = annotator.answer(truth(task.data), control.labels, rng)
            client.create_annotation(task.id, choice_result(control, label), lead_time=3.0)
            given += 1
            if on_answer is not None:
                on_answer(given)
    return given


def replay_answers(
    client_for: Callable[[str], LabelStudioClient],
    tasks: Mapping[str, int],
    answers: Sequence[tuple[str, str, str]],
    control: Choices,
) -> int:
    """Post recorded ``(item, worker, label)`` answers to the tasks of ``tasks`` (item → id).

    ``client_for(worker)`` gives the client of the account standing in for that worker.
    Answers to items with no task are ignored; the number posted is returned.
    """
    posted = 0
    for item, worker, label in answers:
        task_id = tasks.get(item)
        if task_id is None:
            continue
        client_for(worker).create_annotation(task_id, choice_result(control, label))
        posted += 1
    return posted
