"""`labelflow demo`: the local labeling flow on real crowd data, offline.

1. Consolidation on real crowd answers: every classification method on the four embedded
   sets (``examples/crowd``), scored against the gold labels: accuracy, expected calibration
   error (ECE) and time. The default (``auto``) is the row that matters.
2. The Ground Truth round trip (when the Lambda code is present): a batch built from the
   ``dog`` set is put into an in-process S3, the real pre-annotation and consolidation Lambda
   handlers run on Ground Truth's documented events, and the resulting output manifest is
   written next to the labels.

Outputs go to ``--out`` (default ``demo-output/``).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from consolidation import classification_method, expected_calibration_error
from labelflow.answers_io import read_answers_csv

__all__ = [
    "DEMO_METHODS",
    "MethodScore",
    "RoundTrip",
    "ground_truth_round_trip",
    "run_demo",
    "score_set",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples" / "crowd"
DEMO_METHODS = ("auto", "dawid-skene", "one-coin-dawid-skene", "weighted-vote", "majority-vote")


@dataclass(frozen=True)
class MethodScore:
    """One method on one set, against the gold labels."""

    dataset: str
    method: str
    items: int
    accuracy: float
    ece: float
    seconds: float


def _truth(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        return {row[0]: row[1] for row in rows}


def score_set(folder: Path, methods: Sequence[str] = DEMO_METHODS) -> list[MethodScore]:
    """Consolidate one set with each method and score it against ``truth.csv``."""
    answers = read_answers_csv(folder / "answers.csv").encode()
    truth = _truth(folder / "truth.csv")
    known = np.asarray([item in truth for item in answers.items])
    gold = np.asarray([truth.get(item, "") for item in answers.items])
    scores = []
    for name in methods:
        started = time.perf_counter()
        result = classification_method(name).aggregate(answers)
        seconds = time.perf_counter() - started
        predicted = np.asarray(answers.labels)[result.label_index]
        correct = (predicted == gold) & (result.label_index >= 0)
        scores.append(
            MethodScore(
                dataset=folder.name,
                method=name,
                items=int(known.sum()),
                accuracy=float(correct[known].mean()),
                ece=expected_calibration_error(result.confidence[known], correct[known]),
                seconds=seconds,
            )
        )
    return scores


def _table(scores: Sequence[MethodScore]) -> str:
    lines = [f"{'set':<15} {'method':<21} {'items':>6} {'accuracy':>9} {'ECE':>6} {'time':>8}"]
    for s in scores:
        lines.append(
            f"{s.dataset:<15} {s.method:<21} {s.items:>6} {s.accuracy:>9.2%} {s.ece:>6.3f} "
            f"{s.seconds * 1000:>6.1f}ms"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class RoundTrip:
    """What the Ground Truth round trip produced."""

    items: int
    answers: int
    no_consensus: int
    accuracy: float
    manifest: Path
    workers: Path


_REGION = "us-east-1"
_JOB = "dogs-demo-2026"
_ATTRIBUTE = "breed"


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def ground_truth_round_trip(folder: Path, out: Path, *, max_items: int = 200) -> RoundTrip:
    """Run the real Ground Truth Lambdas on a batch built from real crowd answers.

    The first ``max_items`` items of ``folder`` become manifest lines; each goes through the
    pre-annotation handler; the crowd's recorded answers become Ground Truth's consolidation
    payload (``crowd-image-classifier`` answers) in an in-process S3; the consolidation handler
    consolidates it; the output manifest is assembled the way Ground Truth writes it.
    """
    from moto import mock_aws

    from job_contracts.skill_store import table_definition
    from labelflow.local.lambda_runtime import invoke

    rows = _read_rows(folder / "answers.csv")
    truth = {r[0]: r[1] for r in _read_rows(folder / "truth.csv")}
    items = list(dict.fromkeys(r[0] for r in rows))[:max_items]
    chosen = set(items)
    labels = sorted({r[2] for r in rows}, key=int)
    project = {
        "dogs": {
            "task_type": "image-classification",
            "labels": labels,
            "method": "auto",
            "method_params": {},
            "short_instruction": "Which breed is this dog?",
            "full_instruction": "Choose the breed that best matches the dog.",
        }
    }
    env = {
        "LABELFLOW_PROJECTS": json.dumps(project),
        "ARTIFACTS_BUCKET": "demo-artifacts",
        "SKILLS_TABLE": "demo-skills",
        "AWS_DEFAULT_REGION": _REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "demo")
    job_arn = f"arn:aws:sagemaker:{_REGION}:111122223333:labeling-job/{_JOB}"
    manifest = [
        {"source-ref": f"s3://demo-intake/dogs/{item}.jpg", "item-id": item} for item in items
    ]
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name=_REGION)
        for bucket in ("demo-intake", "demo-results", "demo-artifacts"):
            s3.create_bucket(Bucket=bucket)
        boto3.client("dynamodb", region_name=_REGION).create_table(
            **table_definition(env["SKILLS_TABLE"])
        )
        for line in manifest:
            response = invoke(
                "pre_annotation.handler.lambda_handler",
                {"version": "2018-10-16", "labelingJobArn": job_arn, "dataObject": line},
                environment=env,
            )
            if response["isHumanAnnotationRequired"] is not True:
                raise RuntimeError(f"pre-annotation skipped {line['source-ref']}")
        answers: dict[str, list[dict[str, Any]]] = {item: [] for item in items}
        for item, worker, label in rows:
            if item in chosen:
                content = json.dumps({_ATTRIBUTE: {"label": label}})
                answers[item].append(
                    {
                        "workerId": f"private.{_REGION}.{worker}",
                        "annotationData": {"content": content},
                    }
                )
        payload = [
            {
                "datasetObjectId": str(i),
                "dataObject": {"s3Uri": line["source-ref"]},
                "annotations": answers[item],
            }
            for i, (item, line) in enumerate(zip(items, manifest, strict=True))
        ]
        key = (
            f"{_JOB}/annotations/consolidated-annotation/consolidation-request/"
            "iteration-1/2026-11-28_12:00:00.json"
        )
        s3.put_object(Bucket="demo-results", Key=key, Body=json.dumps(payload).encode())
        event = {
            "version": "2018-10-16",
            "labelingJobArn": job_arn,
            "labelCategories": labels,
            "labelAttributeName": _ATTRIBUTE,
            "roleArn": "arn:aws:iam::111122223333:role/labelflow-labeling-job",
            "payload": {"s3Uri": f"s3://demo-results/{key}"},
        }
        response = invoke("post_annotation.handler.lambda_handler", event, environment=env)
        skills = s3.list_objects_v2(Bucket="demo-artifacts", Prefix="skills/")["Contents"]
        workers_doc = s3.get_object(Bucket="demo-artifacts", Key=skills[0]["Key"])["Body"].read()

    created = datetime.now(UTC).replace(tzinfo=None).isoformat()
    by_id = {entry["datasetObjectId"]: entry for entry in response}
    lines: list[str] = []
    right = refused = 0
    for i, (item, line) in enumerate(zip(items, manifest, strict=True)):
        value = by_id[str(i)]["consolidatedAnnotation"]["content"][_ATTRIBUTE]
        refused += bool(value.get("no-consensus"))
        right += value.get("class-name") == truth.get(item)
        metadata = {
            "type": "groundtruth/custom",
            "job-name": _JOB,
            "human-annotated": "yes",
            "creation-date": created,
        }
        lines.append(json.dumps({**line, _ATTRIBUTE: value, f"{_ATTRIBUTE}-metadata": metadata}))
    manifest_path = out / "output.manifest"
    manifest_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    workers_path = out / "worker-skills.json"
    workers_path.write_bytes(workers_doc)
    return RoundTrip(
        items=len(items),
        answers=sum(len(a) for a in answers.values()),
        no_consensus=refused,
        accuracy=right / len(items),
        manifest=manifest_path,
        workers=workers_path,
    )


def run_demo(out: Path, data: Path = EXAMPLES) -> int:
    """Run the demo; return the process exit code."""
    out.mkdir(parents=True, exist_ok=True)
    sets = sorted(p for p in data.iterdir() if (p / "answers.csv").is_file())
    if not sets:
        print(f"labelflow demo: no datasets under {data}", file=sys.stderr)
        return 2
    print("1/2 consolidating real crowd answers with every method", file=sys.stderr)
    scores: list[MethodScore] = []
    for folder in sets:
        print(f"    {folder.name} ...", file=sys.stderr)
        scores.extend(score_set(folder))
    table = _table(scores)
    (out / "consolidation-scores.txt").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nscores written to {out / 'consolidation-scores.txt'}")

    print(
        "2/2 Ground Truth round trip: pre-annotation and consolidation Lambdas on an in-process S3",
        file=sys.stderr,
    )
    trip = ground_truth_round_trip(data / "dog", out)
    print(
        f"\nGround Truth round trip on {trip.items} dog images, {trip.answers} real worker "
        f"answers: accuracy {trip.accuracy:.2%} against gold, {trip.no_consensus} without "
        "consensus"
    )
    print(f"output manifest: {trip.manifest}")
    print(f"worker skills:   {trip.workers}")
    first = trip.manifest.read_text(encoding="utf-8").splitlines()[0]
    print(f"first line:      {first}")
    return 0
