"""Run a LabelFlow Lambda handler in this process, the way the Lambda runtime would.

The handler is loaded by its handler string (``"post_annotation.handler.lambda_handler"``)
from the Lambda asset root (``lambdas/``, what Lambda mounts as ``/var/task``), with the
function's environment variables (and ``AWS_REGION``, as Lambda sets it) applied for the
duration of the call and a context object
carrying the attributes Powertools reads. Module-level caches (settings, clients) live as long
as the process, exactly as in a warm Lambda, until another function runs the same code (then
they are cleared, as on a cold start; see :mod:`labelflow.local.lambda_code`).

A function called with ``credentials`` (its execution role's session, as Lambda provides it)
gets them as ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``, and
boto3's default session is, for the duration of the call, a session of those credentials:
every client the function makes (``boto3.client("s3")``), on any of its threads, signs with
its role. One session is kept per set of credentials, so a warm function's clients and
boto3's loaded models carry over from call to call.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelflow.local import lambda_code as _lambda_code
from labelflow.local import transport

__all__ = ["ASSET_ROOT", "LambdaContext", "forget_sessions", "invoke"]

_CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_sessions: dict[tuple[str, ...], Any] = {}

ASSET_ROOT = _lambda_code.ASSET_ROOT


@dataclass
class LambdaContext:
    """The Lambda context attributes handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_ms: int = 900_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = "us-east-1"
    account: str = "111122223333"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local/[$LATEST]" + self.aws_request_id.replace("-", "")

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _botocore_session() -> Any:
    """A botocore session sharing one loader of service models with every other one.

    Parsing a service's model is most of the cost of a function's first client; one loader
    (which caches what it parsed) spares each role's session parsing them again. Requests
    to the emulator go to its application in process (:mod:`labelflow.local.transport`).
    """
    import botocore.loaders
    import botocore.session

    global _loader  # noqa: PLW0603 - one loader for the process
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader)
    session.register("before-send", transport.send)  # type: ignore[arg-type]
    return session


_loader: Any = None


def forget_sessions() -> None:
    """Drop the sessions of earlier credentials (a new emulator issues new ones)."""
    _sessions.clear()


@contextmanager
def _default_session(credentials: Mapping[str, str] | None) -> Iterator[None]:
    """boto3's default session signs with ``credentials`` for the duration of the block."""
    if not credentials:
        yield
        return
    import boto3

    key = tuple(credentials[name] for name in _CREDENTIAL_KEYS)
    session = _sessions.get(key)
    if session is None:
        session = boto3.Session(
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            aws_session_token=key[2],
            botocore_session=_botocore_session(),
        )
        _sessions[key] = session
    saved = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved


def invoke(
    handler: str,
    event: Any,
    *,
    environment: Mapping[str, str] | None = None,
    function_name: str | None = None,
    context: LambdaContext | None = None,
    code_root: Path | None = None,
    tenant: Hashable | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """Call ``handler`` (``"package.module.function"``) with ``event``; return its result.

    ``code_root`` is the folder the handler is imported from (default: ``lambdas/``); see
    :mod:`labelflow.local.lambda_code` for how other folders are kept apart. ``tenant``
    identifies the calling function: when it changes, the code's module-level caches are
    cleared as on a cold start (``None``: the handler string and environment). ``context``
    defaults to a :class:`LambdaContext` named after the handler's package. ``credentials``
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) are the ones
    the function calls AWS with (see the module docstring).

    Exceptions propagate unchanged, as the Lambda runtime reports them.
    """
    module_name, _, function = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} is not of the form package.module.function")
    root = ASSET_ROOT if code_root is None else code_root
    if context is None:
        context = LambdaContext(function_name=function_name or module_name.split(".")[0])
    # Lambda sets AWS_REGION (a reserved variable) for every function.
    env = {
        "POWERTOOLS_SERVICE_NAME": module_name.split(".")[0],
        "AWS_REGION": context.region,
        **(environment or {}),
        **(credentials or {}),
    }
    if tenant is None:
        tenant = (handler, tuple(sorted(env.items())))
    with (
        _lambda_code.activated(root, tenant),
        _environment(env),
        _default_session(credentials),
    ):
        entry = getattr(importlib.import_module(module_name), function)
        return entry(event, context)
