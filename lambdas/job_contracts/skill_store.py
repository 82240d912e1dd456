"""The project's worker skill as additive counts in DynamoDB, updated by every batch.

Every consolidation call reads its project's current skill before it consolidates and adds
what the batch learned afterwards, so skill carries from batch to batch and job to job while
jobs run, not only once they are published. What is stored is additive (sufficient
statistics), so a batch's contribution is a sum and concurrent batches never overwrite each
other:

=====================  ==========================================================================
item (``project``,     attributes
``entry``)
=====================  ==========================================================================
``worker#<worker>``    ``worker``; ``answers`` (answers used); ``accuracySum`` (accuracy x
                       answers); ``count:<json [true, given]>`` (classification's soft confusion
                       counts); ``metric:<name>`` (each task-type figure x answers)
``batch#<digest>``     ``recordedAt``: the batch (or the ``#<n>`` chunk of it) has been added
=====================  ==========================================================================

A batch is added in one DynamoDB transaction per 99 workers: its marker is put on condition
that it does not exist, and every worker's numbers are ``ADD``-ed. A retried or concurrent
invocation of the same batch finds the marker and adds nothing, so no batch counts twice; a
transaction that collides with another batch updating the same worker is retried.

Reading is one query of the project's ``worker#`` items: the workers of the batch and the rest
of the project's crowd, whose sum is the pool a new worker starts from.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from job_contracts.skills import SkillRecord, StoredSkills
from job_contracts.tokens import THROTTLING_ERRORS, error_code

__all__ = ["WORKERS_PER_TRANSACTION", "SkillStore", "table_definition"]

#: One transaction holds at most 100 actions: the batch marker and 99 workers.
WORKERS_PER_TRANSACTION = 99
_ATTEMPTS = 6
_RETRIED = frozenset({"TransactionConflict", *THROTTLING_ERRORS})
_WORKER = "worker#"
_COUNT = "count:"
_METRIC = "metric:"


def table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments of a skills table with the stack's keys, for in-process runs
    (the demo's round trip, tests) that have no deployed stack."""
    return {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "project", "KeyType": "HASH"},
            {"AttributeName": "entry", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "project", "AttributeType": "S"},
            {"AttributeName": "entry", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


class SkillStore:
    """The skills table, through a DynamoDB client (``boto3.client("dynamodb")``)."""

    def __init__(self, dynamodb: Any, table: str, *, sleep: Any = time.sleep) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._sleep = sleep

    def read(self, project: str) -> StoredSkills:
        """Every worker's skill in ``project`` so far (consistent read); none for a new project.

        An item that cannot be read is left out and reported in :attr:`StoredSkills.error`; the
        rest is used.
        """
        records: dict[str, SkillRecord] = {}
        bad = 0
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._table,
            ConsistentRead=True,
            KeyConditionExpression="#p = :p AND begins_with(#e, :w)",
            ExpressionAttributeNames={"#p": "project", "#e": "entry"},
            ExpressionAttributeValues={":p": {"S": project}, ":w": {"S": _WORKER}},
        )
        for page in pages:
            for item in page.get("Items", []):
                record = _record(item)
                if record is None:
                    bad += 1
                else:
                    records[record.worker_id] = record
        error = f"{bad} unreadable worker item(s) in the skills table were left out"
        return StoredSkills(records or None, error if bad else None)

    def has(self, project: str, batch: str) -> bool:
        """Whether ``batch`` (its first part, at least) has been added."""
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={"project": {"S": project}, "entry": {"S": f"batch#{batch}"}},
            ConsistentRead=True,
        ).get("Item")
        return item is not None

    def add(self, project: str, batch: str, records: Sequence[SkillRecord]) -> bool:
        """Add one batch's skill; ``False`` when every part of it had been added already.

        Args:
            project: the project.
            batch: the batch's id (the digest of its consolidation request).
            records: what the batch learned about each worker (its own answers only).

        Raises:
            Exception: DynamoDB's error when a transaction still fails after retries (a
                throttled or conflicting write), so the invocation fails and is retried.
        """
        added = False
        workers = [r for r in records if r.answers > 0 or r.counts]
        chunks = [
            workers[i : i + WORKERS_PER_TRANSACTION]
            for i in range(0, len(workers), WORKERS_PER_TRANSACTION)
        ] or [[]]
        for n, chunk in enumerate(chunks):
            marker = f"batch#{batch}" if n == 0 else f"batch#{batch}#{n}"
            added |= self._transact(project, marker, chunk)
        return added

    def _transact(self, project: str, marker: str, chunk: Sequence[SkillRecord]) -> bool:
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "project": {"S": project},
                        "entry": {"S": marker},
                        "recordedAt": {"N": str(int(time.time()))},
                    },
                    "ConditionExpression": "attribute_not_exists(#e)",
                    "ExpressionAttributeNames": {"#e": "entry"},
                }
            },
            *(self._update(project, record) for record in chunk),
        ]
        for attempt in range(_ATTEMPTS):
            try:
                self._dynamodb.transact_write_items(TransactItems=actions)
            except Exception as exc:
                if _marker_exists(exc):
                    return False
                if error_code(exc) not in _RETRIED or attempt == _ATTEMPTS - 1:
                    raise
                self._sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
            else:
                return True
        return False  # pragma: no cover - the loop returns or raises

    def _update(self, project: str, record: SkillRecord) -> dict[str, Any]:
        names: dict[str, str] = {"#w": "worker"}
        values: dict[str, Any] = {
            ":w": {"S": record.worker_id},
            ":a": {"N": _number(record.answers)},
            ":s": {"N": _number(record.accuracy * record.answers)},
        }
        added = ["answers :a", "accuracySum :s"]
        for (true, given), n in _cells(record.counts):
            key = str(len(names))
            names[f"#c{key}"] = _COUNT + json.dumps([true, given], ensure_ascii=False)
            values[f":c{key}"] = {"N": _number(n)}
            added.append(f"#c{key} :c{key}")
        for name, value in sorted(record.metrics.items()):
            key = str(len(names))
            names[f"#m{key}"] = _METRIC + name
            values[f":m{key}"] = {"N": _number(value * record.answers)}
            added.append(f"#m{key} :m{key}")
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"project": {"S": project}, "entry": {"S": _WORKER + record.worker_id}},
                "UpdateExpression": "SET #w = :w ADD " + ", ".join(added),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }


