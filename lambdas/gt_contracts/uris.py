"""S3 URIs and labeling-job ARNs."""

from __future__ import annotations

import re

from gt_contracts.errors import ContractError

__all__ = ["job_name_from_arn", "parse_s3_uri", "s3_uri"]

# Bucket names: today 3-63 lower-case letters, digits, dots and hyphens; legacy us-east-1
# buckets may also hold upper-case letters and underscores (up to 255 characters).
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]$")
_JOB_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:labeling-job/(?P<name>.+)$"
)


def parse_s3_uri(uri: object, *, field: str = "s3Uri") -> tuple[str, str]:
    """Split ``s3://bucket/key`` into ``(bucket, key)``.

    Args:
        uri: the URI to parse.
        field: the name of the field the URI came from, used in error messages.

    Returns:
        The bucket name and the object key (never empty).

    Raises:
        ContractError: not a string, not ``s3://``, a malformed bucket or an empty key.

    Example:
        >>> parse_s3_uri("s3://my-bucket/output/job/payload.json")
        ('my-bucket', 'output/job/payload.json')
    """
    if not isinstance(uri, str):
        raise ContractError(f"{field} must be an S3 URI string, got {type(uri).__name__}")
    if not uri.startswith("s3://"):
        raise ContractError(f"{field} must start with 's3://', got {uri!r}")
    bucket, sep, key = uri[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise ContractError(f"{field} has an invalid bucket name {bucket!r} in {uri!r}")
    if not sep or not key:
        raise ContractError(f"{field} has no object key: {uri!r}")
    return bucket, key


def s3_uri(bucket: str, key: str) -> str:
    """``s3://bucket/key``."""
    return f"s3://{bucket}/{key}"


def job_name_from_arn(arn: object, *, field: str = "labelingJobArn") -> str:
    """The job name at the end of a labeling-job ARN.

    Ground Truth may send the name lower-cased; it is returned as it appears in the ARN.

    Raises:
        ContractError: not a labeling-job ARN.

    Example:
        >>> job_name_from_arn("arn:aws:sagemaker:us-east-1:111122223333:labeling-job/pets-1")
        'pets-1'
    """
    if not isinstance(arn, str):
        raise ContractError(f"{field} must be a string, got {type(arn).__name__}")
    match = _JOB_ARN.match(arn)
    if match is None:
        raise ContractError(
            f"{field} is not a labeling-job ARN "
            f"(arn:aws:sagemaker:<region>:<account>:labeling-job/<name>): {arn!r}"
        )
    return match["name"]
