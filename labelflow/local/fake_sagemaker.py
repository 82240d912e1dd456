"""Stateful fakes of the SageMaker Ground Truth and A2I APIs that moto 5.2.5 lacks.

SageMaker actions (``CreateLabelingJob``, ``DescribeLabelingJob``, ``StopLabelingJob``,
``ListLabelingJobs``, ``CreateWorkteam``, ``DescribeWorkteam``, ``CreateFlowDefinition``,
``DescribeFlowDefinition``) are added as methods of ``moto.sagemaker.responses.
SageMakerResponse``: moto dispatches a JSON request by ``camelcase_to_underscores(action)``
among the class's functions, so they serve in-process ``mock_aws`` clients, the Step
Functions executor's aws-sdk tasks and server-mode clients alike. Their state is kept on the
``SageMakerModelBackend`` of the account and region, so moto's reset clears it.

A2I (``sagemaker-a2i-runtime``: ``StartHumanLoop``, ``DescribeHumanLoop``) is not a moto
service. Its REST paths are added to ``moto.sagemaker.urls.url_paths`` (server mode: A2I
requests are signed as service ``sagemaker``, so moto's dispatcher routes them to the
SageMaker app) and served in-process by a botocore ``before-send`` handler while
``mock_aws`` is active.

Requests are validated like the real API: against the constraints of botocore's service
model (required members, lengths, ranges, patterns, enums; patterns Python cannot compile
are skipped), plus the rules the model cannot express (one UI source, one data source, a
task price for the public workforce, unique names, ``TaskAvailabilityLifetimeInSeconds`` at
most 10 days). Work teams named in a job are not required to exist.

A created labeling job is ``InProgress`` until it runs: :func:`runner` runs pending jobs on
``run_pending()`` (deterministic) or on a background thread. Running a job reads its input
manifest, calls the pre-annotation Lambda per line and the consolidation Lambda once, both
by ARN through moto's Lambda backend; gets answers from the :mod:`~labelflow.local.workforce`
registered for the job (:func:`register_workforce`); writes Ground Truth's S3 layout under
``<S3OutputPath>/<job>/`` (worker responses, consolidation request and response, output
manifest); sets ``LabelCounters``, the status and ``LabelingJobOutput``; and sends the
``SageMaker Ground Truth Labeling Job State Change`` event to the default bus.

Simplifications: one iteration, one consolidation batch; ``OutputConfig.KmsKeyId`` is not
used for writes; a stopped job keeps no partial output; an item whose pre-annotation response
says ``isHumanAnnotationRequired: false`` is left unlabeled; human loops stay ``InProgress``
until :func:`complete_human_loop`.

Throttling: :func:`throttle_job_creation` makes the next N ``CreateLabelingJob`` requests (or
every one) fail with ``ThrottlingException`` (HTTP 400, moto's JSON error body
``{"__type": "ThrottlingException", "message": "Rate exceeded"}``), as SageMaker answers when
an account creates labeling jobs faster than its quota allows. A throttled request creates
nothing. The setting is process-wide and cleared by :func:`uninstall`.
"""

from __future__ import annotations

import functools
import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labelflow.local.workforce import WorkerAnswer, WorkerTask, Workforce

__all__ = [
    "EVENT_DETAIL_TYPE",
    "FakeValidationError",
    "JobRunner",
    "clear_workforces",
    "complete_human_loop",
    "install",
    "installed",
    "register_workforce",
    "runner",
    "throttle_job_creation",
    "throttled_job_creations",
    "uninstall",
    "validate_request",
]

EVENT_DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
_ITERATION = "iteration-1"
_TASK_AVAILABILITY_MAX = 864_000
#: moto's default account, which requests with the emulator's fake credentials act in.
_DEFAULT_ACCOUNT = "123456789012"
_PUBLIC_WORKTEAM = re.compile(r":workteam/public-crowd/")
#: Built-in pre-annotation Lambdas (``arn:...:function:PRE-<TaskName>``) by task type.
_BUILT_IN_TASKS = {
    "PRE-ImageMultiClass": "image-classification",
    "PRE-ImageMultiClassMultiLabel": "image-classification-multilabel",
    "PRE-TextMultiClass": "text-classification",
    "PRE-TextMultiClassMultiLabel": "text-classification-multilabel",
    "PRE-BoundingBox": "bounding-box",
    "PRE-SemanticSegmentation": "semantic-segmentation",
    "PRE-NamedEntityRecognition": "named-entity",
}


