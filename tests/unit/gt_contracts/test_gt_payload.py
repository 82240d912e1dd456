from __future__ import annotations

import json

import pytest

from gt_contracts import ContractError, PayloadObject, WorkerAnnotation, parse_payload


def test_parse_payload_reads_the_sample_batch(load_event):
    objects = parse_payload(load_event("payload.textclass.3workers.json"))

    assert [o.dataset_object_id for o in objects] == ["0", "1"]
    assert objects[0].data_object == {
        "content": "The delivery was late but the support team fixed it quickly."
    }
    assert [a.worker_id for a in objects[0].annotations] == [
        "private.us-east-1.8f3a2c1d9e7b6a54",
        "private.us-east-1.2b7e9d0c4a1f3e68",
        "private.us-east-1.c5d1e8a7f2b90436",
    ]
    assert objects[0].annotations[0].content == '{"sentiment":{"label":"positive"}}'
    assert objects[0].annotations[0].s3_uri is None


def test_parse_payload_accepts_text_and_bytes(load_event):
    raw = load_event("payload.bbox.3workers.json")

    from_text = parse_payload(json.dumps(raw))
    from_bytes = parse_payload(json.dumps(raw).encode())

    assert from_text == from_bytes == parse_payload(raw)


@pytest.mark.parametrize("key", ["s3Uri", "s3uri"])
def test_worker_annotation_reads_s3_uri_in_both_spellings(key):
    annotation = WorkerAnnotation.from_json(
        {"workerId": "w1", "annotationData": {key: "s3://b/answers/w1.json"}}
    )

    assert annotation == WorkerAnnotation("w1", None, "s3://b/answers/w1.json")


def test_worker_annotation_without_answer_parses_with_both_fields_empty():
    assert WorkerAnnotation.from_json({"workerId": "w1"}) == WorkerAnnotation("w1", None, None)
    assert WorkerAnnotation.from_json({"workerId": "w1", "annotationData": {}}) == (
        WorkerAnnotation("w1", None, None)
    )


def test_worker_annotation_keeps_decoded_content_as_json_text():
    annotation = WorkerAnnotation.from_json(
        {"workerId": "w1", "annotationData": {"content": {"q": {"label": "a"}}}}
    )

    assert json.loads(annotation.content or "") == {"q": {"label": "a"}}


def test_parse_payload_turns_integer_ids_into_strings():
    objects = parse_payload([{"datasetObjectId": 7, "annotations": []}])

    assert objects == [PayloadObject("7", {}, ())]


def test_parse_payload_merges_repeated_ids_keeping_every_annotation():
    raw = [
        {"datasetObjectId": "0", "annotations": [{"workerId": "a"}]},
        {"datasetObjectId": "1", "annotations": []},
        {"datasetObjectId": "0", "annotations": [{"workerId": "b"}]},
    ]

    objects = parse_payload(raw)

    assert [o.dataset_object_id for o in objects] == ["0", "1"]
    assert [a.worker_id for a in objects[0].annotations] == ["a", "b"]


def test_parse_payload_treats_missing_annotations_as_none():
    assert parse_payload([{"datasetObjectId": "0"}])[0].annotations == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{oops", "consolidation payload is not valid JSON"),
        ({"datasetObjectId": "0"}, "must be a JSON array, got dict"),
        (["x"], r"payload\[0\] must be a JSON object"),
        ([{"annotations": []}], r"payload\[0\]\.datasetObjectId is missing"),
        ([{"datasetObjectId": ""}], r"payload\[0\]\.datasetObjectId must be a non-empty string"),
    ],
)
def test_parse_payload_rejects_broken_structure(raw, message):
    with pytest.raises(ContractError, match=message):
        parse_payload(raw)


@pytest.mark.parametrize(
    ("annotations", "problem"),
    [
        ({}, "payload[1].annotations must be a list, got dict"),
        ([{}], "payload[1].annotations[0].workerId is missing"),
        (["x"], "payload[1].annotations[0] must be a JSON object, got a string"),
    ],
)
def test_a_broken_item_costs_that_item_only(annotations, problem):
    good = {
        "datasetObjectId": "0",
        "annotations": [{"workerId": "w", "annotationData": {"content": "{}"}}],
    }

    objects = parse_payload([good, {"datasetObjectId": "1", "annotations": annotations}])

    assert objects[0].annotations[0].problem is None
    assert [a.problem for a in objects[1].annotations] == [problem]


@pytest.mark.parametrize(
    ("annotation", "worker", "problem"),
    [
        ({"workerId": 5}, "", "payload[1].annotations[0].workerId must be a non-empty string"),
        ({"workerId": ""}, "", "payload[1].annotations[0].workerId must be a non-empty string"),
        (
            {"workerId": "w", "annotationData": "x"},
            "w",
            "payload[1].annotations[0].annotationData must be a JSON object",
        ),
        (
            {"workerId": "w", "annotationData": {"s3Uri": 5}},
            "w",
            "payload[1].annotations[0].annotationData.s3Uri must be a string",
        ),
        (
            {"workerId": "w", "annotationData": {"s3uri": ["s3://b/k"]}},
            "w",
            "payload[1].annotations[0].annotationData.s3Uri must be a string",
        ),
    ],
)
def test_parse_payload_keeps_a_broken_annotation_as_its_items_problem(annotation, worker, problem):
    good = {"workerId": "a", "annotationData": {"content": "{}"}}
    raw = [
        {"datasetObjectId": "0", "annotations": [good]},
        {"datasetObjectId": "1", "annotations": [annotation, good]},
    ]

    objects = parse_payload(raw)

    assert objects[0].annotations == (WorkerAnnotation("a", "{}", None),)
    broken, fine = objects[1].annotations
    assert broken.worker_id == worker
    assert broken.problem is not None and broken.problem.startswith(problem)
    assert fine.problem is None


def test_parse_payload_drops_identical_annotations_of_a_repeated_element():
    element = {
        "datasetObjectId": "0",
        "annotations": [
            {"workerId": "a", "annotationData": {"content": '{"q": 1}'}},
            {"workerId": "b", "annotationData": {"s3Uri": "s3://b/answers/b.json"}},
        ],
    }

    (obj,) = parse_payload([element, element])

    assert [a.worker_id for a in obj.annotations] == ["a", "b"]


def test_parse_payload_keeps_conflicting_annotations_of_a_repeated_element():
    first = {
        "datasetObjectId": "0",
        "annotations": [{"workerId": "a", "annotationData": {"content": "1"}}],
    }
    second = {
        "datasetObjectId": "0",
        "annotations": [{"workerId": "a", "annotationData": {"content": "2"}}],
    }

    (obj,) = parse_payload([first, second])

    assert [a.content for a in obj.annotations] == ["1", "2"]
