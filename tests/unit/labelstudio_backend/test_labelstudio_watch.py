"""What becomes of a flagged Label Studio worker, whatever the server answers."""

from __future__ import annotations

from typing import Any

import pytest

from job_contracts.worker_alerts import WorkerFlag
from label_studio_api import LabelStudioError, User
from labelstudio_backend.logic import WaitingJob
from labelstudio_backend.watch import _remover

JOB = WaitingJob(
    job_name="reviews-j-0",
    task_token="t",
    job_id="j",
    project="reviews",
    label_studio_project=12,
    deadline=0,
    manifest_uri="s3://results/jobs/j/chunks/0.manifest",
    stored_at=0,
)


def flag(worker: str = "labelstudio.7") -> WorkerFlag:
    return WorkerFlag(
        worker_id=worker, accuracy=0.1, answers=40, upper_bound=0.2, threshold=0.6, min_answers=20
    )


class Studio:
    """Label Studio's answers to the removal calls; records them."""

    def __init__(self, status: int | None = None, organization: int | None = 4) -> None:
        self.status = status
        self.organization = organization
        self.calls: list[tuple[Any, ...]] = []

    def _answer(self, *call: Any) -> None:
        self.calls.append(call)
        if self.status is not None:
            raise LabelStudioError(method="DELETE", path="/x", status=self.status, detail="no")

    def remove_project_member(self, project_id: int, user_id: int) -> None:
        self._answer("project", project_id, user_id)

    def remove_organization_member(self, organization_id: int, user_id: int) -> None:
        self._answer("organization", organization_id, user_id)

    def whoami(self) -> User:
        return User(id=1, email="admin@x", organization=self.organization)


def test_no_removal_configured_means_no_remover() -> None:
    assert _remover(Studio(), JOB, "none") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("removal", "call", "outcome"),
    [
        ("project", ("project", 12, 7), "removed-from-project"),
        ("organization", ("organization", 4, 7), "removed-from-organization"),
    ],
)
def test_a_flagged_worker_is_removed_as_configured(
    removal: str, call: tuple[Any, ...], outcome: str
) -> None:
    studio = Studio()
    remove = _remover(studio, JOB, removal)  # type: ignore[arg-type]

    assert remove is not None
    assert remove(flag()) == outcome
    assert studio.calls == [call]


@pytest.mark.parametrize(
    ("removal", "status", "outcome"),
    [
        ("project", 404, "unsupported"),  # Community Edition: no project membership
        ("project", 403, "failed"),
        ("organization", 404, "removed-from-organization"),  # already out
        ("organization", 405, "failed"),  # the worker is the account LabelFlow acts as
    ],
)
def test_a_refused_removal_is_an_outcome_never_an_error(
    removal: str, status: int, outcome: str
) -> None:
    remove = _remover(Studio(status), JOB, removal)  # type: ignore[arg-type]

    assert remove is not None
    assert remove(flag()) == outcome


def test_a_worker_who_is_no_label_studio_user_is_not_removed() -> None:
    studio = Studio()
    remove = _remover(studio, JOB, "organization")  # type: ignore[arg-type]

    assert remove is not None
    assert remove(flag("private.us-east-1.abc")) == "failed"
    assert studio.calls == []


def test_no_active_organization_fails_the_removal() -> None:
    remove = _remover(Studio(organization=None), JOB, "organization")  # type: ignore[arg-type]

    assert remove is not None
    assert remove(flag()) == "failed"
