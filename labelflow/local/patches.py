"""LabelFlow's adaptations of moto 5.2.5, each a small, reversible monkeypatch.

moto is pinned at 5.2.5: every patch below relies on private moto internals, named in its
docstring, and ``tests/local/test_patches.py`` has a canary per patch that fails loudly when
an upgrade moves them.

=================== =====================================================================
patch               what it changes
=================== =====================================================================
``lambda``          ``moto.awslambda.models.LambdaFunction._invoke_lambda``: the real
                    handler runs in this process from the function's stored zip, instead
                    of in Docker, with a session of the function's role
``sfn-responses``   ``StateTaskServiceAwsSdk._normalise_response``: aws-sdk task results
                    become JSON (streaming bodies to text, datetimes to ISO-8601 strings)
``fast-waits``      ``WaitFunction._wait_interval`` and ``retrier_decl.time``: Wait states
                    and retry back-off return at once while :func:`fast_waits` is on
``events-targets``  ``moto.events.models.Rule.send_to_targets``: ``states`` and ``lambda``
                    targets (moto raises ``NotImplementedError`` for both, which S3
                    delivery swallows); other targets are left to moto
``server-dispatch`` ``moto.backends.list_of_moto_modules``: listed once instead of on every
                    request (the server's dispatcher lists moto's package folder, one
                    ``stat`` per entry, under its process-wide lock, per request)
``dynamodb-atomic`` ``moto.dynamodb.responses.DynamoHandler`` item actions run under one
                    lock: moto applies an ``UpdateItem``'s changes to the stored item one
                    at a time, so a concurrent read could see half of an update (a job
                    marked SUCCEEDED before its output URI was set); DynamoDB never does
``dynamodb-backup``  ``moto.dynamodb.models.DynamoDBBackend.transact_write_items``: the
                    rollback copy of each table is taken once per transaction; moto 5.2.5
                    deep-copies the whole table once per *action*, so a 100-action
                    transaction on a table of thousands of items took seconds (DynamoDB's
                    own transactions cost the same whatever the table's size)
``map-tolerance``   ``DistributedIterationComponent._map_run``: a Distributed Map whose
                    failed or timed-out items exceed its ``ToleratedFailureCount`` and
                    ``ToleratedFailurePercentage`` (both 0 by default) fails with
                    ``States.ExceedToleratedFailureThreshold``, as in AWS; moto 5.2.5
                    counts such items but never checks the threshold, so a failed item
                    becomes a ``null`` result and the Map succeeds. moto also runs the
                    child executions without recording them anywhere; their events are
                    kept per Map run instead, for :func:`map_run_history`
``iam``             ``ActionAuthenticatorMixin._authenticate_and_authorize_action``: with
                    moto's access control on, a request signed by a role session of the
                    emulator is checked (signature, then every authorization
                    :func:`labelflow.local.iam.request_authorizations` names, evaluated by
                    moto's policy evaluator); moto passes most services the resource
                    ``*``, which no resource-scoped grant matches. Any other caller acts as
                    the account's administrator
=================== =====================================================================

Every patch is idempotent and counted: :func:`acquire` applies all of them (or does nothing
if they are applied already) and :func:`release` restores moto when the last user releases.
:class:`labelflow.local.server.LocalAws` acquires on start and releases on stop.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import json
import logging
import os
import threading
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

__all__ = [
    "MAP_THRESHOLD_CAUSE",
    "PATCHES",
    "Patch",
    "acquire",
    "drain_async_invocations",
    "enable_fast_waits",
    "fast_waits",
    "fast_waits_enabled",
    "map_run_history",
    "release",
    "to_json_value",
]

LOG = logging.getLogger(__name__)
_MARK = "__labelflow_patch__"


@dataclass(frozen=True)
class Patch:
    """One adaptation: ``apply`` and ``restore`` are idempotent; ``applied`` tells which."""

    name: str
    apply: Callable[[], None]
    restore: Callable[[], None]
    applied: Callable[[], bool]


# --------------------------------------------------------------------------------------------
# lambda: in-process handlers
# --------------------------------------------------------------------------------------------


def _lambda_error(exc: BaseException) -> str:
    """A Lambda-style error payload: Step Functions names the error after ``errorType``."""
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    )


def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement of ``LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``.

    The handler calls AWS with credentials of a session of the function's role (``role``),
    assumed through the emulator's STS, as Lambda provides them.

    Relies on these ``LambdaFunction`` attributes: ``code_bytes`` (the zip stored at
    CreateFunction), ``handler``, ``role``, ``environment_vars``, ``function_name``,
    ``function_arn``,
    ``memory_size``, ``timeout``, ``region``, ``account_id``, ``run_time``, ``version``,
    ``logs_backend`` and ``logs_group_name``. ``LambdaFunction.invoke`` has already parsed the
    request body, so ``event`` is the decoded payload (moto passes the string ``"{}"`` for an
    empty body).
    """
    from labelflow.local.iam import role_credentials
    from labelflow.local.lambda_code import code_root_for_zip
    from labelflow.local.lambda_runtime import LambdaContext, invoke

    self.logs_backend.ensure_log_group(self.logs_group_name)
    payload = {} if event is None or event == "{}" else event
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": str(self.version),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.run_time}",
        "AWS_REGION": self.region,
        "AWS_DEFAULT_REGION": self.region,
        "_HANDLER": str(self.handler),
        **{key: str(value) for key, value in self.environment_vars.items()},
    }
    context = LambdaContext(
        function_name=self.function_name,
        memory_limit_in_mb=int(self.memory_size),
        timeout_ms=int(self.timeout) * 1000,
        region=self.region,
        account=self.account_id,
    )
    try:
        credentials = role_credentials(
            self.account_id, self.region, str(self.role), self.function_name
        )
        # The endpoint and the role session are part of the tenant: a client cached while an
        # earlier emulator ran would still point at its (closed) port and sign with a session
        # it no longer knows.
        tenant = (
            self.function_arn,
            os.environ.get("AWS_ENDPOINT_URL"),
            credentials["AWS_ACCESS_KEY_ID"],
            tuple(sorted(environment.items())),
        )
        root = code_root_for_zip(self.code_bytes)
        result = invoke(
            str(self.handler),
            payload,
            environment=environment,
            context=context,
            code_root=root,
            tenant=tenant,
            credentials=credentials,
        )
        return json.dumps(result), False, ""
    except Exception as exc:
        LOG.info("function %s raised %s", self.function_name, type(exc).__name__)
        return _lambda_error(exc), True, ""


