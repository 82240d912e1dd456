"""Run the CDK app's JavaScript side (jsii) on the Node.js the project pins.

``aws_cdk`` is a jsii library: importing it starts a ``node`` process, found on ``PATH``
(or named by ``JSII_NODE``). Whatever Node a machine has may be one jsii no longer supports,
which greets a new user with an end-of-life banner. The project pins Node in ``package.json``
(the ``node`` devDependency; ``make setup`` installs it as ``node_modules/.bin/node``), and
:func:`use_pinned_node` puts that folder first on ``PATH``. Call it before ``aws_cdk`` is
imported: commands that load the CDK app (``labelflow preview``, ``local up``, ``demo``) do,
and so does the test session (``tests/conftest.py``).

An explicit ``JSII_NODE`` is respected: whoever sets it chose their Node.
"""

from __future__ import annotations

import os
from pathlib import Path

from labelflow.options import CommandError

__all__ = ["REPO_ROOT", "PinnedNodeMissing", "pinned_node", "use_pinned_node"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class PinnedNodeMissing(CommandError):
    """``node_modules/.bin/node`` is not installed."""


def pinned_node(root: Path = REPO_ROOT) -> Path:
    """The pinned ``node`` binary of the repository at ``root`` (it may be missing)."""
    return root / "node_modules" / ".bin" / "node"


def use_pinned_node(root: Path = REPO_ROOT) -> Path | None:
    """Put the pinned Node's folder first on ``PATH``; return the binary.

    Returns ``None`` and changes nothing when ``JSII_NODE`` is set.

    Raises:
        PinnedNodeMissing: the pinned Node is not installed; the message says how to install it.
    """
    if os.environ.get("JSII_NODE"):
        return None
    node = pinned_node(root)
    if not os.access(node, os.X_OK):
        raise PinnedNodeMissing(
            f"the project's pinned Node.js is not installed ({node} is missing); "
            "install it with: make setup (or: npm ci), or set JSII_NODE to the node "
            "binary to use"
        )
    folder = str(node.parent)
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != folder]
    os.environ["PATH"] = os.pathsep.join([folder, *rest])
    return node
