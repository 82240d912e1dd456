"""Consolidation as Ground Truth runs it: batch after batch, skill carried through the store.

Each set is replayed in one fixed random order (seed :data:`ORDER_SEED`) in batches of
:data:`BATCH_SIZES` items. Every batch goes through the consolidation Lambda's own code,
:func:`gt_consolidation.consolidate_request`, in process against moto's S3 and DynamoDB: a
Ground Truth consolidation request and batch file in, the skill store read before and added to
after, label values out (with the local emulator's moto adaptations, which keep a DynamoDB
transaction's cost independent of the table's size, as in DynamoDB). Two regimes:

* ``carried``: the batches are one project's, so each reads the skill every earlier batch added;
* ``new project``: every batch is the first of a project of its own (no carried skill), the
  regime of a new project's first batches.

crowd-kit's majority vote and Dawid-Skene run on the same batches (crowd-kit has no carried
skill). Accuracy and ECE are scored by :func:`benchmarks.consolidation.run.score`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

BATCH_SIZES = (10, 50, 200)
ORDER_SEED = 20240601
_REGION = "us-east-1"
_ROLE = "arn:aws:iam::111122223333:role/labelflow-consolidation"
_BUCKET = "bench-results"
_ARTIFACTS = "bench-artifacts"
_SKILLS = "bench-skills"

Answers = Mapping[str, Sequence[tuple[str, str]]]  # item -> [(worker, label)]
Labels = dict[str, tuple[str | None, float | None]]  # item -> (label, confidence)


def batches(items: Sequence[str], size: int, seed: int = ORDER_SEED) -> list[list[str]]:
    """``items`` in one random order (fixed by ``seed``), cut into batches of ``size``."""
    order = [items[i] for i in np.random.default_rng(seed).permutation(len(items))]
    return [order[i : i + size] for i in range(0, len(order), size)]


def read_answers(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Every answer of a crowd set's ``answers.csv``, in file order, per item."""
    import csv

    by_item: dict[str, list[tuple[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_item.setdefault(row["question"], []).append((row["worker"], row["answer"]))
    return by_item


def labelflow_replay(
    answers: Answers,
    plan: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    carried: bool,
    progress: Callable[[int], None] | None = None,
) -> Labels:
    """Consolidate ``plan``'s batches through the consolidation Lambda's code, in order."""
    from moto import mock_aws

    for key, value in {
        "AWS_DEFAULT_REGION": _REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }.items():
        os.environ.setdefault(key, value)
    import handler_support
    from labelflow.local import patches

    out: Labels = {}
    handler_support.reset_clients()
    patches.acquire()
    try:
        with mock_aws():
            _replay(answers, plan, labels, carried, progress, out)
    finally:
        patches.release()
        handler_support.reset_clients()
    return out


def _replay(  # noqa: PLR0917 - the replay's arguments, passed on as they are
    answers: Answers,
    plan: Sequence[Sequence[str]],
    labels: Sequence[str],
    carried: bool,
    progress: Callable[[int], None] | None,
    out: Labels,
) -> None:
    import handler_support
    from gt_consolidation import consolidate_request
    from gt_contracts import ProjectConfig
    from job_contracts.skill_store import table_definition

    s3 = handler_support.client("s3")
    for bucket in (_BUCKET, _ARTIFACTS):
        s3.create_bucket(Bucket=bucket)
    dynamodb = handler_support.client("dynamodb")
    dynamodb.create_table(**table_definition(_SKILLS))
    for b, items in enumerate(plan):
        project = "crowd" if carried else f"crowd{b}"
        table = _SKILLS
        if not carried:
            # A new project's empty store; a table of its own keeps the emulator's
            # transactions as cheap as DynamoDB's, however many projects came before.
            table = f"{_SKILLS}-{b}"
            dynamodb.create_table(**table_definition(table))
        config = ProjectConfig(name=project, task_type="text-classification", labels=tuple(labels))
        job = f"{project}-bench-0"
        key = (
            f"{job}/annotations/consolidated-annotation/consolidation-request/iteration-1/{b}.json"
        )
        payload = [
            {
                "datasetObjectId": item,
                "dataObject": {"content": item},
                "annotations": [
                    {
                        "workerId": worker,
                        "annotationData": {"content": json.dumps({project: {"label": label}})},
                    }
                    for worker, label in answers[item]
                ],
            }
            for item in items
        ]
        s3.put_object(Bucket=_BUCKET, Key=key, Body=json.dumps(payload).encode())
        event = {
            "version": "2018-10-16",
            "labelingJobArn": f"arn:aws:sagemaker:{_REGION}:111122223333:labeling-job/{job}",
            "labelCategories": list(labels),
            "labelAttributeName": project,
            "roleArn": _ROLE,
            "payload": {"s3Uri": f"s3://{_BUCKET}/{key}"},
        }
        response = consolidate_request(
            event,
            projects={project: config},
            artifacts_bucket=_ARTIFACTS,
            skills_table=table,
        )
        for entry in response:
            value = entry["consolidatedAnnotation"]["content"][project]
            if value.get("no-consensus"):
                out[entry["datasetObjectId"]] = (None, None)
            else:
                out[entry["datasetObjectId"]] = (value["class-name"], value["confidence"])
        if progress is not None:
            progress(b + 1)


def write_plans(plans: Mapping[str, Mapping[int, Sequence[Sequence[str]]]]) -> Path:
    """The batch plans as a JSON file for the crowd-kit side (``peer_fit.py batched``)."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the caller deletes it
        "w", suffix=".json", delete=False, encoding="utf-8"
    )
    with handle:
        json.dump({name: {str(k): v for k, v in by.items()} for name, by in plans.items()}, handle)
    return Path(handle.name)