def _locked_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """``boto_client_for`` of the Step Functions executor, under the invocation lock.

    Creating a boto3 client reads the proxy settings by iterating ``os.environ``; an
    in-process invocation that ends on another thread at that moment removes its variables,
    and the iteration fails with ``KeyError``. Holding the lock that every invocation holds
    keeps the two apart.
    """
    from labelflow.local.lambda_code import INVOCATION_LOCK

    with INVOCATION_LOCK:
        return _ORIGINALS["lambda-client"](region, service, state_credentials)


def _lambda_apply() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )

    if getattr(LambdaFunction._invoke_lambda, _MARK, False):
        return
    _ORIGINALS["lambda"] = LambdaFunction._invoke_lambda
    _ORIGINALS["lambda-client"] = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009
    setattr(_invoke_in_process, _MARK, True)
    setattr(LambdaFunction, "_invoke_lambda", _invoke_in_process)  # noqa: B010
    setattr(lambda_eval_utils, "boto_client_for", _locked_client_for)  # noqa: B010


def _lambda_restore() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )

    if "lambda" in _ORIGINALS:
        setattr(LambdaFunction, "_invoke_lambda", _ORIGINALS.pop("lambda"))  # noqa: B010
    if "lambda-client" in _ORIGINALS:
        setattr(lambda_eval_utils, "boto_client_for", _ORIGINALS.pop("lambda-client"))  # noqa: B010


