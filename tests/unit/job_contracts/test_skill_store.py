"""The skill store on moto's DynamoDB: additive, idempotent per batch, read back whole."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from job_contracts.skill_store import WORKERS_PER_TRANSACTION, SkillStore, table_definition
from job_contracts.skills import SkillRecord, StoredSkills, without


@pytest.fixture
def store() -> Iterator[SkillStore]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition("skills"))
        yield SkillStore(dynamodb, "skills", sleep=lambda _: None)


def _record(worker: str, right: float, wrong: float) -> SkillRecord:
    answers = round(right + wrong)
    counts = {"cat": {"cat": right, "dog": wrong}}
    return SkillRecord(worker, answers, right / (right + wrong), None, {}, counts)


def test_a_new_project_has_no_skill(store: SkillStore) -> None:
    assert store.read("pets") == StoredSkills()


def test_batches_add_up_answer_for_answer(store: SkillStore) -> None:
    assert store.add("pets", "b1", [_record("w1", 8, 2), _record("w2", 5, 5)])
    assert store.add("pets", "b2", [_record("w1", 9, 1)])

    skills = store.read("pets").records
    assert skills is not None
    assert skills["w1"].answers == 20
    assert skills["w1"].counts == {"cat": {"cat": 17.0, "dog": 3.0}}
    assert skills["w1"].accuracy == pytest.approx(0.85)
    assert skills["w2"].counts == {"cat": {"cat": 5.0, "dog": 5.0}}


def test_a_retried_batch_is_never_counted_twice(store: SkillStore) -> None:
    assert store.add("pets", "b1", [_record("w1", 8, 2)])
    assert not store.add("pets", "b1", [_record("w1", 8, 2)])

    skills = store.read("pets").records
    assert skills is not None
    assert skills["w1"].answers == 10
    assert store.has("pets", "b1")
    assert not store.has("pets", "b2")


def test_concurrent_invocations_of_one_batch_count_once(store: SkillStore) -> None:
    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(lambda _: store.add("pets", "b1", [_record("w1", 8, 2)]), range(4)))

    assert added.count(True) == 1
    skills = store.read("pets").records
    assert skills is not None
    assert skills["w1"].answers == 10


def test_a_batch_of_many_workers_is_added_in_parts_each_once(store: SkillStore) -> None:
    workers = [_record(f"w{i:03}", 1, 0) for i in range(WORKERS_PER_TRANSACTION * 2 + 5)]

    assert store.add("pets", "big", workers)
    assert not store.add("pets", "big", workers)

    skills = store.read("pets").records
    assert skills is not None
    assert len(skills) == len(workers)
    assert {record.answers for record in skills.values()} == {1}


def test_projects_are_kept_apart(store: SkillStore) -> None:
    store.add("pets", "b1", [_record("w1", 8, 2)])
    store.add("cars", "b1", [_record("w1", 1, 1)])

    pets, cars = store.read("pets").records, store.read("cars").records
    assert pets is not None and cars is not None
    assert (pets["w1"].answers, cars["w1"].answers) == (10, 2)


def test_labels_and_metric_names_of_any_shape_round_trip(store: SkillStore) -> None:
    odd = SkillRecord(
        "private.us-east-1.8f3a2c1d9e7b6a54",
        4,
        0.5,
        None,
        {"mean IoU": 0.75},
        {'a "quoted" label': {"naïve, comma": 2.0, "b": 2.0}},
    )

    store.add("pets", "b1", [odd])

    (back,) = (store.read("pets").records or {}).values()
    assert back.worker_id == odd.worker_id
    assert back.counts == odd.counts
    assert back.metrics == {"mean IoU": pytest.approx(0.75)}


def test_without_takes_a_batch_back_out(store: SkillStore) -> None:
    store.add("pets", "b1", [_record("w1", 8, 2)])
    store.add("pets", "b2", [_record("w1", 3, 1), _record("w2", 2, 0)])

    earlier = StoredSkills({"w1": _record("w1", 3, 1), "w2": _record("w2", 2, 0)})
    rest = without(store.read("pets"), earlier).records

    assert rest is not None
    assert set(rest) == {"w1"}
    assert rest["w1"].answers == 10
    counts = rest["w1"].counts
    assert counts is not None
    assert dict(counts["cat"]) == {"cat": pytest.approx(8.0), "dog": pytest.approx(2.0)}
    assert rest["w1"].accuracy == pytest.approx(0.8)
