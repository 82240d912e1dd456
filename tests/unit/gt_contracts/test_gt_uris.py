from __future__ import annotations

import pytest

from gt_contracts import ContractError, job_name_from_arn, parse_s3_uri, s3_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://my-bucket/a.json", ("my-bucket", "a.json")),
        ("s3://my.bucket-1/out/job/x y.json", ("my.bucket-1", "out/job/x y.json")),
        ("s3://Legacy_Bucket/k", ("Legacy_Bucket", "k")),
        (
            "s3://b12/output/annotations/iteration-1/2024-05-03_14:02:11.json",
            ("b12", "output/annotations/iteration-1/2024-05-03_14:02:11.json"),
        ),
    ],
)
def test_parse_s3_uri_splits_bucket_and_key(uri, expected):
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (None, "must be an S3 URI string"),
        (42, "must be an S3 URI string"),
        ("https://bucket/key", "must start with 's3://'"),
        ("s3://bucket", "has no object key"),
        ("s3://bucket/", "has no object key"),
        ("s3:///key", "invalid bucket name"),
        ("s3://-bad-/key", "invalid bucket name"),
    ],
)
def test_parse_s3_uri_rejects_malformed_uris(uri, message):
    with pytest.raises(ContractError, match=message):
        parse_s3_uri(uri)


def test_parse_s3_uri_names_the_field_in_errors():
    with pytest.raises(ContractError, match=r"^payload\.s3Uri "):
        parse_s3_uri("file:///tmp/x", field="payload.s3Uri")


def test_s3_uri_round_trips_with_parse():
    assert parse_s3_uri(s3_uri("bucket-a", "p/q.png")) == ("bucket-a", "p/q.png")


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:sagemaker:us-east-1:111122223333:labeling-job/pet-boxes-2024", "pet-boxes-2024"),
        (
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:labeling-job/job-20211118t021255",
            "job-20211118t021255",
        ),
    ],
)
def test_job_name_from_arn_returns_the_name_as_written(arn, name):
    assert job_name_from_arn(arn) == name


@pytest.mark.parametrize(
    "arn",
    [
        None,
        "pet-boxes-2024",
        "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/team",
        "arn:aws:sagemaker:us-east-1:1111:labeling-job/short-account",
        "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/",
    ],
)
def test_job_name_from_arn_rejects_other_arns(arn):
    with pytest.raises(ContractError, match="labelingJobArn"):
        job_name_from_arn(arn)
