"""The Validate step's Lambda, invoked in-process against moto S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler_support
from gt_contracts import ContractError
from tests.handlers.fakes import fake_clients
from validate_manifest import handler
from validate_manifest.logic import SourceRef, UnavailableObject
from validate_manifest.settings import get_settings
from validate_manifest.sources import DataSource, ItemSources

INTAKE = "labelflow-intake"
RESULTS = "labelflow-results"
DATA = "labelflow-data"
ELSEWHERE = "labelflow-elsewhere"
KEY = "pets/2024-05/batch-1.jsonl"
JOB = "jobs/pets-2024-05-batch-1"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The items of these tests live in a data source of the stage, under pets/.
DATA_SOURCES = json.dumps([{"bucket": DATA, "prefixes": ["pets/"]}])
SOURCES = ItemSources(manifest_bucket=INTAKE, data_sources=(DataSource(DATA, ("pets/",)),))


def image(name: str, **meta: str) -> str:
    return json.dumps({"source-ref": f"s3://{DATA}/pets/{name}", **meta})


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    monkeypatch.setenv("DATA_SOURCES", DATA_SOURCES)
    monkeypatch.delenv("MAX_OBJECTS_PER_JOB", raising=False)
    get_settings.cache_clear()
    handler_support.reset_clients()
    with mock_aws():
        client = handler._s3()
        for bucket in (INTAKE, RESULTS, DATA, ELSEWHERE):
            client.create_bucket(Bucket=bucket)
        # The rule Ground Truth's worker pages need, so DATA draws no warning.
        client.put_bucket_cors(
            Bucket=DATA,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["GET"],
                        "AllowedOrigins": ["*"],
                        "ExposeHeaders": ["Access-Control-Allow-Origin"],
                    }
                ]
            },
        )
        for n in range(1, 8):
            client.put_object(Bucket=DATA, Key=f"pets/{n}.jpg", Body=b"\xff\xd8 jpeg")
            client.put_object(Bucket=DATA, Key=f"other/{n}.jpg", Body=b"\xff\xd8 jpeg")
            client.put_object(Bucket=ELSEWHERE, Key=f"pets/{n}.jpg", Body=b"\xff\xd8 jpeg")
        yield client
    get_settings.cache_clear()
    handler_support.reset_clients()


def put_manifest(s3: Any, lines: list[str], key: str = KEY) -> str | None:
    response = s3.put_object(Bucket=INTAKE, Key=key, Body=("\n".join(lines) + "\n").encode())
    version: str | None = response.get("VersionId")
    return version


def read_lines(s3: Any, uri: str) -> list[str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode().splitlines()


def read_rejects(s3: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(s3, f"s3://{RESULTS}/{JOB}/rejects.jsonl")]


def test_handler_writes_clean_manifest_rejects_and_one_chunk(s3, load_event, lambda_context):
    lines = [image("1.jpg", camera="front"), "{oops", "", image("2.jpg"), '["not", "an object"]']
    put_manifest(s3, lines)

    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    assert response == {
        "manifest": f"s3://{INTAKE}/{KEY}",
        "lines": 5,
        "accepted": 2,
        "rejected": 2,
        "blank": 1,
        "byReason": {"not-an-object": 1, "not-json": 1},
        "repeated": 0,
        "cleanManifestUri": f"s3://{RESULTS}/{JOB}/manifest.clean.jsonl",
        "rejectsUri": f"s3://{RESULTS}/{JOB}/rejects.jsonl",
        "chunks": [
            {
                "index": 0,
                "first": 0,
                "count": 2,
                "manifestUri": f"s3://{RESULTS}/{JOB}/chunks/0.manifest",
            }
        ],
        "warnings": [],
    }
    assert read_lines(s3, response["cleanManifestUri"]) == [lines[0], lines[3]]
    assert read_lines(s3, response["chunks"][0]["manifestUri"]) == [lines[0], lines[3]]
    assert [(r["line"], r["reason"], r["content"]) for r in read_rejects(s3)] == [
        (2, "not-json", "{oops"),
        (5, "not-an-object", '["not", "an object"]'),
    ]


def test_handler_rejects_lines_whose_object_is_missing(s3, load_event, lambda_context):
    lines = [image("1.jpg"), image("404.jpg"), image("2.jpg"), image("404.jpg"), image("1.jpg")]
    put_manifest(s3, lines)

    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    # A repeated source is a data object of its own; a missing object costs every line of it.
    assert (response["accepted"], response["byReason"], response["repeated"]) == (
        3,
        {"object-missing": 2},
        2,
    )
    kept = [lines[0], lines[2], lines[4]]
    assert read_lines(s3, response["cleanManifestUri"]) == kept
    assert read_lines(s3, response["chunks"][0]["manifestUri"]) == kept
    assert [(r["line"], r["reason"]) for r in read_rejects(s3)] == [
        (2, "object-missing"),
        (4, "object-missing"),
    ]
    assert read_rejects(s3)[0]["detail"] == f"no object at s3://{DATA}/pets/404.jpg"


def read_json(s3: Any, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=RESULTS, Key=key)["Body"].read())


def test_handler_writes_its_counts_to_validation_json(s3, load_event, lambda_context):
    put_manifest(s3, [image("1.jpg"), "{oops", "", image("404.jpg")])

    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    counts = {k: v for k, v in response.items() if k not in {"cleanManifestUri", "chunks"}}
    counts.pop("warnings")
    assert (
        read_json(s3, f"{JOB}/validation.json")
        == counts
        == {
            "manifest": f"s3://{INTAKE}/{KEY}",
            "lines": 4,
            "accepted": 1,
            "rejected": 2,
            "blank": 1,
            "byReason": {"not-json": 1, "object-missing": 1},
            "rejectsUri": f"s3://{RESULTS}/{JOB}/rejects.jsonl",
            "repeated": 0,
        }
    )


def test_handler_writes_validation_json_before_rejecting_a_manifest(s3, load_event, lambda_context):
    put_manifest(s3, ["{oops"])

    with pytest.raises(handler.ManifestRejected):
        handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    written = read_json(s3, f"{JOB}/validation.json")
    assert (written["lines"], written["accepted"], written["rejected"]) == (1, 0, 1)
    assert written["rejectsUri"] == f"s3://{RESULTS}/{JOB}/rejects.jsonl"


def test_handler_forbids_items_outside_the_stages_data_sources(s3, load_event, lambda_context):
    # Given objects that exist, but in a bucket and under a prefix the stage did not declare
    outside = json.dumps({"source-ref": f"s3://{ELSEWHERE}/pets/1.jpg"})
    off_prefix = json.dumps({"source-ref": f"s3://{DATA}/other/2.jpg"})
    in_intake = json.dumps({"source-ref": f"s3://{INTAKE}/pets/3.jpg"})
    s3.put_object(Bucket=INTAKE, Key="pets/3.jpg", Body=b"jpeg")
    lines = [image("1.jpg"), outside, off_prefix, in_intake]
    put_manifest(s3, lines)

    # When the manifest is validated
    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    # Then only the items in intake and in the declared prefix are kept, and each forbidden one
    # says what to declare
    assert read_lines(s3, response["cleanManifestUri"]) == [lines[0], lines[3]]
    assert response["byReason"] == {"object-forbidden": 2}
    rejects = {r["line"]: r for r in read_rejects(s3)}
    assert set(rejects) == {2, 3}
    assert rejects[2]["reason"] == "object-forbidden"
    assert rejects[2]["detail"].startswith(
        f"bucket '{ELSEWHERE}' is not a data source of this stage"
    )
    assert rejects[2]["detail"].endswith("add it to StageConfig.data_sources")
    assert "key 'other/2.jpg' is outside the prefixes ['pets/']" in rejects[3]["detail"]


def test_handler_warns_once_about_a_data_bucket_without_the_worker_cors_rule(
    s3, load_event, lambda_context, monkeypatch, caplog
):
    sources = [{"bucket": DATA, "prefixes": ["pets/"]}, {"bucket": ELSEWHERE, "prefixes": []}]
    monkeypatch.setenv("DATA_SOURCES", json.dumps(sources))
    get_settings.cache_clear()
    elsewhere = [json.dumps({"source-ref": f"s3://{ELSEWHERE}/pets/{n}.jpg"}) for n in (1, 2)]
    put_manifest(s3, [image("1.jpg"), *elsewhere])

    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    assert response["accepted"] == 3
    (warning,) = response["warnings"]
    assert warning.startswith(f"bucket '{ELSEWHERE}': it has no CORS configuration")
    logged = [r for r in caplog.records if "CORS rule" in r.getMessage()]
    assert [r.levelname for r in logged] == ["WARNING"]


def test_handler_checks_no_cors_rule_for_label_studio_jobs(
    s3, load_event, lambda_context, monkeypatch
):
    monkeypatch.setenv("DATA_SOURCES", json.dumps([{"bucket": ELSEWHERE, "prefixes": []}]))
    get_settings.cache_clear()
    put_manifest(s3, [json.dumps({"source-ref": f"s3://{ELSEWHERE}/pets/1.jpg"})])
    event = {**load_event("validate-manifest-event.json"), "backend": "labelstudio"}

    response = handler.lambda_handler(event, lambda_context)

    assert (response["accepted"], response["warnings"]) == (1, [])


def test_handler_splits_into_chunks_within_the_job_limit(
    s3, load_event, lambda_context, monkeypatch
):
    monkeypatch.setenv("MAX_OBJECTS_PER_JOB", "2")
    lines = [image(f"{n}.jpg") for n in range(1, 6)]
    put_manifest(s3, lines)

    response = handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    chunks = response["chunks"]
    assert [(c["index"], c["first"], c["count"]) for c in chunks] == [
        (0, 0, 2),
        (1, 2, 2),
        (2, 4, 1),
    ]
    assert [read_lines(s3, c["manifestUri"]) for c in chunks] == [lines[0:2], lines[2:4], lines[4:]]
    assert chunks[2]["manifestUri"] == f"s3://{RESULTS}/{JOB}/chunks/2.manifest"


def test_handler_takes_text_lines_without_checking_objects(s3, load_event, lambda_context):
    lines = [json.dumps({"source": "late delivery"}), json.dumps({"source": "great support"})]
    put_manifest(s3, lines)
    event = {**load_event("validate-manifest-event.json"), "taskType": "text-classification"}

    response = handler.lambda_handler(event, lambda_context)

    assert (response["accepted"], response["rejected"]) == (2, 0)
    assert read_lines(s3, response["cleanManifestUri"]) == lines


def test_handler_raises_manifest_rejected_when_no_line_is_valid(s3, load_event, lambda_context):
    put_manifest(s3, ["{oops", json.dumps({"source": "text for an image task"}), image("404.jpg")])

    with pytest.raises(handler.ManifestRejected) as raised:
        handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)

    assert type(raised.value).__name__ == "ManifestRejected"
    assert f"s3://{RESULTS}/{JOB}/rejects.jsonl" in str(raised.value)
    assert "3 rejected, 0 blank of 3" in str(raised.value)
    assert [r["reason"] for r in read_rejects(s3)] == [
        "not-json",
        "wrong-source-for-task",
        "object-missing",
    ]


def test_handler_raises_manifest_rejected_for_an_empty_manifest(s3, load_event, lambda_context):
    s3.put_object(Bucket=INTAKE, Key=KEY, Body=b"\n\n")

    with pytest.raises(handler.ManifestRejected, match="0 rejected, 2 blank of 2"):
        handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)


def test_handler_reads_the_version_named_in_the_event(s3, load_event, lambda_context):
    s3.put_bucket_versioning(Bucket=INTAKE, VersioningConfiguration={"Status": "Enabled"})
    first = put_manifest(s3, [image("1.jpg"), image("2.jpg"), image("3.jpg")])
    put_manifest(s3, [image("4.jpg")])
    event = {**load_event("validate-manifest-event.json"), "versionId": first}

    response = handler.lambda_handler(event, lambda_context)

    assert first is not None
    assert response["accepted"] == 3
    assert read_lines(s3, response["cleanManifestUri"])[0] == image("1.jpg")


def test_handler_raises_on_a_malformed_event(s3, load_event, lambda_context):
    event = {**load_event("validate-manifest-event.json"), "key": "other-project/batch.jsonl"}

    with pytest.raises(ContractError, match="not under the project's prefix"):
        handler.lambda_handler(event, lambda_context)


def test_handler_raises_when_the_manifest_does_not_exist(s3, load_event, lambda_context):
    with pytest.raises(ClientError, match="NoSuchKey"):
        handler.lambda_handler(load_event("validate-manifest-event.json"), lambda_context)


class _HeadStub:
    """An S3 client whose HeadObject answers from a table of error codes."""

    def __init__(self, codes: dict[str, str]) -> None:
        self.codes = codes

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        code = self.codes.get(Key.removeprefix("pets/"))
        if code is not None:
            raise ClientError({"Error": {"Code": code, "Message": code}}, "HeadObject")
        return {}


def _ref(position: int, key: str, bucket: str = DATA) -> SourceRef:
    return SourceRef(position, position + 1, f"s3://{bucket}/pets/{key}", position)


def test_check_objects_sorts_missing_from_forbidden(monkeypatch):
    stub = _HeadStub({"gone.jpg": "404", "locked.jpg": "403", "old.jpg": "NoSuchKey"})
    fake_clients(monkeypatch, handler, s3=stub)
    refs = [_ref(i, key) for i, key in enumerate(["a.jpg", "gone.jpg", "locked.jpg", "old.jpg"])]

    found = handler._check_objects(iter(refs), SOURCES).unavailable

    assert sorted(found, key=lambda u: u.ref.position) == [
        UnavailableObject(refs[1], "missing"),
        UnavailableObject(refs[2], "forbidden"),
        UnavailableObject(refs[3], "missing"),
    ]


def test_check_objects_checks_more_objects_than_the_queue_holds(monkeypatch):
    keys = [f"{n}.jpg" for n in range(3 * handler.HEAD_QUEUE)]
    stub = _HeadStub(dict.fromkeys(keys[::7], "404"))
    fake_clients(monkeypatch, handler, s3=stub)

    found = handler._check_objects((_ref(i, key) for i, key in enumerate(keys)), SOURCES)

    assert sorted(u.ref.position for u in found.unavailable) == list(range(0, len(keys), 7))


def test_check_objects_forbids_undeclared_items_without_asking_s3(monkeypatch):
    stub = _HeadStub({})
    heads: list[str] = []
    original = stub.head_object

    def recorded(*, Bucket: str, Key: str) -> dict[str, Any]:
        heads.append(f"{Bucket}/{Key}")
        return original(Bucket=Bucket, Key=Key)

    stub.head_object = recorded  # type: ignore[method-assign]
    fake_clients(monkeypatch, handler, s3=stub)
    refs = [_ref(0, "a.jpg"), _ref(1, "b.jpg", bucket=ELSEWHERE), _ref(2, "c.jpg", bucket=INTAKE)]

    checked = handler._check_objects(refs, SOURCES)

    assert checked.unavailable == [UnavailableObject(refs[1], "forbidden")]
    assert sorted(heads) == [f"{DATA}/pets/a.jpg", f"{INTAKE}/pets/c.jpg"]
    assert checked.data_buckets == {DATA}


def test_check_objects_lets_other_s3_errors_fail_the_step(monkeypatch):
    fake_clients(monkeypatch, handler, s3=_HeadStub({"a.jpg": "SlowDown"}))

    with pytest.raises(ClientError, match="SlowDown"):
        handler._check_objects([_ref(0, "a.jpg")], SOURCES)


def test_the_s3_client_serves_every_check_thread_and_backs_off(s3):
    config = handler._s3().meta.config

    assert handler._s3() is s3
    assert getattr(config, "max_pool_connections", None) == handler.HEAD_CONCURRENCY
    assert getattr(config, "retries", None) == {"mode": "standard", "total_max_attempts": 6}


def test_importing_the_handler_loads_no_heavy_module():
    heavy = ["boto3", "aws_xray_sdk.core"]
    code = (
        "import json, sys, validate_manifest.handler; "
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
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
