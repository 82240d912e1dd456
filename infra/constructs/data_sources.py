"""DataSources: the buckets outside the stack where a stage's items live, and reading them.

A stage declares its data sources (`StageConfig.data_sources`): buckets, optionally only some
key prefixes of them, and the KMS keys their objects are encrypted with. The construct creates
nothing; it names those buckets and keys and grants a role exactly what reading items takes:
`s3:GetObject` on `<bucket>/<prefix>*` (`<bucket>/*` without prefixes) and `kms:Decrypt` on the
declared keys, each wildcard acknowledged for cdk-nag on the role with the reason. Validation
also reads each bucket's CORS configuration (`grant_cors_read`).

Which roles read items (the labeling-job role, the Validate function, the Label Studio start
function) is decided by the stack. Bucket and key policies of another account are left to
that account.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Aws, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["DataLocation", "DataSources"]


@dataclass(frozen=True, kw_only=True)
class DataLocation:
    """One declared data source: a bucket, the prefixes items live under, the keys they use.

    Attributes:
        bucket: The bucket's name.
        prefixes: Key prefixes; empty means the whole bucket.
        kms_key_arns: ARNs of the KMS keys its objects are encrypted with.
    """

    bucket: str
    prefixes: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()


_READ_REASON = (
    "Items of the stage's declared data source {location} (StageConfig.data_sources): "
    "s3:GetObject only, under the declared prefix of that bucket"
)


class DataSources(Construct):
    """The stage's declared data sources.

    Attributes:
        locations: The declared sources.
        setting: The `DATA_SOURCES` value the Validate function reads: compact JSON,
            `[{"bucket", "prefixes"}]`, `[]` without sources.
    """

    def __init__(self, scope: Construct, id_: str, *, locations: Sequence[DataLocation]) -> None:
        names = [location.bucket for location in locations]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"locations repeat buckets {repeated}; give each bucket one")
        for location in locations:
            if "/" in location.bucket or ":" in location.bucket:
                raise ValueError(f"bucket must be a bucket name, got {location.bucket!r}")
            if any(not prefix or "*" in prefix for prefix in location.prefixes):
                raise ValueError(f"prefixes of {location.bucket!r} must be literal and non-empty")
        super().__init__(scope, id_)
        self.locations = tuple(locations)
        self.setting = json.dumps(
            [{"bucket": loc.bucket, "prefixes": list(loc.prefixes)} for loc in self.locations],
            separators=(",", ":"),
        )

    def grant_read(self, role: iam.IRole) -> None:
        """`s3:GetObject` on the declared objects and `kms:Decrypt` with the declared keys."""
        if not self.locations:
            return
        objects = [
            _object_pattern(location.bucket, prefix)
            for location in self.locations
            for prefix in location.prefixes or ("",)
        ]
        iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=objects)
        keys = sorted({arn for location in self.locations for arn in location.kms_key_arns})
        if keys:
            iam.Grant.add_to_principal(grantee=role, actions=["kms:Decrypt"], resource_arns=keys)
        Validations.of(role).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_finding(location.bucket, prefix)}]",
                    reason=_READ_REASON.format(location=f"{location.bucket}/{prefix}"),
                )
                for location in self.locations
                for prefix in location.prefixes or ("",)
            )
        )

    def grant_cors_read(self, role: iam.IRole) -> None:
        """`s3:GetBucketCORS` on the declared buckets, to check worker pages can load items."""
        if not self.locations:
            return
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:GetBucketCORS"],
            resource_arns=[_bucket_arn(location.bucket) for location in self.locations],
        )


def _bucket_arn(bucket: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{bucket}"


def _object_pattern(bucket: str, prefix: str) -> str:
    return f"{_bucket_arn(bucket)}/{prefix}*"


def _finding(bucket: str, prefix: str) -> str:
    """How cdk-nag names `_object_pattern(bucket, prefix)` in an IAM5 finding."""
    return f"arn:<AWS::Partition>:s3:::{bucket}/{prefix}*"