def _lambda_applied() -> bool:
    from moto.awslambda.models import LambdaFunction

    return bool(getattr(LambdaFunction._invoke_lambda, _MARK, False))


# --------------------------------------------------------------------------------------------
# sfn-responses: aws-sdk task results as JSON
# --------------------------------------------------------------------------------------------


def to_json_value(value: Any) -> Any:
    """``value`` with streaming bodies read into text, datetimes as ISO-8601 strings and
    bytes as UTF-8 text (base64 when they are not UTF-8), recursively."""
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "read") and not isinstance(value, io.TextIOBase):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _normalise_response(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """Replacement of the no-op ``StateTaskService._normalise_response`` for aws-sdk tasks.

    moto calls it with ``env.stack[-1]`` (the boto3 response dict) and ignores the return
    value, so the response is changed in place.
    """
    if isinstance(response, dict):
        normalised = to_json_value(response)
        response.clear()
        response.update(normalised)
    elif isinstance(response, list):
        response[:] = to_json_value(response)


def _aws_sdk_class() -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as module,
    )

    return module.StateTaskServiceAwsSdk


def _responses_apply() -> None:
    cls = _aws_sdk_class()
    if getattr(cls.__dict__.get("_normalise_response"), _MARK, False):
        return
    setattr(_normalise_response, _MARK, True)
    cls._normalise_response = _normalise_response


def _responses_restore() -> None:
    cls = _aws_sdk_class()
    if getattr(cls.__dict__.get("_normalise_response"), _MARK, False):
        del cls._normalise_response


def _responses_applied() -> bool:
    return bool(getattr(_aws_sdk_class().__dict__.get("_normalise_response"), _MARK, False))


# --------------------------------------------------------------------------------------------
# fast-waits: Wait states and retry back-off without sleeping
# --------------------------------------------------------------------------------------------

_FAST_WAITS = threading.Event()


def enable_fast_waits(enabled: bool = True) -> None:
    """Make Wait states and Retry back-off return at once (``True``) or wait again."""
    if enabled:
        _FAST_WAITS.set()
    else:
        _FAST_WAITS.clear()


def fast_waits_enabled() -> bool:
    return _FAST_WAITS.is_set()


@contextmanager
def fast_waits() -> Iterator[None]:
    """Fast waits for the duration of a ``with`` block."""
    before = fast_waits_enabled()
    enable_fast_waits(True)
    try:
        yield
    finally:
        enable_fast_waits(before)


class _RetryClock(types.SimpleNamespace):
    """Stands in for the ``time`` module inside ``retrier_decl`` (it only calls ``sleep``)."""

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        import time

        if not _FAST_WAITS.is_set():
            time.sleep(seconds)


def _wait_classes() -> tuple[Any, Any]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    return wait_function.WaitFunction, retrier_decl


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    """Replacement of ``WaitFunction._wait_interval(self, env, wait_seconds)``.

    The Wait state's history events are written by its caller, so skipping the wait leaves
    the execution history unchanged.
    """
    if _FAST_WAITS.is_set():
        return
    _ORIGINALS["fast-waits"](self, env, wait_seconds)


def _waits_apply() -> None:
    wait_cls, retrier_module = _wait_classes()
    if getattr(wait_cls._wait_interval, _MARK, False):
        return
    _ORIGINALS["fast-waits"] = wait_cls._wait_interval
    _ORIGINALS["fast-waits-time"] = retrier_module.time
    setattr(_wait_interval, _MARK, True)
    wait_cls._wait_interval = _wait_interval
    retrier_module.time = _RetryClock()


def _waits_restore() -> None:
    wait_cls, retrier_module = _wait_classes()
    if "fast-waits" in _ORIGINALS:
        wait_cls._wait_interval = _ORIGINALS.pop("fast-waits")
        retrier_module.time = _ORIGINALS.pop("fast-waits-time")


