"""`labelflow local up`: the whole stack on 127.0.0.1, answered by simulated workers.

:class:`LocalStack` synthesizes the stage (in-process, like the tests: asset bundling off, a
placeholder work team so the job workflow exists) into ``.labelflow/cdk.out`` when that
assembly is missing or older than the code, starts :class:`~labelflow.local.server.LocalAws`
with the fake labeling jobs running in the background, deploys the stack into it, registers a
:class:`LocalWorkforce` for every labeling job, and writes the state file the other commands
read with ``--local``. Stopping removes the state file and stops the emulator.

What the simulated workers answer: a manifest line's ``truth`` key when it has one (in the
task type's answer shape, or a plain label for classification); otherwise, for
classification, a label picked from the project's labels by a stable hash of the item (so
workers have something to agree on), for free text the item's text, and for numbers 0. Other
task types need ``truth`` in each line; without it their labeling job fails and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelflow.local.workforce import SimulatedWorker, SimulatedWorkforce, WorkerAnswer, WorkerTask

if TYPE_CHECKING:
    from infra.config import StageConfig

__all__ = [
    "LOCAL_WORKTEAM_ARN",
    "LocalStack",
    "LocalWorkforce",
    "assembly_is_stale",
    "default_truth",
    "synthesize",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Only names the work team of the local stack's labeling jobs; the fake never checks it.
LOCAL_WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/local"
_SOURCES = ("app.py", "cdk.json", "infra", "lambdas", "worker_ui")
_SKIP_DIRS = frozenset({"__pycache__", "tests"})


def _newest_source(root: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = root / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
                for filename in filenames:
                    newest = max(newest, (Path(dirpath) / filename).stat().st_mtime)
    return newest


def assembly_is_stale(cdk_out: Path, stack: str, root: Path = REPO_ROOT) -> bool:
    """True when ``cdk_out`` has no template of ``stack`` or the code changed after it."""
    template = cdk_out / f"{stack}.template.json"
    if not template.is_file():
        return True
    return _newest_source(root) > template.stat().st_mtime


def synthesize(cdk_out: Path, stage: str) -> str:
    """Synthesize ``stage`` for the emulator into ``cdk_out``; return the stack name."""
    from dataclasses import replace

    from infra.config import STAGES

    if stage not in STAGES:
        known = ", ".join(sorted(STAGES))
        raise ValueError(f"unknown stage {stage!r} (known stages: {known})")
    return synthesize_config(cdk_out, replace(STAGES[stage], workteam_arn=LOCAL_WORKTEAM_ARN))


def synthesize_config(cdk_out: Path, config: StageConfig) -> str:
    """Synthesize a stage configuration for the emulator into ``cdk_out``; return the stack.

    Asset bundling is skipped (the functions' code is the plain ``lambdas/`` folder, and the
    emulator's handlers import layer packages from this environment).
    """
    from aws_cdk import App

    from infra import assembly

    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(
        context={**context, "stage": config.stage, "aws:cdk:bundling-stacks": []},
        outdir=str(cdk_out),
        builtin_cloud_formation_validation=False,
    )
    stack = assembly.build_stacks(app, config)
    app.synth()
    return stack.stack_name


def _stable_index(text: str, size: int) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


def default_truth(line: Mapping[str, Any], task_type: str, labels: tuple[str, ...]) -> Any:
    """What simulated workers take as the right answer of a manifest line (module docstring).

    Raises:
        ValueError: the task type needs a ``truth`` key and the line has none.
    """
    if "truth" in line:
        return line["truth"]
    item = str(line.get("source-ref", line.get("source", "")))
    if task_type.endswith("-multilabel") and labels:
        return [labels[_stable_index(item, len(labels))]]
    if task_type.endswith("classification") and labels:
        return labels[_stable_index(item, len(labels))]
    if task_type == "free-text":
        return str(line.get("source", item))
    if task_type == "numeric":
        return 0
    raise ValueError(
        f"simulated workers need a 'truth' key in each {task_type} manifest line "
        "(the answer they should give)"
    )


@dataclass
class LocalWorkforce:
    """Simulated workers of a given accuracy answering every labeling job of the emulator."""

    workers: int = 5
    accuracy: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("the local workforce needs at least one worker")
        if not 0.0 <= self.accuracy <= 1.0:
            raise ValueError(f"worker accuracy {self.accuracy} is not between 0 and 1")

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]:
        truth = default_truth(task.line, task.task_type, task.labels)
        team = SimulatedWorkforce(
            workers=[
                SimulatedWorker(f"local-worker-{index + 1}", self.accuracy)
                for index in range(self.workers)
            ],
            truth=lambda _line: truth,
            seed=self.seed,
        )
        return team.answers(task)


class LocalStack:
    """The emulator with the stack deployed; a context manager.

    Args:
        stage: Stage of ``infra.config.STAGES`` to deploy.
        state_file: Where to write the state the ``--local`` commands read.
        cdk_out: A cloud assembly to deploy as is; default: ``.labelflow/cdk.out`` next to
            the state file, synthesized when stale.
        workforce: Who answers the labeling jobs.
    """

    def __init__(
        self,
        *,
        stage: str = "dev",
        state_file: Path,
        cdk_out: Path | None = None,
        stack: str | None = None,
        workforce: LocalWorkforce | None = None,
    ) -> None:
        self.stage = stage
        self.state_file = state_file
        self.cdk_out = cdk_out
        self.stack = stack or f"labelflow-{stage}-Labeling"
        self.workforce = workforce or LocalWorkforce()
        self.outputs: dict[str, str] = {}
        self.synthesized = False
        self._aws: Any = None

    def prepare(self) -> Path:
        """The cloud assembly to deploy, synthesized first when missing or stale."""
        if self.cdk_out is not None:
            return self.cdk_out
        cdk_out = self.state_file.parent / "cdk.out"
        if assembly_is_stale(cdk_out, self.stack):
            self.stack = synthesize(cdk_out, self.stage)
            self.synthesized = True
        return cdk_out

    def start(self) -> LocalStack:
        from labelflow.local import fake_sagemaker
        from labelflow.local.deploy import deploy
        from labelflow.local.server import LocalAws

        cdk_out = self.prepare()
        self._aws = LocalAws(run_jobs_in_background=True).start()
        try:
            deployment = deploy(
                cdk_out,
                self.stack,
                client=self._aws.client,
                function_url_base=self._aws.function_url_base,
            )
            self.outputs = {key: str(value) for key, value in deployment.outputs.items()}
            fake_sagemaker.register_workforce(self.workforce)
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def endpoint_url(self) -> str:
        return str(self._aws.endpoint_url) if self._aws is not None else ""

    def _write_state(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "endpoint": self.endpoint_url,
            "region": self._aws.region,
            "stack": self.stack,
            "stage": self.stage,
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "outputs": self.outputs,
        }
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.state_file)

    def stop(self) -> None:
        from labelflow.local import fake_sagemaker

        if self._aws is None:
            return
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            if state.get("endpoint") == self.endpoint_url:
                self.state_file.unlink()
        except (OSError, ValueError):
            pass  # no state file of ours to remove
        try:
            self._aws.stop()
        finally:
            self._aws = None
            fake_sagemaker.clear_workforces()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
