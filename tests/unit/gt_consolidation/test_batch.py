"""Consolidating one Ground Truth batch: label values, the no-consensus contract, skill."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from consolidation import ConsolidationError
from gt_consolidation.batch import Batch, consolidate_batch, mask_location, to_json_bytes
from gt_consolidation.task_types import MaskLocation
from gt_contracts import (
    ContractError,
    PayloadObject,
    PostAnnotationEvent,
    ProjectConfig,
    WorkerAnnotation,
    parse_payload,
)
from job_contracts.layout import payload_digest
from job_contracts.skills import StoredSkills, load_skills

LABELS = ("negative", "neutral", "positive")
PAYLOAD_URI = (
    "s3://gt-out/output/reviews-1/annotations/consolidated-annotation/consolidation-request/"
    "iteration-1/2024-05-06_09:15:42.json"
)


def _request(**overrides: Any) -> PostAnnotationEvent:
    fields: dict[str, Any] = {
        "version": "2018-10-16",
        "labeling_job_arn": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/reviews-1",
        "job_name": "reviews-1",
        "label_categories": LABELS,
        "label_attribute_name": "sentiment",
        "role_arn": "arn:aws:iam::111122223333:role/gt",
        "payload_uri": PAYLOAD_URI,
    }
    return PostAnnotationEvent(**{**fields, **overrides})


def _project(method: str = "majority-vote", **params: Any) -> ProjectConfig:
    return ProjectConfig(
        name="reviews",
        task_type="text-classification",
        labels=LABELS,
        method=method,
        method_params=params,
    )


def _says(worker: str, label: str, name: str = "sentiment") -> WorkerAnnotation:
    return WorkerAnnotation(worker, json.dumps({name: {"label": label}}), None)


def _label(label: str) -> dict[str, Any]:
    return {"sentiment": {"label": label}}


def _obj(object_id: str, *annotations: WorkerAnnotation) -> PayloadObject:
    return PayloadObject(object_id, {"content": "text"}, annotations)


def _consolidate(*objects: PayloadObject, **batch: Any) -> list[dict[str, Any]]:
    fields: dict[str, Any] = {"request": _request(), "project": _project(), "objects": objects}
    result = consolidate_batch(Batch(**{**fields, **batch}))
    return [
        r["consolidatedAnnotation"]["content"]["sentiment"] for r in result.to_response("sentiment")
    ]


def test_consolidate_batch_reproduces_the_sample_classification(load_event):
    objects = parse_payload(load_event("payload.textclass.3workers.json"))
    expected = load_event("consolidation-response.textclass.json")

    result = consolidate_batch(Batch(request=_request(), project=_project(), objects=objects))
    response = result.to_response("sentiment")

    assert [r["datasetObjectId"] for r in response] == ["0", "1"]
    for got, want in zip(response, expected, strict=True):
        value = got["consolidatedAnnotation"]["content"]["sentiment"]
        sample = want["consolidatedAnnotation"]["content"]["sentiment"]
        assert value == {**sample, "confidence": pytest.approx(sample["confidence"], abs=0.01)}


def test_consolidate_batch_keeps_payload_order_and_every_object():
    objects = [_obj(str(i), _says("a", "positive"), _says("b", "positive")) for i in (9, 3, 5)]

    result = consolidate_batch(Batch(request=_request(), project=_project(), objects=objects))

    assert [item.dataset_object_id for item in result.items] == ["9", "3", "5"]
    assert result.no_consensus == 0


def test_consolidate_batch_uses_the_project_labels_when_the_event_has_none():
    values = _consolidate(
        _obj("0", _says("a", "neutral"), _says("b", "neutral")),
        request=_request(label_categories=None),
    )

    assert values[0]["class-id"] == 1


def test_an_answer_without_a_worker_id_costs_its_item_only():
    answer = {"workerId": "a", "annotationData": {"content": json.dumps(_label("positive"))}}
    objects = parse_payload(
        [
            {"datasetObjectId": "0", "annotations": [answer, {**answer, "workerId": "b"}]},
            {"datasetObjectId": "1", "annotations": [answer, {"annotationData": {}}]},
        ]
    )

    result = consolidate_batch(Batch(request=_request(), project=_project(), objects=objects))

    assert [item.problem for item in result.items] == [None, "malformed-annotation"]
    assert result.items[0].value["class-name"] == "positive"
    assert result.items[1].value == {
        "no-consensus": True,
        "reason": "payload[1].annotations[1].workerId is missing",
        "workers": 2,
        "method": "majority-vote",
    }


NO_CONSENSUS_CASES = {
    "no-answers": (_obj("0"), "no worker answers"),
    "invalid-content": (
        _obj("0", _says("a", "positive"), WorkerAnnotation("b", "{not json", None)),
        "worker 'b': content is not JSON",
    ),
    "malformed-answer": (
        _obj("0", _says("a", "positive"), WorkerAnnotation("b", '{"q": {"labels": []}}', None)),
        "worker 'b': no top-level answer is an object with 'label'",
    ),
    "unknown-label": (
        _obj("0", _says("a", "positive"), _says("b", "ecstatic")),
        "worker 'b' gave unknown label 'ecstatic'",
    ),
    "missing-answer": (
        _obj("0", WorkerAnnotation("a", None, None)),
        "annotation of worker 'a' has neither content nor s3Uri",
    ),
    "unreadable-annotation": (
        _obj("0", WorkerAnnotation("a", None, "s3://b/a.json")),
        "annotation of worker 'a' at s3://b/a.json is unreadable: S3 NoSuchKey",
    ),
    "malformed-annotation": (
        _obj("0", _says("a", "positive"), WorkerAnnotation("", None, None, "workerId is bad")),
        "workerId is bad",
    ),
}


@pytest.mark.parametrize("problem", sorted(NO_CONSENSUS_CASES))
def test_consolidate_batch_reports_each_unusable_item_as_no_consensus(problem):
    bad, reason = NO_CONSENSUS_CASES[problem]
    good = _obj("ok", _says("a", "positive"), _says("b", "positive"))
    batch = Batch(
        request=_request(),
        project=_project(),
        objects=[bad, good],
        unreadable={"s3://b/a.json": "S3 NoSuchKey"},
    )

    result = consolidate_batch(batch)
    value = result.items[0].value

    assert result.items[0].problem == problem
    assert value == {
        "no-consensus": True,
        "reason": value["reason"],
        "workers": len({a.worker_id for a in bad.annotations}),
        "method": "majority-vote",
    }
    assert reason in value["reason"]
    assert result.items[1].consensus
    assert result.problems == {problem: 1}


def test_consolidate_batch_gives_a_broken_annotation_only_its_item_a_no_consensus():
    # Given a batch file where one annotation's workerId and another's annotationData break
    # the documented structure
    good = {"workerId": "a", "annotationData": {"content": json.dumps(_label("positive"))}}
    raw = [
        {"datasetObjectId": "0", "annotations": [good, {"workerId": 7}]},
        {"datasetObjectId": "1", "annotations": [good, {"workerId": "b", "annotationData": 1}]},
        {"datasetObjectId": "2", "annotations": [good]},
    ]

    # When the batch is consolidated
    result = consolidate_batch(
        Batch(request=_request(), project=_project(), objects=parse_payload(raw))
    )

    # Then only the items holding a broken annotation have no consensus, with the reason
    assert [item.problem for item in result.items] == [
        "malformed-annotation",
        "malformed-annotation",
        None,
    ]
    assert result.items[0].value["reason"] == (
        "payload[0].annotations[1].workerId must be a non-empty string, got int"
    )
    assert result.items[1].value["reason"] == (
        "payload[1].annotations[1].annotationData must be a JSON object, got int"
    )
    assert result.items[2].value["class-name"] == "positive"


def test_consolidate_batch_counts_each_worker_once_in_a_repeated_element():
    element = {
        "datasetObjectId": "0",
        "annotations": [
            {"workerId": "a", "annotationData": {"content": json.dumps(_label("positive"))}},
            {"workerId": "b", "annotationData": {"content": json.dumps(_label("positive"))}},
        ],
    }

    (value,) = _consolidate(*parse_payload([element, element]))

    assert value["class-name"] == "positive"
    assert value["workers"] == 2


def test_consolidate_batch_reads_annotations_fetched_by_uri():
    obj = _obj(
        "0",
        WorkerAnnotation("a", None, "s3://b/a.json"),
        WorkerAnnotation("b", None, "s3://b/b.json"),
    )
    fetched = {
        "s3://b/a.json": json.dumps({"x": {"label": "neutral"}}),
        "s3://b/b.json": json.dumps({"x": {"label": "neutral"}}),
    }

    values = _consolidate(obj, fetched=fetched)

    assert values[0]["class-name"] == "neutral"
    assert values[0]["workers"] == 2


def test_consolidate_batch_reports_an_annotation_that_was_not_fetched():
    values = _consolidate(_obj("0", WorkerAnnotation("a", None, "s3://b/a.json")))

    assert values[0]["reason"] == "annotation of worker 'a' at s3://b/a.json was not fetched"


def test_consolidate_batch_reports_the_method_refusing_a_tie():
    values = _consolidate(
        _obj("0", _says("a", "positive"), _says("b", "negative")),
        project=_project(tie_policy="no_consensus"),
    )

    assert values[0]["no-consensus"] is True
    assert values[0]["reason"] == "tie between ['negative', 'positive']"


def test_consolidate_batch_every_value_carries_confidence_workers_and_method():
    values = _consolidate(
        _obj("0", _says("a", "positive"), _says("b", "positive"), _says("c", "neutral")),
        project=_project("auto"),
    )

    assert values[0]["class-name"] == "positive"
    assert 0.5 < values[0]["confidence"] < 1.0
    assert values[0]["workers"] == 3
    assert values[0]["method"] == "auto"


def test_consolidate_batch_counts_a_repeated_worker_once_with_the_last_answer():
    repeated = _obj("0", _says("a", "negative"), _says("b", "positive"), _says("a", "positive"))
    batch = Batch(request=_request(), project=_project(), objects=[repeated])

    result = consolidate_batch(batch)

    assert result.items[0].value["class-name"] == "positive"
    assert result.items[0].value["workers"] == 2
    assert result.skills["repeated_answers"] == 1


def test_consolidate_batch_uses_prior_skill():
    obj = _obj("0", _says("a", "positive"), _says("b", "negative"))
    skills = [
        {"worker": "a", "answers": 50, "accuracy": 0.95},
        {"worker": "b", "answers": 50, "accuracy": 0.3},
    ]
    prior = load_skills(json.dumps({"workers": skills}))

    without = _consolidate(obj, project=_project("weighted-vote"))
    with_prior = _consolidate(obj, project=_project("weighted-vote"), prior=prior)

    assert without[0]["class-name"] == "negative"  # a tie goes to the first label
    assert with_prior[0]["class-name"] == "positive"  # the reliable worker wins


def test_consolidate_batch_writes_worker_skill_and_prior_summary():
    obj = _obj("0", _says("a", "positive"), _says("b", "positive"))
    prior = StoredSkills(error="prior skill ignored: expected a 'workers' list")

    result = consolidate_batch(
        Batch(request=_request(), project=_project(), objects=[obj], prior=prior)
    )

    assert {w["worker"] for w in result.skills["workers"]} == {"a", "b"}
    assert result.skills["method"] == "majority-vote"
    assert result.skills["payload_uri"] == PAYLOAD_URI
    assert result.skills["prior"] == {
        "key": "skills/reviews/prior.json",
        "workers": 0,
        "error": "prior skill ignored: expected a 'workers' list",
    }
    json.loads(to_json_bytes(result.skills))


def test_consolidate_batch_with_no_usable_item_reports_the_configured_method():
    result = consolidate_batch(
        Batch(request=_request(), project=_project("dawid-skene"), objects=[_obj("0")])
    )

    assert result.items[0].value["method"] == "dawid-skene"
    assert result.skills["workers"] == []


def test_consolidate_batch_raises_on_an_unknown_method():
    obj = _obj("0", _says("a", "positive"))

    with pytest.raises(ConsolidationError, match="unknown method 'best-guess'"):
        consolidate_batch(Batch(request=_request(), project=_project("best-guess"), objects=[obj]))


def test_consolidate_batch_raises_on_bad_method_parameters():
    obj = _obj("0", _says("a", "positive"))

    with pytest.raises(ConsolidationError, match="bad parameters for method 'majority-vote'"):
        consolidate_batch(Batch(request=_request(), project=_project(rounds=3), objects=[obj]))


# -- prior skill -----------------------------------------------------------------------------------


def test_mask_location_follows_the_job_output_layout():
    location = mask_location(
        PAYLOAD_URI, artifacts_bucket="artifacts", project="reviews", job_name="reviews-1"
    )

    assert location == MaskLocation(
        "gt-out",
        "output/reviews-1/annotations/consolidated-annotation/output/",
        "2024-05-06T09:15:42",
    )
    assert location.key("7") == (
        "output/reviews-1/annotations/consolidated-annotation/output/7_2024-05-06T09:15:42.png"
    )


def test_mask_location_handles_a_job_at_the_bucket_root_and_other_stamps():
    uri = "s3://gt-out/annotations/consolidated-annotation/consolidation-request/iteration-2/b.json"

    location = mask_location(uri, artifacts_bucket="art", project="p", job_name="p-1")

    assert location == MaskLocation(
        "gt-out", "annotations/consolidated-annotation/output/", payload_digest(uri)
    )


def test_mask_location_falls_back_to_the_artifacts_bucket():
    uri = "s3://elsewhere/batches/batch-7.json"

    location = mask_location(uri, artifacts_bucket="art", project="p", job_name="p-1")

    assert location == MaskLocation("art", "masks/p/p-1/", payload_digest(uri))


def test_mask_location_rejects_a_bad_payload_uri():
    with pytest.raises(ContractError, match=r"payload\.s3Uri"):
        mask_location("nope", artifacts_bucket="art", project="p", job_name="p-1")


def test_to_json_bytes_converts_numpy_values_and_sorts_keys():
    doc = {"b": np.float64(0.5), "a": np.arange(2), "c": float("nan"), "d": {np.int64(1)}}

    assert to_json_bytes(doc) == b'{"a":[0,1],"b":0.5,"c":null,"d":[1]}'