def _waits_applied() -> bool:
    wait_cls, retrier_module = _wait_classes()
    return bool(getattr(wait_cls._wait_interval, _MARK, False)) and isinstance(
        retrier_module.time, _RetryClock
    )


# --------------------------------------------------------------------------------------------
# events-targets: EventBridge to Step Functions and Lambda
# --------------------------------------------------------------------------------------------

_async_invocations: set[threading.Thread] = set()
_async_lock = threading.Lock()


def drain_async_invocations(timeout: float = 30.0) -> None:
    """Wait for the asynchronous Lambda invocations that EventBridge started."""
    with _async_lock:
        pending = list(_async_invocations)
    for thread in pending:
        thread.join(timeout)


def _iso_time(event: dict[str, Any]) -> dict[str, Any]:
    """moto keeps an event's ``time`` as epoch seconds; real events carry ISO-8601 text."""
    value = event.get("time")
    if isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        event = {**event, "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return event


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge delivers to ``target``: the event, or its ``Input``, ``InputPath`` or
    ``InputTransformer`` (the transformer through moto's ``EventTemplateParser``)."""
    from moto.events.utils import EventTemplateParser

    event = _iso_time(copy.deepcopy(event))
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        value: Any = event
        for part in str(target["InputPath"]).removeprefix("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return value
    transformer = target.get("InputTransformer")
    if transformer:
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, event),
        )
    return event


def _start_execution(arn: str, region: str, account: str, payload: Any) -> None:
    from moto.stepfunctions.responses import get_backend

    backend = get_backend(account, region)
    backend.start_execution(arn, name=str(uuid.uuid4()), execution_input=json.dumps(payload))


def _invoke_async(arn: str, region: str, account: str, payload: Any) -> None:
    from moto.awslambda.models import lambda_backends

    def run() -> None:
        try:
            lambda_backends[account][region].invoke(
                arn, None, json.dumps(payload), {"x-amz-invocation-type": "Event"}, {}
            )
        except Exception:
            LOG.exception("asynchronous invocation of %s failed", arn)
        finally:
            with _async_lock:
                _async_invocations.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"event-invoke-{arn}", daemon=True)
    with _async_lock:
        _async_invocations.add(thread)
    thread.start()


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """Replacement of ``Rule.send_to_targets(self, original_event, transform_input=True)``.

    Relies on ``Rule.event_pattern.matches_event``, ``Rule.targets`` (dicts with ``Arn``,
    ``Input``, ``InputPath``, ``InputTransformer``), ``moto.utilities.arns.parse_arn``, the
    parser backend's ``start_execution(arn, name=, execution_input=)`` and
    ``LambdaBackend.invoke(name, qualifier, body, headers, response_headers)``. Targets are
    delivered in order; every other target goes through moto's own method, one at a time,
    on a shallow copy of the rule holding just that target.
    """
    from moto.utilities.arns import parse_arn

    if not self.event_pattern.matches_event(original_event):
        return
    original = _ORIGINALS["events-targets"]
    for target in list(self.targets):
        arn = parse_arn(target["Arn"])
        if arn.service not in ("states", "lambda"):
            single = copy.copy(self)
            single.targets = [target]
            original(single, original_event, transform_input)
            continue
        try:
            payload = _target_input(target, original_event)
            deliver = _start_execution if arn.service == "states" else _invoke_async
            deliver(target["Arn"], arn.region, arn.account, payload)
        except Exception:
            # EventBridge delivery is asynchronous: a failed target never fails the sender.
            LOG.exception("EventBridge target %s of rule %s failed", target["Arn"], self.name)


def _events_apply() -> None:
    from moto.events.models import Rule

    if getattr(Rule.send_to_targets, _MARK, False):
        return
    _ORIGINALS["events-targets"] = Rule.send_to_targets
    setattr(_send_to_targets, _MARK, True)
    setattr(Rule, "send_to_targets", _send_to_targets)  # noqa: B010


