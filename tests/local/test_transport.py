"""In-process functions' AWS requests reach the emulator's application without a socket."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from labelflow.local import transport
from labelflow.local.server import LocalAws

HANDLER = """
import boto3

BODY = bytes(range(256)) * 40


def lambda_handler(event, context):
    s3 = boto3.client("s3")
    bucket = event["bucket"]
    s3.put_object(Bucket=bucket, Key="dir/with space+plus.bin", Body=BODY)
    read = s3.get_object(Bucket=bucket, Key="dir/with space+plus.bin")["Body"].read()
    head = s3.head_object(Bucket=bucket, Key="dir/with space+plus.bin")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]
    try:
        s3.get_object(Bucket=bucket, Key="missing")
        missing = None
    except s3.exceptions.NoSuchKey as exc:
        missing = exc.response["Error"]["Code"]
    return {
        "same": read == BODY,
        "length": head["ContentLength"],
        "keys": [item["Key"] for item in listed],
        "missing": missing,
    }
"""


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("roundtrip/__init__.py", "")
        archive.writestr("roundtrip/handler.py", HANDLER)
    return buffer.getvalue()


def test_a_functions_requests_are_served_in_process(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose role may use one bucket, and the transport counted
    handled: list[int] = []
    send = transport.send

    def counting(request: Any, **kwargs: Any) -> Any:
        response = send(request, **kwargs)
        handled.append(response.status_code)
        return response

    monkeypatch.setattr(transport, "send", counting)
    local_aws.client("s3").create_bucket(Bucket="roundtrip-bucket")
    iam = local_aws.client("iam")
    role = iam.create_role(RoleName="roundtrip", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="roundtrip",
        PolicyName="bucket",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                        "Resource": [
                            "arn:aws:s3:::roundtrip-bucket",
                            "arn:aws:s3:::roundtrip-bucket/*",
                        ],
                    }
                ],
            }
        ),
    )
    functions = local_aws.client("lambda")
    functions.create_function(
        FunctionName="roundtrip",
        Runtime="python3.12",
        Role=role,
        Handler="roundtrip.handler.lambda_handler",
        Code={"ZipFile": _zip()},
    )

    # When it runs
    response = functions.invoke(
        FunctionName="roundtrip", Payload=json.dumps({"bucket": "roundtrip-bucket"}).encode()
    )

    # Then its bytes, keys, headers and errors came back as over HTTP, without a socket
    result = json.loads(response["Payload"].read())
    assert response.get("FunctionError") is None, result
    assert result == {
        "same": True,
        "length": 10240,
        "keys": ["dir/with space+plus.bin"],
        "missing": "NoSuchKey",
    }
    assert handled == [200, 200, 200, 200, 404]


def test_requests_for_another_endpoint_go_over_the_network() -> None:
    class Request:
        url = "https://s3.amazonaws.com/bucket/key"

    transport.serve("http://127.0.0.1:1", app=object())
    try:
        assert transport.send(Request()) is None
        assert transport.served_endpoint() == "http://127.0.0.1:1"
    finally:
        transport.serve(None)
    assert transport.served_endpoint() is None
