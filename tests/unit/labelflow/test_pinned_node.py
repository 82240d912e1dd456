"""Commands that load the CDK app, and the test session, run jsii on the pinned Node.js."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labelflow.pinned_node import REPO_ROOT, PinnedNodeMissing, pinned_node, use_pinned_node


def _fake_root(root: Path) -> Path:
    node = pinned_node(root)
    node.parent.mkdir(parents=True)
    node.write_text("#!/bin/sh\nexit 0\n")
    node.chmod(0o755)
    return node


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """PATH and JSII_NODE restored after the test; JSII_NODE unset."""
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    monkeypatch.delenv("JSII_NODE", raising=False)
    return monkeypatch


def test_the_pinned_node_goes_first_on_path_once(tmp_path: Path, environ: object) -> None:
    node = _fake_root(tmp_path)

    assert use_pinned_node(tmp_path) == node
    assert use_pinned_node(tmp_path) == node

    entries = os.environ["PATH"].split(os.pathsep)
    assert entries[0] == str(node.parent)
    assert entries.count(str(node.parent)) == 1
    assert shutil.which("node") == str(node)


def test_a_missing_pinned_node_says_how_to_install_it(tmp_path: Path, environ: object) -> None:
    before = os.environ["PATH"]

    with pytest.raises(PinnedNodeMissing) as error:
        use_pinned_node(tmp_path)

    assert f"{pinned_node(tmp_path)} is missing" in str(error.value)
    assert "make setup" in str(error.value)
    assert os.environ["PATH"] == before


def test_an_explicit_jsii_node_is_respected(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    environ.setenv("JSII_NODE", "/opt/node/bin/node")
    before = os.environ["PATH"]

    assert use_pinned_node(tmp_path) is None
    assert os.environ["PATH"] == before


def test_the_test_session_runs_jsii_on_the_pinned_node() -> None:
    # jsii starts `node` as found on PATH (tests/conftest.py put the pinned one first).
    assert "JSII_NODE" not in os.environ
    assert shutil.which("node") == str(pinned_node(REPO_ROOT))


def _with_a_broken_node_first(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose first ``node`` on PATH records that it ran, then fails."""
    marker = tmp_path / "the-wrong-node-ran"
    folder = tmp_path / "wrong-node"
    folder.mkdir()
    fake = folder / "node"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    pinned = str(pinned_node(REPO_ROOT).parent)
    rest = [p for p in os.environ["PATH"].split(os.pathsep) if p != pinned]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JSII_NODE", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION")
    }
    env["PATH"] = os.pathsep.join([str(folder), *rest])
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "lambdas")])
    return env, marker


def test_the_broken_node_would_be_used_without_the_pin(tmp_path: Path) -> None:
    # The canary of the next test: importing the CDK as such runs the first node on PATH.
    env, marker = _with_a_broken_node_first(tmp_path)

    imported = subprocess.run(
        [sys.executable, "-c", "import aws_cdk"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert imported.returncode != 0
    assert marker.exists()


def test_preview_loads_the_cdk_app_on_the_pinned_node(tmp_path: Path) -> None:
    env, marker = _with_a_broken_node_first(tmp_path)

    preview = subprocess.run(
        [sys.executable, "-m", "labelflow", "preview", "pets", "--label-studio"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert preview.returncode == 0, preview.stderr
    assert not marker.exists()
    assert "<View>" in preview.stdout
    assert "end-of-life" not in preview.stderr
    assert "b'" not in preview.stderr