def _events_restore() -> None:
    from moto.events.models import Rule

    if "events-targets" in _ORIGINALS:
        setattr(Rule, "send_to_targets", _ORIGINALS.pop("events-targets"))  # noqa: B010


def _events_applied() -> bool:
    from moto.events.models import Rule

    return bool(getattr(Rule.send_to_targets, _MARK, False))


# --------------------------------------------------------------------------------------------
# server-dispatch: moto's module list read once
# --------------------------------------------------------------------------------------------


def _moto_modules() -> tuple[str, ...]:
    """Replacement of ``moto.backends.list_of_moto_modules() -> Iterable[str]``.

    ``DomainDispatcherApplication.get_backend_for_host`` asks whether a request's host is a
    moto module name on every request, under the lock that serialises every request's
    dispatch; the original answers by listing moto's package folder and ``stat``-ing each of
    its ~180 entries. The folder does not change while the process runs.
    """
    if _MODULES not in _ORIGINALS:
        _ORIGINALS[_MODULES] = tuple(_ORIGINALS["server-dispatch"]())
    modules: tuple[str, ...] = _ORIGINALS[_MODULES]
    return modules


_MODULES = "server-dispatch-modules"


def _dispatch_apply() -> None:
    from moto import backends

    if getattr(backends.list_of_moto_modules, _MARK, False):
        return
    _ORIGINALS["server-dispatch"] = backends.list_of_moto_modules
    setattr(_moto_modules, _MARK, True)
    backends.list_of_moto_modules = _moto_modules


def _dispatch_restore() -> None:
    from moto import backends

    if "server-dispatch" in _ORIGINALS:
        backends.list_of_moto_modules = _ORIGINALS.pop("server-dispatch")
        _ORIGINALS.pop(_MODULES, None)


def _dispatch_applied() -> bool:
    from moto import backends

    return bool(getattr(backends.list_of_moto_modules, _MARK, False))


# --------------------------------------------------------------------------------------------
# dynamodb-atomic: item reads and writes one at a time
# --------------------------------------------------------------------------------------------

#: The item actions of ``DynamoHandler`` (each reads the request, calls the backend and builds
#: its result, a copy, before returning) that run under :data:`DYNAMODB_LOCK`.
DYNAMODB_ACTIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
)
DYNAMODB_LOCK = threading.RLock()


