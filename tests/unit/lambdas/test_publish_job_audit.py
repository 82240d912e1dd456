"""The audit trail's pure core: one record per worker answer, and per item without one."""

from __future__ import annotations

import json
from typing import Any

from publish_job.audit import (
    AuditLog,
    ResponseFile,
    build_audit,
)

FOLDER = "s3://results/jobs/j/gt/pets-j-0"
META = {
    "type": "groundtruth/custom",
    "job-name": "labeling-job/pets-j-0",
    "human-annotated": "yes",
    "creation-date": "2026-11-28T08:00:00",
}
LABELED = {
    "class-name": "dog",
    "class-id": 0,
    "confidence": 0.91,
    "votes": {"dog": 2},
    "workers": 2,
    "method": "dawid-skene",
}
NO_CONSENSUS = {
    "no-consensus": True,
    "reason": "tie between dog and cat",
    "workers": 2,
    "method": "mv",
}
EXPIRED = {
    "retry-count": 1,
    "failure-reason": "ClientError: Annotation tasks expired.",
    "human-annotated": "true",
}
IDENTITY = {
    "identityProviderType": "Cognito",
    "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X",
    "sub": "3f1c2a9e-0000-4000-8000-000000000001",
}


def manifest() -> bytes:
    rows = [
        {"source-ref": "s3://in/a.jpg", "pets": LABELED, "pets-metadata": META},
        {"source-ref": "s3://in/b.jpg", "pets": NO_CONSENSUS, "pets-metadata": META},
        {"source-ref": "s3://in/c.jpg", "pets-metadata": EXPIRED},
    ]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def answer(worker: str, label: str, *, identity: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "acceptanceTime": "2026-11-28T07:58:02.114Z",
        "answerContent": {"crowd-image-classifier": {"label": label}},
        "submissionTime": "2026-11-28T07:58:41.903Z",
        "timeSpentInSeconds": 39.789,
        "workerId": worker,
    }
    if identity:
        out["workerMetadata"] = {"identityData": IDENTITY}
    return out


def response(object_id: str, *answers: dict[str, Any], iteration: int = 1) -> ResponseFile:
    uri = (
        f"{FOLDER}/annotations/worker-response/iteration-{iteration}/{object_id}/"
        "2026-11-28_07:58:41.json"
    )
    return ResponseFile(uri, json.dumps({"answers": list(answers)}).encode())


def request_file() -> bytes:
    return json.dumps(
        [
            {"datasetObjectId": "1", "dataObject": {"s3Uri": "s3://in/b.jpg"}, "annotations": []},
            {"datasetObjectId": "0", "dataObject": {"s3Uri": "s3://in/a.jpg"}, "annotations": []},
        ]
    ).encode()


def responses() -> list[ResponseFile]:
    return [
        response(
            "0", answer("private.us-east-1.aaaa", "dog"), answer("private.us-east-1.bbbb", "dog")
        ),
        response("1", answer("worker-c", "cat", identity=False)),
    ]


def audit(files: list[ResponseFile], requests: list[bytes] | None = None) -> AuditLog:
    return build_audit(
        job_id="j",
        project="pets",
        job_name="pets-j-0",
        manifest=manifest(),
        responses=files,
        requests=[request_file()] if requests is None else requests,
    )


def records(log: AuditLog) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.body.decode().splitlines()]


def test_each_worker_answer_is_one_record_with_its_worker_times_and_raw_answer() -> None:
    log = audit(responses())

    first = records(log)[0]
    assert first == {
        "record": "answer",
        "jobId": "j",
        "project": "pets",
        "labelingJobName": "pets-j-0",
        "datasetObjectId": "0",
        "iteration": 1,
        "sourceKey": "source-ref",
        "source": "s3://in/a.jpg",
        "sourceMatch": "consolidation-request",
        "workerId": "private.us-east-1.aaaa",
        "workerIdentity": IDENTITY,
        "acceptanceTime": "2026-11-28T07:58:02.114Z",
        "submissionTime": "2026-11-28T07:58:41.903Z",
        "timeSpentInSeconds": 39.789,
        "answer": {"crowd-image-classifier": {"label": "dog"}},
        "responseUri": responses()[0].uri,
        "consolidation": {
            "status": "labeled",
            "consensus": True,
            "value": LABELED,
            "confidence": 0.91,
            "method": "dawid-skene",
            "reason": None,
            "metadata": META,
        },
        "reason": None,
    }