class FakeValidationError(Exception):
    """A request the real API would reject with ``ValidationException``."""


# --------------------------------------------------------------------------------------------
# validation against botocore's model
# --------------------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _check(shape: Any, value: Any, where: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(
                f"Value at '{where}' failed to satisfy constraint: Member must be a structure"
            )
            return
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_child(where, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], _child(where, name), problems)
        return
    if kind == "list":
        if not isinstance(value, list):
            problems.append(
                f"Value at '{where}' failed to satisfy constraint: Member must be a list"
            )
            return
        _length(meta, len(value), value, where, problems)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}.{index + 1}.member", problems)
        return
    if kind == "string":
        text = str(value)
        _length(meta, len(text), text, where, problems)
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and compiled.fullmatch(text) is None:
            problems.append(
                f"Value '{text}' at '{where}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {meta['pattern']}"
            )
        if shape.enum and text not in shape.enum:
            problems.append(
                f"Value '{text}' at '{where}' failed to satisfy constraint: Member must satisfy "
                f"enum value set: {list(shape.enum)}"
            )
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                "Member must be a number"
            )
            return
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
                f"value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {meta['max']}"
            )


def _length(
    meta: Mapping[str, Any], size: int, value: Any, where: str, problems: list[str]
) -> None:
    if "min" in meta and size < meta["min"]:
        problems.append(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
            f"length greater than or equal to {meta['min']}"
        )
    if "max" in meta and size > meta["max"]:
        problems.append(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
            f"length less than or equal to {meta['max']}"
        )


def _child(where: str, name: str) -> str:
    lowered = name[:1].lower() + name[1:]
    return f"{where}.{lowered}" if where else lowered


@functools.cache
def _service_model(service: str) -> Any:
    """botocore's model of ``service``, parsed once (a new session parses the JSON again)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def validate_request(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Check ``params`` against the input shape of ``service``'s ``operation``.

    Raises:
        FakeValidationError: with the real API's "N validation errors detected: ..." text.
    """
    shape = _service_model(service).operation_model(operation).input_shape
    problems: list[str] = []
    _check(shape, dict(params), "", problems)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise FakeValidationError(
            f"{len(problems)} validation {noun} detected: " + "; ".join(problems)
        )


# --------------------------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------------------------


@dataclass
class _Job:
    request: dict[str, Any]
    arn: str
    account: str
    region: str
    created: datetime
    status: str = "InProgress"
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    counters: dict[str, int] = field(
        default_factory=lambda: {
            "TotalLabeled": 0,
            "HumanLabeled": 0,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": 0,
        }
    )
    failure_reason: str | None = None
    output_manifest: str | None = None
    reference_code: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def name(self) -> str:
        return str(self.request["LabelingJobName"])

    def describe(self) -> dict[str, Any]:
        body = {
            key: value
            for key, value in self.request.items()
            if key
            in (
                "LabelingJobName",
                "LabelAttributeName",
                "InputConfig",
                "OutputConfig",
                "RoleArn",
                "LabelCategoryConfigS3Uri",
                "StoppingConditions",
                "LabelingJobAlgorithmsConfig",
                "HumanTaskConfig",
                "Tags",
            )
        }
        body.update(
            LabelingJobStatus=self.status,
            LabelCounters=dict(self.counters),
            CreationTime=self.created,
            LastModifiedTime=self.modified,
            JobReferenceCode=self.reference_code,
            LabelingJobArn=self.arn,
        )
        if self.failure_reason:
            body["FailureReason"] = self.failure_reason
        if self.output_manifest:
            body["LabelingJobOutput"] = {"OutputDatasetS3Uri": self.output_manifest}
        return body

    def summary(self) -> dict[str, Any]:
        task = self.request["HumanTaskConfig"]
        body: dict[str, Any] = {
            "LabelingJobName": self.name,
            "LabelingJobArn": self.arn,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "LabelingJobStatus": self.status,
            "LabelCounters": dict(self.counters),
            "WorkteamArn": task["WorkteamArn"],
            "InputConfig": self.request["InputConfig"],
        }
        if task.get("PreHumanTaskLambdaArn"):
            body["PreHumanTaskLambdaArn"] = task["PreHumanTaskLambdaArn"]
        consolidation = task.get("AnnotationConsolidationConfig") or {}
        if consolidation.get("AnnotationConsolidationLambdaArn"):
            body["AnnotationConsolidationLambdaArn"] = consolidation[
                "AnnotationConsolidationLambdaArn"
            ]
        if self.failure_reason:
            body["FailureReason"] = self.failure_reason
        if self.output_manifest:
            body["LabelingJobOutput"] = {"OutputDatasetS3Uri": self.output_manifest}
        return body