def _atomic(action: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return action(self)

    setattr(run, _MARK, True)
    run.__name__ = action.__name__
    return run


def _dynamodb_apply() -> None:
    from moto.dynamodb.responses import DynamoHandler

    for name in DYNAMODB_ACTIONS:
        action = getattr(DynamoHandler, name)
        if getattr(action, _MARK, False):
            continue
        _ORIGINALS[f"dynamodb-atomic.{name}"] = action
        setattr(DynamoHandler, name, _atomic(action))


def _dynamodb_restore() -> None:
    from moto.dynamodb.responses import DynamoHandler

    for name in DYNAMODB_ACTIONS:
        original = _ORIGINALS.pop(f"dynamodb-atomic.{name}", None)
        if original is not None:
            setattr(DynamoHandler, name, original)


def _dynamodb_applied() -> bool:
    from moto.dynamodb.responses import DynamoHandler

    return all(getattr(getattr(DynamoHandler, name), _MARK, False) for name in DYNAMODB_ACTIONS)


# --------------------------------------------------------------------------------------------
# dynamodb-backup: one rollback copy per table and transaction
# --------------------------------------------------------------------------------------------


class _OnceCopy:
    """Stands in for ``moto.dynamodb.models.copy`` inside ``transact_write_items``: the same
    object deep-copied again within one transaction returns the first copy (a transaction
    backs each table up before any action runs, so the copies are identical)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        copies = getattr(self._local, "copies", None)
        if copies is None:
            return copy.deepcopy(value, memo)
        key = id(value)
        if key not in copies:
            copies[key] = copy.deepcopy(value, memo)
        return copies[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._local.copies = {}
        try:
            yield
        finally:
            self._local.copies = None


_ONCE_COPY = _OnceCopy()


def _backed_up_once(method: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(self: Any, transact_items: Any) -> Any:
        with _ONCE_COPY.transaction():
            return method(self, transact_items)

    setattr(transact_write_items, _MARK, True)
    return transact_write_items


def _backup_apply() -> None:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _MARK, False):
        return
    _ORIGINALS["dynamodb-backup"] = backend.transact_write_items
    _ORIGINALS["dynamodb-backup.copy"] = vars(models)["copy"]
    setattr(models, "copy", _ONCE_COPY)  # noqa: B010 - the module's own name for copy
    backend.transact_write_items = _backed_up_once(backend.transact_write_items)  # type: ignore[method-assign]


def _backup_restore() -> None:
    from moto.dynamodb import models

    original = _ORIGINALS.pop("dynamodb-backup", None)
    if original is not None:
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        setattr(models, "copy", _ORIGINALS.pop("dynamodb-backup.copy"))  # noqa: B010


def _backup_applied() -> bool:
    from moto.dynamodb import models

    return bool(getattr(models.DynamoDBBackend.transact_write_items, _MARK, False))


# --------------------------------------------------------------------------------------------
# map-tolerance: a Distributed Map fails when too many items fail
# --------------------------------------------------------------------------------------------

#: The cause AWS gives a Map state that failed on its tolerated-failure threshold.
MAP_THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def _map_component() -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as module,
    )

    return module.DistributedIterationComponent


def _exceeds_tolerance(failed: int, total: int, count: int, percentage: float) -> bool:
    """Whether ``failed`` of ``total`` items exceed both the tolerated count and percentage.

    Both default to 0, so one failed item fails a Map that sets neither; a Map that sets one
    of them is judged by that one.
    """
    if failed == 0:
        return False
    return failed > count and (total == 0 or 100.0 * failed / total > percentage)


_map_run_events: dict[str, list[dict[str, Any]]] = {}
_map_run_events_lock = threading.Lock()


def map_run_history(map_run_arn: str) -> list[dict[str, Any]]:
    """The events of a Distributed Map run's child executions, in the order they happened.

    AWS keeps each child execution's history (``ListExecutions(mapRunArn=...)``, then
    ``GetExecutionHistory``); moto 5.2.5 keeps none, so the emulator records the run's
    events (all its children's, one sequence) under the ARN ``ListMapRuns`` returns.
    Empty for an unknown run.
    """
    with _map_run_events_lock:
        return copy.deepcopy(_map_run_events.get(map_run_arn, []))


def _map_run(self: Any, env: Any, eval_input: Any) -> None:
    """Replacement of ``DistributedIterationComponent._map_run(self, env, eval_input)``.

    Runs moto's Map run, then applies the threshold AWS applies (a run fails once failed
    plus timed-out items exceed both the tolerated count and the tolerated percentage). AWS
    stops the run as soon as the threshold is exceeded; here every item has run by then.
    Relies on ``eval_input.map_run_record.item_counter`` (``failed``, ``timed_out``,
    ``total``) and ``eval_input.tolerated_failure_count`` / ``tolerated_failure_percentage``.
    """
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    try:
        _ORIGINALS["map-tolerance"](self, env, eval_input)
    finally:
        # _eval_body gave the run an event manager of its own, which moto then drops.
        with _map_run_events_lock:
            _map_run_events[eval_input.map_run_record.map_run_arn] = json.loads(
                json.dumps(to_json_value(env.event_manager.get_event_history()))
            )
    items = eval_input.map_run_record.item_counter
    failed = items.failed.get() + items.timed_out.get()
    if not _exceeds_tolerance(
        failed,
        items.total.get(),
        int(eval_input.tolerated_failure_count or 0),
        float(eval_input.tolerated_failure_percentage or 0.0),
    ):
        return
    env.stack.pop()  # the run's outputs: the Map state fails instead
    error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.MapRunFailed,
            # moto declares EventDetails total, though every event sets one key of it.
            event_details=EventDetails(  # type: ignore[typeddict-item]
                mapRunFailedEventDetails=MapRunFailedEventDetails(
                    error=error.error_name, cause=MAP_THRESHOLD_CAUSE
                )
            ),
        )
    )


def _map_apply() -> None:
    component = _map_component()
    if getattr(component._map_run, _MARK, False):
        return
    _ORIGINALS["map-tolerance"] = component._map_run
    setattr(_map_run, _MARK, True)
    component._map_run = _map_run


def _map_restore() -> None:
    with _map_run_events_lock:
        _map_run_events.clear()
    if "map-tolerance" in _ORIGINALS:
        _map_component()._map_run = _ORIGINALS.pop("map-tolerance")


def _map_applied() -> bool:
    return bool(getattr(_map_component()._map_run, _MARK, False))


# --------------------------------------------------------------------------------------------
# iam: role sessions evaluated, everything else the account's administrator
# --------------------------------------------------------------------------------------------

#: moto's S3 action names that are not IAM action names.
_S3_IAM_ACTIONS = {"HeadBucket": "ListBucket"}
#: Actions AWS allows every signed caller, whatever its policies say.
_ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})


def _credential(headers: Any, query: Any) -> tuple[str, str, str] | None:
    """``(access key id, region, service)`` of a signed request (header or presigned URL)."""
    scope = ""
    authorization = headers.get("Authorization") or ""
    if "Credential=" in authorization:
        scope = authorization.partition("Credential=")[2].partition(",")[0]
    else:
        values = query.get("X-Amz-Credential") if query else None
        if values:
            scope = values[0] if isinstance(values, list) else str(values)
    parts = scope.split("/")
    if len(parts) < 4:
        return None
    return parts[0], parts[2], parts[3]


def _request_param(response: Any) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        value = response._get_param(name)
        if value is None and name == "FunctionName":
            match = response.uri_match if isinstance(response.uri_match, dict) else {}
            value = match.get("function_name") or match.get("FunctionName")
        return value

    return get


def _access_denied(service: str, principal: str, action: str, resource: str) -> Exception:
    """The refusal in the service's protocol (JSON services answer AccessDeniedException)."""
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    from labelflow.local.request_validation import service_model

    boto3_names = {"states": "stepfunctions", "events": "events"}
    try:
        protocol = service_model(boto3_names.get(service, service)).protocol
    except Exception:
        protocol = "query"
    message = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    if protocol in ("json", "rest-json"):
        error = JsonRESTError("AccessDeniedException", message)
        error.code = 403 if protocol == "rest-json" else 400
        return error
    denied = AccessDeniedError(user_arn=principal, action=action)
    return denied


