"""Where a job's items may live, and whether workers' browsers can load them (pure).

A stage's roles read items from the manifest's own bucket (intake) and from the stage's
declared data sources (``StageConfig.data_sources``), which the Validate function reads from
``DATA_SOURCES``::

    [{"bucket": "data-lake", "prefixes": ["images/", "scans/"]},
     {"bucket": "archive", "prefixes": []}]

A source without prefixes covers its whole bucket; a prefix covers every key that starts with
it, as the IAM grant ``<bucket>/<prefix>*`` does. A ``source-ref`` outside every source cannot
be read by the labeling job, so :meth:`ItemSources.unavailable_detail` says which bucket or
prefix to add.

Ground Truth's and A2I's worker pages load images straight from S3 in the worker's browser,
which needs a CORS rule on the bucket: ``AllowedMethods`` with ``GET``, ``AllowedOrigins``
with ``*`` and ``ExposeHeaders`` with ``Access-Control-Allow-Origin``
(:func:`cors_problem`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gt_contracts import parse_s3_uri

__all__ = [
    "DATA_SOURCES_HINT",
    "DataSource",
    "ItemSources",
    "cors_problem",
    "cors_warning",
    "parse_data_sources",
]

#: Where a stage declares its data sources.
DATA_SOURCES_HINT = "StageConfig.data_sources"
_CORS_HEADER = "Access-Control-Allow-Origin"


@dataclass(frozen=True, slots=True)
class DataSource:
    """A bucket, or some prefixes of it, from which the stage's roles may read items."""

    bucket: str
    prefixes: tuple[str, ...] = ()

    def covers(self, bucket: str, key: str) -> bool:
        """Whether ``s3://bucket/key`` lies in this source."""
        if bucket != self.bucket:
            return False
        return not self.prefixes or key.startswith(self.prefixes)


def parse_data_sources(text: str) -> tuple[DataSource, ...]:
    """Parse the ``DATA_SOURCES`` JSON list.

    Raises:
        ValueError: not a JSON list of ``{"bucket": str, "prefixes": [str, ...]}`` objects;
            the message reads after the variable's name.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise ValueError("must be a JSON list of data sources")
    sources = []
    for i, entry in enumerate(raw):
        bucket = entry.get("bucket") if isinstance(entry, Mapping) else None
        if not isinstance(bucket, str) or not bucket or "/" in bucket:
            raise ValueError(f"entry {i}: bucket must be a bucket name, got {bucket!r}")
        prefixes = entry.get("prefixes", [])
        if not isinstance(prefixes, list) or not all(
            isinstance(prefix, str) and prefix for prefix in prefixes
        ):
            raise ValueError(f"entry {i}: prefixes must be a list of non-empty key prefixes")
        sources.append(DataSource(bucket, tuple(prefixes)))
    return tuple(sources)


@dataclass(frozen=True, kw_only=True)
class ItemSources:
    """Where one job's items may live: the manifest's bucket and the declared data sources."""

    manifest_bucket: str
    data_sources: tuple[DataSource, ...] = ()

    def readable(self, uri: str) -> bool:
        """Whether the stage's roles may read the object at ``uri``.

        Example:
            >>> sources = ItemSources(
            ...     manifest_bucket="intake", data_sources=(DataSource("lake", ("img/",)),)
            ... )
            >>> [sources.readable(u) for u in ("s3://intake/a", "s3://lake/img/b", "s3://lake/c")]
            [True, True, False]
        """
        bucket, key = parse_s3_uri(uri, field="source-ref")
        if bucket == self.manifest_bucket:
            return True
        return any(source.covers(bucket, key) for source in self.data_sources)

    def unavailable_detail(self, uri: str, status: Literal["missing", "forbidden"]) -> str:
        """Why the object at ``uri`` cannot be labeled, and what to do about it."""
        if status == "missing":
            return f"no object at {uri}"
        bucket, key = parse_s3_uri(uri, field="source-ref")
        declared = next((s for s in self.data_sources if s.bucket == bucket), None)
        if bucket != self.manifest_bucket and declared is None:
            return (
                f"bucket {bucket!r} is not a data source of this stage, so labeling jobs "
                f"cannot read {uri}: add it to {DATA_SOURCES_HINT}"
            )
        if declared is not None and not declared.covers(bucket, key):
            return (
                f"key {key!r} is outside the prefixes {list(declared.prefixes)} declared for "
                f"bucket {bucket!r}, so labeling jobs cannot read it: add its prefix to that "
                f"bucket's entry in {DATA_SOURCES_HINT}"
            )
        return (
            f"the object at {uri} cannot be read (access denied): it may not exist, or the "
            f"bucket policy of {bucket!r} or the object's KMS key refuses this stage (list the "
            f"key in the bucket's kms_key_arns in {DATA_SOURCES_HINT})"
        )


def cors_problem(rules: Sequence[Mapping[str, Any]] | None) -> str | None:
    """What a bucket's CORS rules lack for worker pages to load its objects; ``None``: nothing.

    Args:
        rules: the bucket's ``CORSRules`` (``GetBucketCors``); ``None`` or empty when it has
            no CORS configuration.

    Example:
        >>> cors_problem([{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"],
        ...                "ExposeHeaders": ["Access-Control-Allow-Origin"]}]) is None
        True
        >>> cors_problem(None)
        'it has no CORS configuration'
    """
    if not rules:
        return "it has no CORS configuration"
    for rule in rules:
        methods = {str(method).upper() for method in rule.get("AllowedMethods", [])}
        origins = set(rule.get("AllowedOrigins", []))
        exposed = {str(header).lower() for header in rule.get("ExposeHeaders", [])}
        if "GET" in methods and "*" in origins and _CORS_HEADER.lower() in exposed:
            return None
    return f"no CORS rule allows GET from origin '*' and exposes the {_CORS_HEADER} header"


def cors_warning(bucket: str, problem: str) -> str:
    """The warning a job gets for a data bucket whose CORS rules fail the worker pages."""
    return (
        f"bucket {bucket!r}: {problem}, so Ground Truth and A2I worker pages may fail to "
        "load its images; add the CORS rule AllowedMethods [GET], AllowedOrigins ['*'], "
        f"ExposeHeaders ['{_CORS_HEADER}'] (README, Configure a project)"
    )