def _cells(counts: Mapping[str, Mapping[str, float]] | None) -> list[tuple[tuple[str, str], float]]:
    if not counts:
        return []
    return sorted(((t, g), n) for t, row in counts.items() for g, n in row.items() if n > 0)


def _number(x: float) -> str:
    return repr(round(float(x), 6))


def _marker_exists(exc: BaseException) -> bool:
    """Whether a transaction was cancelled because its batch marker is there already."""
    if error_code(exc) != "TransactionCanceledException":
        return False
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def _record(item: Mapping[str, Any]) -> SkillRecord | None:
    """A worker item as a skill record; ``None`` when it is malformed."""
    try:
        worker = item["worker"]["S"]
        answers = float(item["answers"]["N"])
        accuracy_sum = float(item.get("accuracySum", {"N": "0"})["N"])
        counts: dict[str, dict[str, float]] = {}
        metrics: dict[str, float] = {}
        for name, value in item.items():
            if name.startswith(_COUNT):
                true, given = json.loads(name[len(_COUNT) :])
                counts.setdefault(str(true), {})[str(given)] = float(value["N"])
            elif name.startswith(_METRIC) and answers > 0:
                metrics[name[len(_METRIC) :]] = float(value["N"]) / answers
    except (KeyError, TypeError, ValueError):
        return None
    accuracy = min(max(accuracy_sum / answers, 0.0), 1.0) if answers > 0 else 0.0
    return SkillRecord(worker, round(answers), accuracy, None, metrics, counts or None)