def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    """Replacement of ``ActionAuthenticatorMixin._authenticate_and_authorize_action``.

    With moto's access control off it defers to moto (which only counts). With it on, a
    request signed by a role session of the emulator (:func:`labelflow.local.iam.
    role_credentials`) has its signature checked by moto's ``IAMRequest`` and every
    authorization :func:`labelflow.local.iam.request_authorizations` names (or moto's own
    action and resource) evaluated by moto's policy evaluator; any other caller acts as the
    account's administrator. Relies on ``self.headers``, ``self.querystring``,
    ``self.current_account``, ``self._get_action()``, ``self._get_param()``,
    ``self.uri_match``, ``moto.settings.INITIAL_NO_AUTH_ACTION_COUNT`` and the
    ``IAMRequestBase`` constructor, ``check_signature``, ``_access_key.arn`` and
    ``_raise_access_denied``.
    """
    from labelflow.local import iam

    if not iam.enabled():
        _ORIGINALS["iam"](self, iam_request_cls, resource)
        return
    credential = _credential(self.headers, getattr(self, "querystring", None))
    if credential is None:
        return  # unsigned: nothing the emulator's functions send
    access_key, region, service = credential
    account = self.current_account
    role = iam.session_role(account, region, access_key)
    if role is None:
        return  # not a role session: the account's administrator
    action = self._get_action()
    action = action[0] if isinstance(action, list) else str(action)
    s3 = service == "s3"
    if s3:
        action = _S3_IAM_ACTIONS.get(action, action)
    principal = f"arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[-1]}"
    iam_request = None
    if "Authorization" in self.headers:
        from urllib.parse import urlparse

        path = self.raw_path
        query = urlparse(self.uri).query
        iam_request = iam_request_cls(
            account_id=account,
            method=self.method,
            path=path + ("?" + query if query else ""),
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=action,
        )
        iam_request.check_signature()
        principal = str(iam_request._access_key.arn)
    if f"{service}:{action}" in _ALWAYS_ALLOWED:
        return
    needed = (
        None
        if s3
        else iam.request_authorizations(service, action, _request_param(self), region, account)
    )
    if needed is None:
        needed = [iam.Authorization(f"{service}:{action}", resource)]
        if s3:
            bucket = resource.split(":::", 1)[-1].split("/", 1)[0]
            implied = iam.s3_key_authorization(action, bucket, region, account)
            if implied is not None:
                needed.append(implied)
    for index, authorization in enumerate(needed):
        source = "implied" if index and s3 else "request"
        try:
            iam.require(account, region, role, authorization, source=source, principal=principal)
        except iam.AccessDenied:
            if s3 and iam_request is not None:
                iam_request._raise_access_denied()
            raise _access_denied(
                service, principal, authorization.action, authorization.resource
            ) from None


