"""Importing a Ground Truth handler stays cheap: heavy modules load on first use only.

Timing is measured outside the test suite; this pins what makes the difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "numpy", "consolidation", "PIL", "aws_xray_sdk.core")


@pytest.mark.parametrize(
    "module",
    [
        "pre_annotation.handler",
        "post_annotation.handler",
        "start_labeling_job.handler",
        "job_events.handler",
        "reconcile_jobs.handler",
        "validate_manifest.handler",
        "start_job.handler",
        "publish_job.handler",
        "record_failure.handler",
        "labelstudio_backend.start",
        "labelstudio_backend.webhook",
        "labelstudio_backend.sweep",
    ],
)
def test_importing_a_handler_loads_no_heavy_module(module):
    code = (
        f"import json, sys, {module}; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "lambdas"), str(REPO_ROOT)]),
        "POWERTOOLS_TRACE_DISABLED": "1",
    }

    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(out.stdout) == []
