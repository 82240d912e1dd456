"""Where a job's items may live, what an unreadable one is told, and the worker pages' CORS rule."""

from __future__ import annotations

import pytest

from job_contracts.steps import ValidationSummary
from validate_manifest.logic import (
    Reject,
    SourceRef,
    UnavailableObject,
    remove_unavailable,
)
from validate_manifest.sources import (
    DataSource,
    ItemSources,
    cors_problem,
    cors_warning,
    parse_data_sources,
)

SOURCES = ItemSources(
    manifest_bucket="labelflow-intake",
    data_sources=(DataSource("data-lake", ("images/", "scans/")), DataSource("archive")),
)
WORKER_RULE = {
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": ["Access-Control-Allow-Origin"],
}


def test_parse_data_sources_reads_buckets_and_prefixes():
    text = '[{"bucket": "data-lake", "prefixes": ["images/"]}, {"bucket": "archive"}]'

    assert parse_data_sources(text) == (
        DataSource("data-lake", ("images/",)),
        DataSource("archive"),
    )
    assert parse_data_sources("[]") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "is not valid JSON"),
        ('{"bucket": "a"}', "must be a JSON list"),
        ('["data-lake"]', "entry 0: bucket must be a bucket name"),
        ('[{"bucket": "a/b"}]', "entry 0: bucket must be a bucket name"),
        ('[{"bucket": "a"}, {"bucket": "b", "prefixes": "images/"}]', "entry 1: prefixes"),
    ],
)
def test_parse_data_sources_names_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_data_sources(text)


@pytest.mark.parametrize(
    ("uri", "readable"),
    [
        ("s3://labelflow-intake/pets/1.jpg", True),
        ("s3://data-lake/images/1.jpg", True),
        ("s3://data-lake/scans/2024/1.png", True),
        ("s3://data-lake/other/1.jpg", False),
        ("s3://data-lake/images", False),
        ("s3://archive/anything/at/all.jpg", True),
        ("s3://elsewhere/images/1.jpg", False),
    ],
)
def test_items_are_readable_in_the_manifests_bucket_and_the_declared_sources(uri, readable):
    assert SOURCES.readable(uri) is readable


def test_an_item_in_an_undeclared_bucket_is_told_to_declare_it():
    detail = SOURCES.unavailable_detail("s3://elsewhere/images/1.jpg", "forbidden")

    assert detail.startswith("bucket 'elsewhere' is not a data source of this stage")
    assert detail.endswith("add it to StageConfig.data_sources")


def test_an_item_outside_the_declared_prefixes_is_told_to_declare_its_prefix():
    detail = SOURCES.unavailable_detail("s3://data-lake/other/1.jpg", "forbidden")

    assert "key 'other/1.jpg' is outside the prefixes ['images/', 'scans/']" in detail
    assert "bucket 'data-lake'" in detail
    assert "StageConfig.data_sources" in detail


def test_a_refused_item_of_a_declared_source_points_at_policies_and_keys():
    detail = SOURCES.unavailable_detail("s3://data-lake/images/1.jpg", "forbidden")

    assert "cannot be read (access denied)" in detail
    assert "bucket policy of 'data-lake'" in detail
    assert "kms_key_arns" in detail


def test_a_missing_item_is_named():
    assert SOURCES.unavailable_detail("s3://archive/x.jpg", "missing") == (
        "no object at s3://archive/x.jpg"
    )


class _Lists:
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.rejects: list[Reject] = []

    def clean(self, lines: list[bytes]) -> None:
        self.lines.extend(lines)

    def reject(self, reject: Reject) -> None:
        self.rejects.append(reject)

    def source_refs(self, refs: list[SourceRef]) -> None:
        raise AssertionError("the second step hands on no source-refs")


def test_remove_unavailable_explains_forbidden_items_from_the_declared_sources():
    lines = [b'{"source-ref":"s3://elsewhere/a.jpg"}', b'{"source-ref":"s3://archive/b.jpg"}']
    unavailable = [UnavailableObject(SourceRef(0, 1, "s3://elsewhere/a.jpg", 0), "forbidden")]
    sink = _Lists()
    summary = ValidationSummary(lines=2, accepted=2, rejected=0, blank=0)

    final = remove_unavailable(lines, unavailable, sink, summary, SOURCES)

    assert (final.accepted, final.rejected, dict(final.by_reason or {})) == (
        1,
        1,
        {"object-forbidden": 1},
    )
    assert sink.lines == [lines[1]]
    (reject,) = sink.rejects
    assert reject.line == 1
    assert reject.detail == SOURCES.unavailable_detail("s3://elsewhere/a.jpg", "forbidden")


def test_the_worker_pages_rule_satisfies_the_cors_check():
    assert cors_problem([WORKER_RULE]) is None
    other = {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://example.com"]}
    assert cors_problem([other, WORKER_RULE]) is None
    lower_case = {
        **WORKER_RULE,
        "AllowedMethods": ["get"],
        "ExposeHeaders": ["access-control-allow-origin"],
    }
    assert cors_problem([lower_case]) is None


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (None, "it has no CORS configuration"),
        ([], "it has no CORS configuration"),
        ([{**WORKER_RULE, "AllowedMethods": ["PUT", "POST"]}], "no CORS rule allows GET"),
        ([{**WORKER_RULE, "AllowedOrigins": ["https://example.com"]}], "from origin '*'"),
        ([{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}], "exposes the Access-Control"),
    ],
)
def test_a_bucket_without_the_worker_pages_rule_has_a_cors_problem(rules, problem):
    found = cors_problem(rules)

    assert found is not None
    assert problem in found


def test_the_cors_warning_names_the_bucket_and_the_rule():
    warning = cors_warning("data-lake", "it has no CORS configuration")

    assert warning.startswith("bucket 'data-lake': it has no CORS configuration")
    assert "AllowedMethods [GET], AllowedOrigins ['*']" in warning
    assert "ExposeHeaders ['Access-Control-Allow-Origin']" in warning