def test_counts_answers_items_without_answers_and_records() -> None:
    log = audit(responses())

    assert (log.records, log.answers, log.without_answers, log.unreadable) == (4, 3, 1, 0)
    assert [(r["record"], r["datasetObjectId"], r["workerId"]) for r in records(log)] == [
        ("answer", "0", "private.us-east-1.aaaa"),
        ("answer", "0", "private.us-east-1.bbbb"),
        ("answer", "1", "worker-c"),
        ("no-answer", "2", None),
    ]


def test_a_no_consensus_item_records_its_reason_and_method() -> None:
    rows = records(audit(responses()))

    (row,) = [r for r in rows if r["datasetObjectId"] == "1"]
    assert row["workerIdentity"] is None
    assert row["consolidation"]["status"] == "no-consensus"
    assert row["consolidation"]["consensus"] is False
    assert row["consolidation"]["reason"] == "tie between dog and cat"
    assert row["consolidation"]["method"] == "mv"
    assert row["consolidation"]["confidence"] is None


def test_an_item_nobody_answered_is_recorded_with_the_manifest_reason() -> None:
    rows = records(audit(responses()))

    (row,) = [r for r in rows if r["record"] == "no-answer"]
    assert row["source"] == "s3://in/c.jpg"
    assert row["sourceMatch"] == "manifest"
    assert row["answer"] is None
    assert row["responseUri"] is None
    assert row["consolidation"]["status"] == "failed"
    assert row["consolidation"]["metadata"] == EXPIRED
    assert row["reason"] == "ClientError: Annotation tasks expired."


def test_an_unanswered_item_named_in_a_request_keeps_its_dataset_object_id() -> None:
    named = json.dumps(
        [{"datasetObjectId": "5", "dataObject": {"s3Uri": "s3://in/c.jpg"}, "annotations": []}]
    ).encode()

    rows = records(audit(responses(), requests=[request_file(), named]))

    (row,) = [r for r in rows if r["record"] == "no-answer"]
    assert (row["datasetObjectId"], row["source"]) == ("5", "s3://in/c.jpg")


def test_without_consolidation_requests_the_source_comes_from_the_line_index() -> None:
    rows = records(audit(responses(), requests=[]))

    assert [(r["datasetObjectId"], r["source"], r["sourceMatch"]) for r in rows[:3]] == [
        ("0", "s3://in/a.jpg", "line-index"),
        ("0", "s3://in/a.jpg", "line-index"),
        ("1", "s3://in/b.jpg", "line-index"),
    ]


def test_an_unreadable_response_file_is_recorded_not_dropped() -> None:
    broken = ResponseFile(
        f"{FOLDER}/annotations/worker-response/iteration-1/0/2026-11-28_07:59:00.json", b"{oops"
    )

    log = audit([*responses(), broken])

    (row,) = [r for r in records(log) if r["record"] == "unreadable-response"]
    assert log.unreadable == 1
    assert row["responseUri"] == broken.uri
    assert row["source"] == "s3://in/a.jpg"
    assert "not valid JSON" in row["reason"]


def test_an_answer_for_an_item_missing_from_the_manifest_has_no_consolidation() -> None:
    stray = response("7", answer("worker-d", "cat"))

    rows = records(audit([stray], requests=[]))

    (row,) = [r for r in rows if r["record"] == "answer"]
    assert (row["datasetObjectId"], row["source"], row["sourceMatch"]) == ("7", None, "none")
    assert row["consolidation"] is None


def test_the_same_inputs_in_any_order_give_the_same_bytes() -> None:
    files = responses()

    assert audit(files).body == audit(list(reversed(files))).body


def test_later_iterations_follow_earlier_ones_for_the_same_item() -> None:
    files = [
        response("0", answer("w2", "dog"), iteration=2),
        response("0", answer("w1", "dog"), iteration=1),
    ]

    rows = records(audit(files))

    assert [(r["iteration"], r["workerId"]) for r in rows[:2]] == [(1, "w1"), (2, "w2")]
