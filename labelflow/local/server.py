"""LocalAws: moto in server mode on 127.0.0.1, with LabelFlow's adaptations.

    with LocalAws() as aws:
        s3 = aws.client("s3")
        ...

Starting it:

1. applies the moto patches of :mod:`labelflow.local.patches` (in-process Lambda handlers,
   aws-sdk response normalisation, fast waits, EventBridge ``states``/``lambda`` targets) and
   installs the SageMaker and A2I fakes of :mod:`labelflow.local.fake_sagemaker`;
2. turns on moto's Step Functions executor (``stepfunctions.execute_state_machine`` in
   ``moto.core.config.default_user_config``; moto has no environment variable for it) and
   moto's IAM access control: each in-process function calls AWS with a session of its own
   role and is refused what the role's policies do not allow; every other caller (these
   clients, the deployer, the executor) acts as the account's administrator (see
   :mod:`labelflow.local.iam`);
3. starts ``ThreadedMotoServer`` on 127.0.0.1 with a free port chosen by the OS;
4. sets ``MOTO_PORT`` (the executor's own aws-sdk and Lambda calls go to
   ``http://localhost:$MOTO_PORT``) and ``AWS_ENDPOINT_URL`` (in-process handlers and any
   boto3 client of this process then talk to the emulator), plus fake credentials and a
   region when none are set; the in-process functions' requests reach the server's
   application without a socket (:mod:`labelflow.local.transport`);
5. serves function URLs on 127.0.0.1 (:attr:`LocalAws.function_url_base`): a request to
   ``<base><function name>/<path>`` invokes that function with the function URL event and
   answers with its response, as a Lambda function URL does.

Stopping it stops the function URL server and the fake labeling-job runner, waits for
asynchronous Lambda invocations, shuts the server down and closes its socket, and restores
the environment, moto's configuration and the patches. moto's state lives in this process's
backends and is reset on start, so each ``LocalAws`` begins empty. One ``LocalAws`` at a time
per process: moto's backends and the environment variables are process-wide.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from labelflow.local import (
    fake_sagemaker,
    iam,
    lambda_code,
    lambda_runtime,
    patches,
    transport,
)
from labelflow.local.webhook_relay import WebhookRelay

__all__ = ["ACCOUNT_ID", "FAKE_CREDENTIALS", "LocalAws"]

#: moto's default account: ARNs of everything created in the emulator use it.
ACCOUNT_ID = "123456789012"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_ENVIRONMENT_KEYS = ("MOTO_PORT", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", *FAKE_CREDENTIALS)
_active: LocalAws | None = None
_active_lock = threading.Lock()


class LocalAws:
    """A local AWS endpoint backed by moto; a context manager.

    Args:
        region: Region of the clients and of the labeling-job fakes.
        fast_waits: Wait states and Retry back-off return at once (history is unchanged).
        run_jobs_in_background: Fake labeling jobs run on a background thread as soon as
            they are created; otherwise they stay ``Initializing`` until :meth:`run_jobs`.
        consolidation_batch_size: Data objects per call of a fake labeling job's
            consolidation Lambda (see :mod:`labelflow.local.fake_sagemaker`).
        evaluate_iam: Evaluate the functions' role policies (moto's IAM access control).
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        fast_waits: bool = True,
        run_jobs_in_background: bool = False,
        consolidation_batch_size: int = fake_sagemaker.DEFAULT_CONSOLIDATION_BATCH_SIZE,
        evaluate_iam: bool = True,
    ) -> None:
        self.region = region
        self._fast_waits = fast_waits
        self._background = run_jobs_in_background
        self._batch_size = consolidation_batch_size
        self._evaluate_iam = evaluate_iam
        self._iam: Any = None
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_config: dict[str, Any] | None = None
        self._fast_waits_before = False
        self._werkzeug_level = logging.NOTSET
        self.endpoint_url = ""
        self.port = 0
        self._function_urls: WebhookRelay | None = None

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> LocalAws:
        """Start the emulator (see the module docstring). Raises ``RuntimeError`` if another
        ``LocalAws`` of this process is running."""
        global _active  # noqa: PLW0603 - one emulator per process
        with _active_lock:
            if _active is not None:
                raise RuntimeError("another LocalAws is already running in this process")
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from moto.core import config as moto_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        patches.acquire()
        fake_sagemaker.install()
        self._fast_waits_before = patches.fast_waits_enabled()
        patches.enable_fast_waits(self._fast_waits)
        sfn = moto_config.default_user_config.setdefault("stepfunctions", {})
        self._saved_config = dict(sfn)
        sfn["execute_state_machine"] = True
        _reset_moto()
        lambda_code.cold_start_all()
        lambda_runtime.forget_sessions()
        iam.clear_access_log()
        if self._evaluate_iam:
            self._iam = iam.enable()
            self._iam.__enter__()

        self._quiet_request_log()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        _host, self.port = self._server.get_host_and_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        values = {
            "MOTO_PORT": str(self.port),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or self.region,
            **{key: os.environ.get(key) or value for key, value in FAKE_CREDENTIALS.items()},
        }
        self._saved_env = {key: os.environ.get(key) for key in _ENVIRONMENT_KEYS}
        os.environ.update(values)
        transport.serve(self.endpoint_url, self._server._server.app)
        fake_sagemaker.runner().start(background=self._background, batch_size=self._batch_size)
        self._function_urls = WebhookRelay(self._invoke_by_url).start()

    def _quiet_request_log(self) -> None:
        """werkzeug logs every request at INFO; keep the emulator's output to warnings."""
        log = logging.getLogger("werkzeug")
        self._werkzeug_level = log.level
        log.setLevel(max(log.level, logging.WARNING))

    def stop(self) -> None:
        """Stop everything :meth:`start` started; safe to call more than once."""
        global _active  # noqa: PLW0603 - one emulator per process
        if _active is not self:
            return
        try:
            if self._function_urls is not None:
                self._function_urls.stop()
                self._function_urls = None
            fake_sagemaker.runner().stop()
            patches.drain_async_invocations()
            transport.serve(None)
            if self._server is not None:
                self._server.stop()
                inner = getattr(self._server, "_server", None)
                if inner is not None:
                    inner.server_close()
                self._server = None
        finally:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env = {}
            if self._saved_config is not None:
                from moto.core import config as moto_config

                moto_config.default_user_config["stepfunctions"] = self._saved_config  # type: ignore[typeddict-item]
                self._saved_config = None
            patches.enable_fast_waits(self._fast_waits_before)
            if self._iam is not None:
                self._iam.__exit__(None, None, None)
                self._iam = None
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
            if fake_sagemaker.installed():
                fake_sagemaker.uninstall()
            patches.release()
            with _active_lock:
                _active = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- clients

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` pointed at the emulator, with fake credentials."""
        if not self.endpoint_url:
            raise RuntimeError("LocalAws is not running")
        options: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            "config": Config(retries={"max_attempts": 1, "mode": "standard"}),
        }
        options.update(kwargs)
        factory: Callable[..., Any] = boto3.client
        return factory(service, **options)

    @property
    def function_url_base(self) -> str:
        """Where functions' URLs are served: ``<base><function name>/`` is one function's URL.

        Pass it to :func:`labelflow.local.deploy.deploy` so that ``AWS::Lambda::Url``
        resources resolve to it.
        """
        if self._function_urls is None:
            raise RuntimeError("LocalAws is not running")
        return self._function_urls.url

    def _invoke_by_url(self, event: dict[str, Any]) -> Any:
        """Call the function named by the first path segment with a function URL event."""
        name, _, rest = event["rawPath"].lstrip("/").partition("/")
        if not name:
            return {"statusCode": 404, "body": "no function in the URL path"}
        forwarded = {
            **event,
            "rawPath": "/" + rest,
            "requestContext": {
                **event["requestContext"],
                "http": {**event["requestContext"]["http"], "path": "/" + rest},
            },
        }
        response = self.client("lambda").invoke(
            FunctionName=name, Payload=json.dumps(forwarded).encode()
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise RuntimeError(f"function {name} failed: {payload.decode(errors='replace')}")
        return json.loads(payload) if payload else None

    def run_jobs(self) -> list[str]:
        """Run every pending fake labeling job to its end; return their names."""
        return fake_sagemaker.runner().run_pending()

    def reset(self) -> None:
        """Empty every moto backend (and the SageMaker fakes with them)."""
        _reset_moto()


def _reset_moto() -> None:
    """Reset every moto backend (``BackendDict.reset`` through moto's own reset API)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
