"""The I/O the Label Studio backend's functions share: secrets, Label Studio, S3, the tokens table.

Secrets are read from Secrets Manager once per execution environment (:func:`secret` is
cached; :func:`forget_secrets` drops the cache, for a rotated secret) and never logged, put in
an error message or returned. Clients come from :func:`handler_support.client`.

The tokens table (:func:`tokens`, a :class:`job_contracts.tokens.TokenStore`) is the guard
against finishing a job twice: a finish ``claim``s the item (on condition that it still holds
the token and no other finish holds a fresh claim), ``release``s it after a failure, so the
next webhook or sweep finishes the job, and ``forget``s it once the step was resumed.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from handler_support import client
from job_contracts.tokens import TokenStore
from label_studio_api import LabelStudioClient

if TYPE_CHECKING:
    from labelstudio_backend.settings import Settings

__all__ = [
    "forget_secrets",
    "label_studio",
    "read_text",
    "secret",
    "tokens",
    "write_bytes",
    "write_json",
]

#: Attempts per Label Studio call (the client's bounded retries with back-off).
LABEL_STUDIO_ATTEMPTS = 4


@functools.cache
def secret(arn: str) -> str:
    """The secret's value (see :mod:`labelstudio_backend.settings`), cached per container.

    Raises:
        ValueError: the secret has no string value (the message names the ARN only).
    """
    value = client("secretsmanager").get_secret_value(SecretId=arn).get("SecretString")
    if not isinstance(value, str) or not value:
        raise ValueError(f"secret {arn} has no SecretString")
    if value.lstrip().startswith("{"):
        try:
            doc = json.loads(value)
        except ValueError:
            return value
        for key in ("token", "secret"):
            if isinstance(doc, dict) and isinstance(doc.get(key), str) and doc[key]:
                return str(doc[key])
        raise ValueError(f"secret {arn} is JSON without a 'token' or 'secret' string")
    return value


def forget_secrets() -> None:
    """Read secrets again on next use."""
    secret.cache_clear()


def label_studio(settings: Settings, **options: Any) -> LabelStudioClient:
    """A client of the configured Label Studio acting with the deployment's API token."""
    options.setdefault("max_attempts", LABEL_STUDIO_ATTEMPTS)
    return LabelStudioClient(
        settings.label_studio_url, secret(settings.label_studio_token_secret_arn), **options
    )


def read_text(bucket: str, key: str) -> str:
    body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


def write_bytes(bucket: str, key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def write_json(bucket: str, key: str, doc: Any) -> None:
    write_bytes(bucket, key, json.dumps(doc, ensure_ascii=False).encode(), "application/json")


def tokens(settings: Settings) -> TokenStore:
    """The tokens table."""
    return TokenStore(client("dynamodb"), settings.tokens_table)