def _iam_class() -> Any:
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin


def _iam_apply() -> None:
    cls = _iam_class()
    if getattr(cls._authenticate_and_authorize_action, _MARK, False):
        return
    _ORIGINALS["iam"] = cls._authenticate_and_authorize_action
    setattr(_authorize, _MARK, True)
    cls._authenticate_and_authorize_action = _authorize


def _iam_restore() -> None:
    if "iam" in _ORIGINALS:
        _iam_class()._authenticate_and_authorize_action = _ORIGINALS.pop("iam")


def _iam_applied() -> bool:
    return bool(getattr(_iam_class()._authenticate_and_authorize_action, _MARK, False))


# --------------------------------------------------------------------------------------------

_ORIGINALS: dict[str, Any] = {}

PATCHES: tuple[Patch, ...] = (
    Patch("lambda", _lambda_apply, _lambda_restore, _lambda_applied),
    Patch("sfn-responses", _responses_apply, _responses_restore, _responses_applied),
    Patch("fast-waits", _waits_apply, _waits_restore, _waits_applied),
    Patch("events-targets", _events_apply, _events_restore, _events_applied),
    Patch("server-dispatch", _dispatch_apply, _dispatch_restore, _dispatch_applied),
    Patch("dynamodb-atomic", _dynamodb_apply, _dynamodb_restore, _dynamodb_applied),
    Patch("dynamodb-backup", _backup_apply, _backup_restore, _backup_applied),
    Patch("map-tolerance", _map_apply, _map_restore, _map_applied),
    Patch("iam", _iam_apply, _iam_restore, _iam_applied),
)

_users = 0
_users_lock = threading.Lock()


def acquire() -> None:
    """Apply every patch (once, however many users acquire)."""
    global _users  # noqa: PLW0603 - process-wide reference count
    with _users_lock:
        for patch in PATCHES:
            patch.apply()
        _users += 1


def release() -> None:
    """Undo :func:`acquire`; moto is restored when the last user releases."""
    global _users  # noqa: PLW0603 - process-wide reference count
    with _users_lock:
        _users = max(0, _users - 1)
        if _users == 0:
            for patch in reversed(PATCHES):
                patch.restore()
