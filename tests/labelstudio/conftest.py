"""Fixtures of the Label Studio tests: one real local Label Studio per test process.

Under ``pytest -n 2`` each worker that runs one of these tests starts its own server (about
10 s from the initialised data directory, which the first of them builds for both). Keeping
them on one worker with ``--dist loadgroup`` does not work with pytest 9.2 and
pytest-xdist 3.8: the group is silently ignored (pytest-xdist issue #1386). A server that
cannot start fails the tests with the reason and the end of its log; nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from label_studio_api import LabelStudioClient
from labelflow.local.label_studio import Account, LabelStudioStartError, LocalLabelStudio

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"

TEXT_CLASSIFICATION = """
<View>
  <Text name="text" value="$text"/>
  <Choices name="tone" toName="text" choice="single" showInline="true">
    <Choice value="positive"/>
    <Choice value="negative"/>
    <Choice value="neutral"/>
  </Choices>
</View>
""".strip()


@pytest.fixture(scope="session")
def label_studio() -> Iterator[LocalLabelStudio]:
    """The running server; its log is kept in test-artifacts/label-studio/."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    studio = LocalLabelStudio(log_path=ARTIFACTS / "label-studio" / f"server-{worker}.log")
    try:
        studio.start()
    except LabelStudioStartError as error:
        pytest.fail(f"could not start the local Label Studio: {error}", pytrace=False)
    try:
        yield studio
    finally:
        studio.stop()


@pytest.fixture(scope="session")
def admin(label_studio: LocalLabelStudio) -> LabelStudioClient:
    return label_studio.client()


@pytest.fixture(scope="session")
def annotators(label_studio: LocalLabelStudio) -> list[Account]:
    """Three annotator accounts, shared by the tests of the session."""
    return label_studio.create_annotators(3)


def choice(label: str, from_name: str = "tone", to_name: str = "text") -> dict[str, object]:
    """A single-choice answer region."""
    return {
        "from_name": from_name,
        "to_name": to_name,
        "type": "choices",
        "value": {"choices": [label]},
    }
