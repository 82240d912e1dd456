"""The consolidation Lambda, invoked in-process against moto S3 and DynamoDB."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws
from PIL import Image

import handler_support
from gt_contracts import ContractError
from job_contracts.skill_store import SkillStore, table_definition
from job_contracts.skills import SkillRecord
from post_annotation import handler
from post_annotation.settings import get_settings

GT_BUCKET = "my-sagemaker-gt-bucket"
ARTIFACTS = "labelflow-artifacts"
SKILLS = "labelflow-skills"
PROJECTS = {
    "pet-boxes": {"task_type": "bounding-box", "labels": ["dog", "cat"]},
    "review-sentiment": {
        "task_type": "text-classification",
        "labels": ["negative", "neutral", "positive"],
        "method": "majority-vote",
    },
    "tie-break": {
        "task_type": "text-classification",
        "labels": ["negative", "positive"],
        "method": "weighted-vote",
    },
    "cats": {"task_type": "semantic-segmentation", "labels": ["cat"]},
}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LABELFLOW_PROJECTS", json.dumps(PROJECTS))
    monkeypatch.setenv("ARTIFACTS_BUCKET", ARTIFACTS)
    monkeypatch.setenv("SKILLS_TABLE", SKILLS)
    get_settings.cache_clear()
    handler_support.reset_clients()
    with mock_aws():
        client = handler_support.client("s3")
        client.create_bucket(Bucket=GT_BUCKET)
        client.create_bucket(Bucket=ARTIFACTS)
        handler_support.client("dynamodb").create_table(**table_definition(SKILLS))
        yield client
    get_settings.cache_clear()
    handler_support.reset_clients()


def _store_payload(s3: Any, event: dict[str, Any], payload: Any) -> None:
    bucket, key = event["payload"]["s3Uri"].removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(payload).encode())


def _invoke(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    return handler.lambda_handler(event, context)


def _values(response: list[dict[str, Any]], attribute: str) -> dict[str, Any]:
    return {
        r["datasetObjectId"]: r["consolidatedAnnotation"]["content"][attribute] for r in response
    }


def _skills_keys(s3: Any) -> list[str]:
    """Keys of the batch skill files."""
    listed = s3.list_objects_v2(Bucket=ARTIFACTS, Prefix="skills/")
    return [o["Key"] for o in listed.get("Contents", [])]


def _store() -> SkillStore:
    return SkillStore(handler_support.client("dynamodb"), SKILLS)


def test_handler_reproduces_the_text_classification_sample(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, load_event("payload.textclass.3workers.json"))
    expected = load_event("consolidation-response.textclass.json")

    response = _invoke(event, lambda_context)

    assert [r["datasetObjectId"] for r in response] == ["0", "1"]
    for got, want in zip(response, expected, strict=True):
        value = got["consolidatedAnnotation"]["content"]["sentiment"]
        sample = want["consolidatedAnnotation"]["content"]["sentiment"]
        assert value == {**sample, "confidence": pytest.approx(sample["confidence"], abs=0.01)}


def test_handler_reproduces_the_bounding_box_sample_shape(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.bbox.json")
    _store_payload(s3, event, load_event("payload.bbox.3workers.json"))
    expected = _values(load_event("consolidation-response.bbox.json"), "pet-boxes")

    values = _values(_invoke(event, lambda_context), "pet-boxes")

    assert set(values) == set(expected) == {"0", "1"}
    for object_id, sample in expected.items():
        value = values[object_id]
        assert set(value) == set(sample)
        assert value["image_size"] == sample["image_size"]
        assert [a["class_id"] for a in value["annotations"]] == [
            a["class_id"] for a in sample["annotations"]
        ]
        for got, want in zip(value["annotations"], sample["annotations"], strict=True):
            assert set(got) == set(want)
            assert all(abs(got[k] - want[k]) <= 2 for k in ("left", "top", "width", "height"))
        consolidation = value["consolidation"]
        assert set(sample["consolidation"]) <= set(consolidation)
        assert consolidation["class-map"] == sample["consolidation"]["class-map"]
        assert consolidation["workers"] == 3
        assert consolidation["iou-threshold"] == 0.5
        assert len(consolidation["objects"]) == len(sample["consolidation"]["objects"])
        assert all(0.0 <= o["confidence"] <= 1.0 for o in consolidation["objects"])


def _answer(worker: str, content: Any) -> dict[str, Any]:
    data = {"content": content if isinstance(content, str) else json.dumps(content)}
    return {"workerId": worker, "annotationData": data}


def _item(object_id: str, *annotations: dict[str, Any]) -> dict[str, Any]:
    return {
        "datasetObjectId": object_id,
        "dataObject": {"content": "t"},
        "annotations": list(annotations),
    }


def _label(label: str) -> dict[str, Any]:
    return {"sentiment": {"label": label}}


BAD_ITEMS = {
    "no answers": (_item("empty"), "no worker answers"),
    "content not JSON": (
        _item("not-json", _answer("w1", "{positive"), _answer("w2", _label("positive"))),
        "worker 'w1': content is not JSON",
    ),
    "malformed answer": (
        _item("malformed", _answer("w1", {"sentiment": {"label": 7}})),
        "worker 'w1': sentiment.label must be a non-empty string, got number",
    ),
    "unknown label": (
        _item("unknown", _answer("w1", _label("thrilled")), _answer("w2", _label("positive"))),
        "worker 'w1' gave unknown label 'thrilled'",
    ),
    "unreadable s3Uri": (
        _item(
            "unreadable",
            {"workerId": "w1", "annotationData": {"s3Uri": f"s3://{GT_BUCKET}/gone.json"}},
        ),
        f"annotation of worker 'w1' at s3://{GT_BUCKET}/gone.json is unreadable: S3 NoSuchKey",
    ),
    "invalid s3Uri": (
        _item("bad-uri", {"workerId": "w1", "annotationData": {"s3Uri": "gone.json"}}),
        "is unreadable: annotationData.s3Uri must start with 's3://'",
    ),
}


def test_handler_answers_every_object_and_explains_each_no_consensus(
    s3, load_event, lambda_context
):
    # Given a batch mixing good items, items stored by s3Uri and every kind of bad item
    event = load_event("post-annotation-event.textclass.json")
    s3.put_object(Bucket=GT_BUCKET, Key="answers/w3.json", Body=json.dumps(_label("neutral")))
    stored = {"workerId": "w3", "annotationData": {"s3uri": f"s3://{GT_BUCKET}/answers/w3.json"}}
    good = [
        _item("good-0", _answer("w1", _label("neutral")), stored),
        _item("good-1", _answer("w1", _label("positive")), _answer("w2", _label("positive"))),
    ]
    bad = [item for item, _ in BAD_ITEMS.values()]
    _store_payload(s3, event, [good[0], *bad, good[1]])

    # When the batch is consolidated
    response = _invoke(event, lambda_context)
    values = _values(response, "sentiment")

    # Then every object comes back exactly once, in payload order
    ids = [r["datasetObjectId"] for r in response]
    assert ids == ["good-0", *(item["datasetObjectId"] for item in bad), "good-1"]
    assert values["good-0"]["class-name"] == "neutral"
    assert values["good-1"]["class-name"] == "positive"
    # And each bad item carries the documented no-consensus value with its reason
    for item, reason in BAD_ITEMS.values():
        value = values[item["datasetObjectId"]]
        assert set(value) == {"no-consensus", "reason", "workers", "method"}
        assert value["no-consensus"] is True
        assert reason in value["reason"]
        assert value["workers"] == len({a["workerId"] for a in item["annotations"]})
        assert value["method"] == "majority-vote"


def test_handler_never_logs_answer_content(s3, load_event, lambda_context, monkeypatch):
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, [_item("0", _answer("w1", _label("SECRET-ANSWER-TEXT")))])
    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)

    _invoke(event, lambda_context)

    logs = stream.getvalue()
    assert '"labeling_job_arn":"arn:aws:sagemaker:us-east-1:111122223333:labeling-job/' in logs
    assert '"dataset_object_id":"0"' in logs
    assert "SECRET-ANSWER-TEXT" not in logs


OTHER_JOB = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/boats-2024"
MALFORMED_EVENTS = {
    "no label attribute": ({"labelAttributeName": None}, ContractError, "labelAttributeName"),
    "bad payload URI": ({"payload": {"s3Uri": "https://x/y.json"}}, ContractError, "s3Uri"),
    "unknown project": ({"labelingJobArn": OTHER_JOB}, ContractError, "no configured project"),
    "missing payload": (
        {"payload": {"s3Uri": f"s3://{GT_BUCKET}/missing.json"}},
        ClientError,
        "NoSuchKey",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_EVENTS))
def test_handler_raises_on_a_malformed_event(s3, load_event, lambda_context, case):
    change, error, message = MALFORMED_EVENTS[case]
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, load_event("payload.textclass.3workers.json"))
    event.update(change)

    with pytest.raises(error, match=message):
        _invoke(event, lambda_context)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"datasetObjectId": "0"}', "consolidation payload must be a JSON array"),
        (b"[{", "consolidation payload is not valid JSON"),
        (b'[{"annotations": []}]', r"payload\[0\]\.datasetObjectId is missing"),
    ],
)
def test_handler_raises_on_a_malformed_payload(s3, load_event, lambda_context, body, message):
    event = load_event("post-annotation-event.textclass.json")
    bucket, key = event["payload"]["s3Uri"].removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=body)

    with pytest.raises(ContractError, match=message):
        _invoke(event, lambda_context)


def test_handler_writes_worker_skill_for_the_batch(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, load_event("payload.textclass.3workers.json"))

    _invoke(event, lambda_context)

    (key,) = _skills_keys(s3)
    assert key.startswith("skills/review-sentiment/review-sentiment-2024/")
    assert len(key.rsplit("/", 1)[1].removesuffix(".json")) == 16
    document = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read())
    assert document["payload_uri"] == event["payload"]["s3Uri"]
    assert document["method"] == "majority-vote"
    assert {w["worker"] for w in document["workers"]} == {
        "private.us-east-1.8f3a2c1d9e7b6a54",
        "private.us-east-1.2b7e9d0c4a1f3e68",
        "private.us-east-1.c5d1e8a7f2b90436",
    }
    assert all(0.0 <= w["accuracy"] <= 1.0 for w in document["workers"])


def test_handler_rewrites_the_same_skill_file_on_redelivery(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, load_event("payload.textclass.3workers.json"))

    first = _invoke(event, lambda_context)
    (key,) = _skills_keys(s3)
    written = s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read()
    second = _invoke(event, lambda_context)

    assert _skills_keys(s3) == [key]
    # The redelivered batch did not learn from its own first delivery, and counted once.
    assert s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read() == written
    assert first == second
    stored = _store().read("review-sentiment").records
    assert stored is not None
    assert {record.answers for record in stored.values()} == {2}


def _tie_event(load_event: Callable[[str], Any]) -> dict[str, Any]:
    event: dict[str, Any] = load_event("post-annotation-event.textclass.json")
    event["labelingJobArn"] = event["labelingJobArn"].replace("review-sentiment", "tie-break")
    event["labelCategories"] = ["negative", "positive"]
    return event


def test_handler_reads_the_projects_skill_from_the_store(s3, load_event, lambda_context):
    event = _tie_event(load_event)
    _store_payload(
        s3, event, [_item("0", _answer("a", _label("positive")), _answer("b", _label("negative")))]
    )
    _store().add(
        "tie-break",
        "earlier-batch",
        [SkillRecord("a", 40, 0.95), SkillRecord("b", 40, 0.3)],
    )

    value = _values(_invoke(event, lambda_context), "sentiment")["0"]

    assert value["class-name"] == "positive"  # without the store, a tie goes to "negative"
    (key,) = _skills_keys(s3)
    document = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read())
    assert document["prior"] == {"workers": 2}


def test_handler_carries_skill_from_batch_to_batch(s3, load_event, lambda_context):
    # Batch 1: "a" agrees with two others on every item, "b" disagrees on every item.
    first = _tie_event(load_event)
    items = [
        _item(
            str(i),
            *(_answer(worker, _label(truth)) for worker in "acd"),
            _answer("b", _label("positive" if truth == "negative" else "negative")),
        )
        for i, truth in enumerate(["positive", "negative"] * 5)
    ]
    _store_payload(s3, first, items)
    _invoke(first, lambda_context)
    # Batch 2 of the same job: "a" and "b" split on one item.
    second = _tie_event(load_event)
    second["payload"]["s3Uri"] = second["payload"]["s3Uri"].replace(".json", "-2.json")
    _store_payload(
        s3, second, [_item("x", _answer("a", _label("positive")), _answer("b", _label("negative")))]
    )

    value = _values(_invoke(second, lambda_context), "sentiment")["x"]

    assert value["class-name"] == "positive"
    stored = _store().read("tie-break").records
    assert stored is not None
    assert (stored["a"].answers, stored["b"].answers, stored["c"].answers) == (11, 11, 10)


def test_handler_leaves_out_an_unreadable_store_item_and_says_so(s3, load_event, lambda_context):
    event = _tie_event(load_event)
    _store_payload(s3, event, [_item("0", _answer("a", _label("positive")))])
    handler_support.client("dynamodb").put_item(
        TableName=SKILLS,
        Item={"project": {"S": "tie-break"}, "entry": {"S": "worker#a"}, "answers": {"N": "3"}},
    )

    values = _values(_invoke(event, lambda_context), "sentiment")

    assert values["0"]["class-name"] == "positive"
    (key,) = _skills_keys(s3)
    document = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read())
    assert "unreadable worker item" in document["prior"]["error"]


def test_handler_counts_a_repeated_worker_once_with_the_last_answer(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    twice = _item("twice", _answer("w1", _label("positive")), _answer("w1", _label("negative")))
    _store_payload(s3, event, [twice])

    value = _values(_invoke(event, lambda_context), "sentiment")["twice"]

    assert value["class-name"] == "negative"
    assert value["workers"] == 1
    (key,) = _skills_keys(s3)
    document = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read())
    assert document["repeated_answers"] == 1


def _mask_answer() -> dict[str, Any]:
    image = Image.new("RGB", (3, 2), (255, 255, 255))
    image.putpixel((0, 0), (0x1F, 0x77, 0xB4))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return {
        "catSegmentation": {
            "inputImageProperties": {"width": 3, "height": 2},
            "labelMappings": {"cat": {"color": "#1f77b4"}},
            "labeledImage": {"pngImageData": base64.b64encode(out.getvalue()).decode()},
        }
    }


def test_handler_writes_segmentation_masks_next_to_the_job_output(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    event["labelingJobArn"] = event["labelingJobArn"].replace("review-sentiment", "cats")
    event["labelAttributeName"] = "cats-ref"
    event["labelCategories"] = ["cat"]
    _store_payload(
        s3, event, [_item("4", _answer("a", _mask_answer()), _answer("b", _mask_answer()))]
    )

    value = _values(_invoke(event, lambda_context), "cats-ref")["4"]

    key = (
        "output/review-sentiment-2024/annotations/consolidated-annotation/output/"
        "4_2024-05-06T09:15:42.png"
    )
    # Under a -ref label attribute the value is the mask's URI, as Ground Truth requires
    assert value == f"s3://{GT_BUCKET}/{key}"
    mask = Image.open(io.BytesIO(s3.get_object(Bucket=GT_BUCKET, Key=key)["Body"].read()))
    assert np.asarray(mask).tolist() == [[1, 0, 0], [0, 0, 0]]
    # And the colour map, confidences, workers and method sit in the JSON sidecar next to it
    sidecar = s3.get_object(Bucket=GT_BUCKET, Key=key.removesuffix(".png") + ".json")
    assert sidecar["ContentType"] == "application/json"
    details = json.loads(sidecar["Body"].read())
    assert details["internal-color-map"]["1"] == {
        "class-name": "cat",
        "hex-color": "#1f77b4",
        "confidence": details["confidence"],
    }
    assert details["workers"] == 2
    assert details["method"] == "pixel-vote"


def test_handler_keeps_the_segmentation_object_for_a_plain_label_attribute(
    s3, load_event, lambda_context
):
    event = load_event("post-annotation-event.textclass.json")
    event["labelingJobArn"] = event["labelingJobArn"].replace("review-sentiment", "cats")
    event["labelAttributeName"] = "cats"
    event["labelCategories"] = ["cat"]
    _store_payload(
        s3, event, [_item("4", _answer("a", _mask_answer()), _answer("b", _mask_answer()))]
    )

    value = _values(_invoke(event, lambda_context), "cats")["4"]

    assert value["ref"].endswith("/consolidated-annotation/output/4_2024-05-06T09:15:42.png")
    assert value["internal-color-map"]["1"]["class-name"] == "cat"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("InternalError", 500),
        ("AccessDenied", 403),
        ("KMS.DisabledException", 400),
    ],
)
def test_handler_fails_loudly_when_an_annotation_cannot_be_read_for_now(
    s3, load_event, lambda_context, code, status
):
    # Given a batch whose annotation is stored by s3Uri, and S3 failing to return it
    event = load_event("post-annotation-event.textclass.json")
    stored = {"workerId": "w1", "annotationData": {"s3Uri": f"s3://{GT_BUCKET}/answers/w1.json"}}
    payload = json.dumps([_item("0", stored)]).encode()
    stubber = Stubber(s3)
    stubber.add_response("get_object", {"Body": StreamingBody(io.BytesIO(payload), len(payload))})
    stubber.add_client_error("get_object", code, http_status_code=status)

    # When the batch is consolidated, the error propagates (Ground Truth can retry the batch)
    with stubber, pytest.raises(ClientError, match=code):
        _invoke(event, lambda_context)
    stubber.assert_no_pending_responses()


def test_handler_is_traced_around_the_request_handling(s3, load_event, lambda_context):
    event = load_event("post-annotation-event.textclass.json")
    _store_payload(s3, event, load_event("payload.textclass.3workers.json"))

    handler.lambda_handler(event, lambda_context)

    traced = handler_support.traced_handler(handler._handle)
    assert traced.__wrapped__ is handler._handle  # type: ignore[attr-defined]
    assert handler_support.tracer().disabled