@dataclass
class _State:
    jobs: dict[str, _Job] = field(default_factory=dict)
    workteams: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    loops: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


_STATE_ATTRIBUTE = "_labelflow_fakes"


def _state(account: str, region: str) -> _State:
    """The fakes' state of one account and region, kept on moto's SageMaker backend."""
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[account][region]
    state = getattr(backend, _STATE_ATTRIBUTE, None)
    if state is None:
        state = _State()
        setattr(backend, _STATE_ATTRIBUTE, state)
    return state


def _arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


# --------------------------------------------------------------------------------------------
# SageMaker actions (methods of SageMakerResponse)
# --------------------------------------------------------------------------------------------


def _validation(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message)


def _validated(response: Any, operation: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(response._get_params())
    try:
        validate_request("sagemaker", operation, params)
    except FakeValidationError as exc:
        raise _validation(str(exc)) from None
    return params


def _result(body: Mapping[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(dict(body))


def _check_labeling_job(params: Mapping[str, Any]) -> None:
    task = params["HumanTaskConfig"]
    ui = task.get("UiConfig") or {}
    if bool(ui.get("UiTemplateS3Uri")) == bool(ui.get("HumanTaskUiArn")):
        raise _validation("UiConfig needs exactly one of UiTemplateS3Uri and HumanTaskUiArn")
    source = params["InputConfig"]["DataSource"]
    if bool(source.get("S3DataSource")) == bool(source.get("SnsDataSource")):
        raise _validation("DataSource needs exactly one of S3DataSource and SnsDataSource")
    lifetime = task.get("TaskAvailabilityLifetimeInSeconds")
    if lifetime is not None and lifetime > _TASK_AVAILABILITY_MAX:
        raise _validation(
            f"TaskAvailabilityLifetimeInSeconds {lifetime} exceeds the maximum of "
            f"{_TASK_AVAILABILITY_MAX} seconds"
        )
    price = (task.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if _PUBLIC_WORKTEAM.search(task["WorkteamArn"]):
        amount = price and (
            price.get("Dollars", 0) + price.get("Cents", 0) + price.get("TenthFractionsOfACent", 0)
        )
        if not amount:
            raise _validation("PublicWorkforceTaskPrice is required for the public workforce")


# --------------------------------------------------------------------------------------------
# throttling
# --------------------------------------------------------------------------------------------


class _Throttle:
    """How many more ``CreateLabelingJob`` requests to refuse, and how many were refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.remaining: int | None = 0  # None: every request
        self.refused = 0

    def take(self) -> bool:
        """Whether this request is refused (counting it)."""
        with self.lock:
            if self.remaining is not None:
                if self.remaining <= 0:
                    return False
                self.remaining -= 1
            self.refused += 1
            return True


_throttle = _Throttle()


def throttle_job_creation(calls: int | None) -> None:
    """Refuse the next ``calls`` ``CreateLabelingJob`` requests with ``ThrottlingException``.

    Args:
        calls: how many requests to refuse from now on; ``None`` refuses every request until
            this is called again; ``0`` stops refusing. Each call also resets the count of
            :func:`throttled_job_creations`.

    Raises:
        ValueError: a negative ``calls``.

    Example:
        >>> throttle_job_creation(2)  # the next two requests fail, the third creates the job
    """
    if calls is not None and calls < 0:
        raise ValueError(f"calls must be >= 0 or None, got {calls}")
    with _throttle.lock:
        _throttle.remaining = calls
        _throttle.refused = 0


def throttled_job_creations() -> int:
    """How many ``CreateLabelingJob`` requests were refused since the last setting."""
    with _throttle.lock:
        return _throttle.refused


def _throttling() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ThrottlingException", "Rate exceeded")


def create_labeling_job(self: Any) -> Any:
    if _throttle.take():
        raise _throttling()
    params = _validated(self, "CreateLabelingJob")
    _check_labeling_job(params)
    state = _state(self.current_account, self.region)
    name = params["LabelingJobName"]
    with state.lock:
        if name.lower() in state.jobs:
            from moto.sagemaker.exceptions import ResourceInUseException

            raise ResourceInUseException(f"Job name {name} already exists")
        now = datetime.now(UTC)
        job = _Job(
            request=params,
            arn=_arn(self.region, self.current_account, "labeling-job", name),
            account=self.current_account,
            region=self.region,
            created=now,
            modified=now,
        )
        state.jobs[name.lower()] = job
    runner().submit(job)
    return _result({"LabelingJobArn": job.arn})


def _job(response: Any) -> _Job:
    name = str(response._get_param("LabelingJobName"))
    job = _state(response.current_account, response.region).jobs.get(name.lower())
    if job is None:
        from moto.sagemaker.exceptions import ResourceNotFound

        raise ResourceNotFound(f"Could not find labeling job {name}")
    return job


def describe_labeling_job(self: Any) -> Any:
    _validated(self, "DescribeLabelingJob")
    return _result(_job(self).describe())


def stop_labeling_job(self: Any) -> Any:
    _validated(self, "StopLabelingJob")
    job = _job(self)
    with _state(job.account, job.region).lock:
        if job.status == "InProgress":
            job.status = "Stopping"
            job.modified = datetime.now(UTC)
    return _result({})


def list_labeling_jobs(self: Any) -> Any:
    params = _validated(self, "ListLabelingJobs")
    jobs = list(_state(self.current_account, self.region).jobs.values())
    if params.get("NameContains"):
        jobs = [job for job in jobs if params["NameContains"].lower() in job.name.lower()]
    if params.get("StatusEquals"):
        jobs = [job for job in jobs if job.status == params["StatusEquals"]]
    bounds: tuple[tuple[str, Callable[[_Job, datetime], bool]], ...] = (
        ("CreationTimeAfter", lambda job, t: job.created > t),
        ("CreationTimeBefore", lambda job, t: job.created < t),
        ("LastModifiedTimeAfter", lambda job, t: job.modified > t),
        ("LastModifiedTimeBefore", lambda job, t: job.modified < t),
    )
    for key, test in bounds:
        if params.get(key) is not None:
            jobs = [job for job in jobs if test(job, params[key])]
    sort_by = params.get("SortBy", "CreationTime")
    keys: dict[str, Callable[[_Job], Any]] = {
        "Name": lambda job: job.name,
        "CreationTime": lambda job: job.created,
        "Status": lambda job: job.status,
    }
    jobs.sort(key=keys[sort_by], reverse=params.get("SortOrder", "Descending") == "Descending")
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 10)
    body: dict[str, Any] = {
        "LabelingJobSummaryList": [job.summary() for job in jobs[start : start + size]]
    }
    if start + size < len(jobs):
        body["NextToken"] = str(start + size)
    return _result(body)


def create_workteam(self: Any) -> Any:
    params = _validated(self, "CreateWorkteam")
    state = _state(self.current_account, self.region)
    name = params["WorkteamName"]
    with state.lock:
        if name.lower() in state.workteams:
            from moto.sagemaker.exceptions import ResourceInUseException

            raise ResourceInUseException(f"Workteam {name} already exists")
        now = datetime.now(UTC)
        arn = _arn(self.region, self.current_account, "workteam", f"private-crowd/{name}")
        state.workteams[name.lower()] = {
            "WorkteamName": name,
            "MemberDefinitions": params["MemberDefinitions"],
            "WorkteamArn": arn,
            "WorkforceArn": _arn(self.region, self.current_account, "workforce", "default"),
            "Description": params["Description"],
            "SubDomain": f"{uuid.uuid4().hex[:10]}.labeling.{self.region}.sagemaker.aws",
            "CreateDate": now,
            "LastUpdatedDate": now,
            **{
                key: params[key]
                for key in ("NotificationConfiguration", "WorkerAccessConfiguration")
                if key in params
            },
        }
    return _result({"WorkteamArn": arn})


def describe_workteam(self: Any) -> Any:
    _validated(self, "DescribeWorkteam")
    name = str(self._get_param("WorkteamName"))
    team = _state(self.current_account, self.region).workteams.get(name.lower())
    if team is None:
        raise _validation(f"Workteam {name} does not exist")
    return _result({"Workteam": team})


def create_flow_definition(self: Any) -> Any:
    params = _validated(self, "CreateFlowDefinition")
    state = _state(self.current_account, self.region)
    name = params["FlowDefinitionName"]
    with state.lock:
        if name in state.flows:
            from moto.sagemaker.exceptions import ResourceInUseException

            raise ResourceInUseException(f"Flow definition {name} already exists")
        arn = _arn(self.region, self.current_account, "flow-definition", name)
        state.flows[name] = {
            "FlowDefinitionArn": arn,
            "FlowDefinitionName": name,
            "FlowDefinitionStatus": "Active",
            "CreationTime": datetime.now(UTC),
            "OutputConfig": params["OutputConfig"],
            "RoleArn": params["RoleArn"],
            **{
                key: params[key]
                for key in (
                    "HumanLoopRequestSource",
                    "HumanLoopActivationConfig",
                    "HumanLoopConfig",
                )
                if key in params
            },
        }
    return _result({"FlowDefinitionArn": arn})


def describe_flow_definition(self: Any) -> Any:
    _validated(self, "DescribeFlowDefinition")
    name = str(self._get_param("FlowDefinitionName"))
    flow = _state(self.current_account, self.region).flows.get(name)
    if flow is None:
        from moto.sagemaker.exceptions import ResourceNotFound

        raise ResourceNotFound(f"Could not find flow definition {name}")
    return _result(flow)


_ACTIONS: dict[str, Callable[[Any], Any]] = {
    "create_labeling_job": create_labeling_job,
    "describe_labeling_job": describe_labeling_job,
    "stop_labeling_job": stop_labeling_job,
    "list_labeling_jobs": list_labeling_jobs,
    "create_workteam": create_workteam,
    "describe_workteam": describe_workteam,
    "create_flow_definition": create_flow_definition,
    "describe_flow_definition": describe_flow_definition,
}


# --------------------------------------------------------------------------------------------
# A2I runtime
# --------------------------------------------------------------------------------------------

_A2I_PATH = re.compile(r"^/human-loops(?:/(?P<name>[^/?]+))?/?$")


def _a2i_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return status, headers, json.dumps({"message": message, "Message": message})


def _a2i(
    method: str, path: str, body: bytes | str | None, region: str, account: str
) -> tuple[int, dict[str, str], str]:
    """Serve one A2I runtime request; return ``(status, headers, body)``."""
    match = _A2I_PATH.match(path.split("?", 1)[0])
    if match is None:
        return _a2i_error(404, "ResourceNotFoundException", f"no A2I route for {path}")
    state = _state(account, region)
    name = match.group("name")
    if method == "POST" and name is None:
        params = json.loads(body or b"{}")
        try:
            validate_request("sagemaker-a2i-runtime", "StartHumanLoop", params)
        except FakeValidationError as exc:
            return _a2i_error(400, "ValidationException", str(exc))
        flow_name = params["FlowDefinitionArn"].rsplit("/", 1)[-1]
        with state.lock:
            if flow_name not in state.flows:
                return _a2i_error(
                    400, "ValidationException", f"Flow definition {flow_name} does not exist"
                )
            if params["HumanLoopName"] in state.loops:
                return _a2i_error(
                    409, "ConflictException", f"Human loop {params['HumanLoopName']} exists"
                )
            arn = _arn(region, account, "human-loop", params["HumanLoopName"])
            state.loops[params["HumanLoopName"]] = {
                "CreationTime": datetime.now(UTC).isoformat(),
                "HumanLoopStatus": "InProgress",
                "HumanLoopName": params["HumanLoopName"],
                "HumanLoopArn": arn,
                "FlowDefinitionArn": params["FlowDefinitionArn"],
                "_input": params["HumanLoopInput"],
            }
        return 200, {"Content-Type": "application/json"}, json.dumps({"HumanLoopArn": arn})
    if method == "GET" and name is not None:
        loop = state.loops.get(name)
        if loop is None:
            return _a2i_error(404, "ResourceNotFoundException", f"Human loop {name} not found")
        public = {key: value for key, value in loop.items() if not key.startswith("_")}
        return 200, {"Content-Type": "application/json"}, json.dumps(public)
    return _a2i_error(405, "ValidationException", f"{method} {path} is not supported")


def complete_human_loop(
    name: str,
    output_s3_uri: str,
    *,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> None:
    """Mark a human loop ``Completed`` with its output at ``output_s3_uri``."""
    state = _state(account, region)
    with state.lock:
        loop = state.loops[name]
        loop["HumanLoopStatus"] = "Completed"
        loop["HumanLoopOutput"] = {"OutputS3Uri": output_s3_uri}


def _a2i_url_handler(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """moto url_paths handler (server mode)."""
    region = _region_from_authorization(str(headers.get("Authorization", "")))
    data = request.get_data() if hasattr(request, "get_data") else getattr(request, "body", b"")
    return _a2i(request.method, request.path, data, region, _DEFAULT_ACCOUNT)


def _region_from_authorization(value: str) -> str:
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", value)
    return match.group(1) if match else "us-east-1"


def _a2i_before_send(request: Any, **_: Any) -> Any:
    """botocore ``before-send`` handler serving A2I while moto's in-process mock is on."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled:
        return None
    from urllib.parse import urlsplit

    url = urlsplit(request.url)
    authorization = request.headers.get("Authorization", "")
    if isinstance(authorization, bytes):
        authorization = authorization.decode("utf-8")
    region = _region_from_authorization(str(authorization))
    status, headers, body = _a2i(request.method, url.path, request.body, region, _DEFAULT_ACCOUNT)
    http_headers = HTTPHeaders()
    for key, value in headers.items():
        http_headers[key] = value

    class _Raw:
        def __init__(self, content: bytes) -> None:
            self._content = content

        def stream(self, **_: Any) -> Any:
            yield self._content

    return AWSResponse(request.url, status, http_headers, _Raw(body.encode()))


_A2I_URLS = {
    "{0}/human-loops$": _a2i_url_handler,
    "{0}/human-loops/(?P<name>[^/]+)$": _a2i_url_handler,
}
_A2I_EVENT = "before-send.sagemaker-a2i-runtime"


# --------------------------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------------------------

_installed = False


def installed() -> bool:
    return _installed


def install() -> None:
    """Add the SageMaker actions, the A2I routes and the in-process A2I handler (idempotent)."""
    global _installed  # noqa: PLW0603 - process-wide installation flag
    from botocore.handlers import BUILTIN_HANDLERS
    from moto.sagemaker import urls
    from moto.sagemaker.responses import SageMakerResponse

    for name, action in _ACTIONS.items():
        setattr(SageMakerResponse, name, action)
    urls.url_paths.update(_A2I_URLS)
    if (_A2I_EVENT, _a2i_before_send) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.insert(0, (_A2I_EVENT, _a2i_before_send))
    _installed = True


def uninstall() -> None:
    """Undo :func:`install`, and stop throttling (:func:`throttle_job_creation`)."""
    global _installed  # noqa: PLW0603 - process-wide installation flag
    from botocore.handlers import BUILTIN_HANDLERS
    from moto.sagemaker import urls
    from moto.sagemaker.responses import SageMakerResponse

    for name, action in _ACTIONS.items():
        if SageMakerResponse.__dict__.get(name) is action:
            delattr(SageMakerResponse, name)
    for path in _A2I_URLS:
        urls.url_paths.pop(path, None)
    while (_A2I_EVENT, _a2i_before_send) in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.remove((_A2I_EVENT, _a2i_before_send))
    throttle_job_creation(0)
    _installed = False


# --------------------------------------------------------------------------------------------
# workforces and the job runner
# --------------------------------------------------------------------------------------------

_workforces: dict[str, Workforce] = {}


def register_workforce(workforce: Workforce, *, job_prefix: str = "") -> None:
    """Answer the jobs whose name starts with ``job_prefix`` (longest prefix wins)."""
    _workforces[job_prefix.lower()] = workforce


def clear_workforces() -> None:
    _workforces.clear()


def _workforce_for(job_name: str) -> Workforce | None:
    matches = [prefix for prefix in _workforces if job_name.lower().startswith(prefix)]
    return _workforces[max(matches, key=len)] if matches else None


class _JobFailed(Exception):
    """Ends a job run with status Failed and this FailureReason."""


class JobRunner:
    """Runs fake labeling jobs: on :meth:`run_pending`, or on a background thread."""

    def __init__(self) -> None:
        self._pending: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._background = False

    def start(self, *, background: bool) -> None:
        self.stop()
        self._background = background
        if background:
            self._thread = threading.Thread(
                target=self._loop, name="fake-labeling-jobs", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._pending.put(None)
            self._thread.join(timeout=60)
            self._thread = None
        self._background = False
        while not self._pending.empty():
            self._pending.get_nowait()

    def submit(self, job: _Job) -> None:
        self._pending.put(job)

    def run_pending(self) -> list[str]:
        """Run every queued job now, in creation order; return their names."""
        names: list[str] = []
        while True:
            try:
                job = self._pending.get_nowait()
            except queue.Empty:
                return names
            if job is not None:
                run_job(job)
                names.append(job.name)

    def _loop(self) -> None:
        while True:
            job = self._pending.get()
            if job is None:
                return
            run_job(job)


_runner = JobRunner()


def runner() -> JobRunner:
    """The process's job runner."""
    return _runner


def _split_s3(uri: str) -> tuple[str, str]:
    without = uri.split("://", 1)[1]
    bucket, _, key = without.partition("/")
    return bucket, key


def _s3_store(job: _Job) -> Any:
    """moto's S3 backend of the job's account: the job reads and writes its files directly.

    Ground Truth writes its files from inside AWS, not through a client of the account's
    endpoint; going through moto's backend keeps what an S3 API write does (bucket default
    encryption, versioning, event notifications) without one HTTP round trip per file, which
    made up half of a 1,000-item job's run time.
    """
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[job.account][get_partition(job.region)]


def _read(s3: Any, uri: str) -> bytes:
    bucket, key = _split_s3(uri)
    stored = s3.get_object(bucket, key)
    if stored is None:
        raise KeyError(f"no object {uri}")
    return bytes(stored.value)


def _write(s3: Any, uri: str, body: Any) -> None:
    bucket, key = _split_s3(uri)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    s3.put_object(bucket, key, data)


def _invoke(job: _Job, arn: str, event: Any, role: str) -> Any:
    from moto.awslambda.models import lambda_backends

    headers: dict[str, str] = {}
    try:
        payload = lambda_backends[job.account][job.region].invoke(
            arn, None, json.dumps(event), {}, headers
        )
    except Exception as exc:
        raise _JobFailed(
            f"ClientError: The {role} Lambda function {arn} could not be invoked: {exc}"
        ) from None
    text = payload.decode() if isinstance(payload, bytes) else str(payload)
    if "x-amz-function-error" in headers:
        try:
            error = json.loads(text)
            detail = f"{error.get('errorType')}: {error.get('errorMessage')}"
        except (ValueError, AttributeError):
            detail = text
        raise _JobFailed(f"ClientError: The {role} Lambda function {arn} failed: {detail}"[:1024])
    return json.loads(text) if text else None


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _response_file(answers: list[WorkerAnswer], region: str) -> dict[str, Any]:
    return {
        "answers": [
            {
                "acceptanceTime": _timestamp(answer.acceptance_time),
                "answerContent": answer.answer_content,
                "submissionTime": _timestamp(answer.submission_time),
                "timeSpentInSeconds": answer.time_spent_seconds,
                "workerId": answer.worker_id,
                "workerMetadata": {
                    "identityData": {
                        "identityProviderType": "Cognito",
                        "issuer": f"https://cognito-idp.{region}.amazonaws.com/{region}_LabelFlow",
                        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, answer.worker_id)),
                    }
                },
            }
            for answer in answers
        ]
    }


def _task_type(job: _Job, task_input: Mapping[str, Any]) -> str:
    pre = str(job.request["HumanTaskConfig"].get("PreHumanTaskLambdaArn") or "")
    built_in = _BUILT_IN_TASKS.get(pre.rsplit(":", 1)[-1])
    if built_in:
        return built_in
    return str(task_input.get("taskType") or "text-classification")


def _set_status(job: _Job, status: str, reason: str | None = None) -> None:
    with _state(job.account, job.region).lock:
        job.status = status
        job.failure_reason = reason
        job.modified = datetime.now(UTC)
    from moto.events.models import events_backends

    events_backends[job.account][job.region].put_events(
        [
            {
                "Source": "aws.sagemaker",
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps({"LabelingJobStatus": status}),
                "Resources": [job.arn],
                "EventBusName": "default",
            }
        ]
    )


def _stopping(job: _Job) -> bool:
    with _state(job.account, job.region).lock:
        return job.status == "Stopping"


def run_job(job: _Job) -> None:
    """Run one fake labeling job to Completed, Failed or Stopped."""
    try:
        if _stopping(job):
            _set_status(job, "Stopped")
            return
        _run(job)
    except _JobFailed as exc:
        _set_status(job, "Failed", str(exc)[:1024])
    except Exception as exc:
        _set_status(job, "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])


def _run(job: _Job) -> None:
    request = job.request
    task = request["HumanTaskConfig"]
    attribute = request["LabelAttributeName"]
    output = request["OutputConfig"]["S3OutputPath"].rstrip("/") + f"/{job.name}"
    s3 = _s3_store(job)
    manifest_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    try:
        raw = _read(s3, manifest_uri).decode("utf-8")
    except Exception as exc:
        raise _JobFailed(
            f"ClientError: Could not read the input manifest {manifest_uri}: {exc}"
        ) from None
    lines = [json.loads(text) for text in raw.splitlines() if text.strip()]
    limit = (request.get("StoppingConditions") or {}).get("MaxHumanLabeledObjectCount")
    labels: list[str] | None = None
    if request.get("LabelCategoryConfigS3Uri"):
        categories = json.loads(_read(s3, request["LabelCategoryConfigS3Uri"]))
        labels = [entry["label"] for entry in categories.get("labels", [])]
    workforce = _workforce_for(job.name)
    if workforce is None:
        raise _JobFailed(f"ClientError: no simulated workforce is registered for {job.name}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H:%M:%S")

    payload: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if limit is not None and len(payload) >= limit:
            break
        if _stopping(job):
            _set_status(job, "Stopped")
            return
        object_id = str(index)
        task_input: Mapping[str, Any] = {"taskObject": line.get("source-ref", line.get("source"))}
        if task.get("PreHumanTaskLambdaArn"):
            event = {"version": "2018-10-16", "labelingJobArn": job.arn, "dataObject": line}
            response = _invoke(job, task["PreHumanTaskLambdaArn"], event, "pre-human task")
            if not response or response.get("isHumanAnnotationRequired") is not True:
                continue
            task_input = response.get("taskInput") or {}
        work = WorkerTask(
            job_name=job.name,
            dataset_object_id=object_id,
            line=line,
            task_input=task_input,
            task_type=_task_type(job, task_input),
            labels=tuple(labels or task_input.get("labels") or ()),
            workers_per_object=int(task["NumberOfHumanWorkersPerDataObject"]),
            element_name=attribute,
            region=job.region,
        )
        answers = workforce.answers(work)
        _write(
            s3,
            f"{output}/annotations/worker-response/{_ITERATION}/{object_id}/{stamp}.json",
            _response_file(answers, job.region),
        )
        data_object = (
            {"s3Uri": line["source-ref"]}
            if "source-ref" in line
            else {"content": line.get("source")}
        )
        payload.append(
            {
                "datasetObjectId": object_id,
                "dataObject": data_object,
                "annotations": [
                    {
                        "workerId": answer.worker_id,
                        "annotationData": {"content": json.dumps(answer.answer_content)},
                    }
                    for answer in answers
                ],
            }
        )

    consolidated = f"{output}/annotations/consolidated-annotation"
    request_uri = f"{consolidated}/consolidation-request/{_ITERATION}/{stamp}.json"
    _write(s3, request_uri, payload)
    results: dict[str, Any] = {}
    consolidation = (task.get("AnnotationConsolidationConfig") or {}).get(
        "AnnotationConsolidationLambdaArn"
    )
    if consolidation and payload:
        event = {
            "version": "2018-10-16",
            "labelingJobArn": job.arn,
            "labelCategories": labels,
            "labelAttributeName": attribute,
            "roleArn": request["RoleArn"],
            "payload": {"s3Uri": request_uri},
            "outputConfig": f"{output}/annotations",
        }
        response = _invoke(job, consolidation, event, "annotation consolidation")
        _write(s3, f"{consolidated}/consolidation-response/{_ITERATION}/{stamp}.json", response)
        for entry in response or []:
            results[str(entry["datasetObjectId"])] = entry["consolidatedAnnotation"]["content"]
    if _stopping(job):
        _set_status(job, "Stopped")
        return

    created = datetime.now(UTC).replace(tzinfo=None).isoformat()
    sent = {entry["datasetObjectId"] for entry in payload}
    out_lines = []
    labeled = failed = 0
    for index, line in enumerate(lines):
        object_id = str(index)
        row = dict(line)
        metadata: dict[str, Any] = {
            "type": "groundtruth/custom",
            "job-name": f"labeling-job/{job.name}",
            "human-annotated": "yes",
            "creation-date": created,
        }
        if object_id in results and attribute in results[object_id]:
            row[attribute] = results[object_id][attribute]
            row[f"{attribute}-metadata"] = metadata
            labeled += 1
        elif object_id in sent:
            row[f"{attribute}-metadata"] = {
                "retry-count": 1,
                "failure-reason": "ClientError: The consolidation Lambda returned no annotation",
                "human-annotated": "true",
            }
            failed += 1
        out_lines.append(json.dumps(row))
    manifest_out = f"{output}/manifests/output/output.manifest"
    _write(s3, manifest_out, ("\n".join(out_lines) + "\n").encode())
    with _state(job.account, job.region).lock:
        job.counters.update(
            TotalLabeled=labeled,
            HumanLabeled=labeled,
            MachineLabeled=0,
            FailedNonRetryableError=failed,
            Unlabeled=len(lines) - labeled - failed,
        )
        job.output_manifest = manifest_out
    _set_status(job, "Completed")
