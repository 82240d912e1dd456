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

Every request is validated as the service validates it: against botocore's model by
:mod:`labelflow.local.request_validation` (required members, lengths, list sizes, ranges,
enums, patterns with Java's semantics), then by the rules the model cannot express, each a
``ValidationException``:

* exactly one UI source (``UiTemplateS3Uri`` or ``HumanTaskUiArn``) and one data source;
* ``TaskAvailabilityLifetimeInSeconds`` at most 12 hours (43,200 s) for the public work team
  (Amazon Mechanical Turk), 30 days (2,592,000 s) for a private or vendor team;
* ``TaskTimeLimitInSeconds`` at most 8 hours (28,800 s), 30 days for video-frame and 3D
  point-cloud tasks;
* the public work team needs a ``PublicWorkforceTaskPrice`` among the prices Ground Truth
  allows for the task type (custom and classification tasks: 0.012, 0.024, 0.036, 0.048,
  0.060, 0.072, 0.120, 0.240, 0.360, 0.480, 0.600, 0.720, 0.840, 0.960, 1.080 or 1.200 USD;
  bounding boxes from 0.036; semantic segmentation from 0.840);
* names are unique (a labeling job's case-insensitively). Work teams named in a job are not
  required to exist.

A public-workforce job whose input is not declared
``FreeOfPersonallyIdentifiableInformation`` is created, then fails while it initializes, as
Ground Truth documents ("omitting the PII flag makes the job fail").

A created labeling job is ``Initializing`` until it runs: :func:`runner` runs pending jobs on
``run_pending()`` (deterministic) or on a background thread. Running a job, as Ground Truth
does and acting as the job's ``RoleArn`` (each read, write and invocation below is allowed
or refused by that role's policies while the emulator evaluates IAM, :mod:`labelflow.local.
iam`):

1. initializes: reads the input manifest, the label categories and the worker template
   (``UiTemplateS3Uri``); the answer element of the template (the first ``crowd-*`` element
   with a ``name``) names the key of every worker answer, as the form Ground Truth submits.
   A read the role is refused fails the job;
2. becomes ``InProgress``, and sends the data objects to workers in batches of at most
   ``MaxConcurrentTaskCount`` (default 1,000): per object it invokes the pre-annotation
   Lambda (an object is left out only when the response's ``isHumanAnnotationRequired`` is
   ``false``; absent means ``true``), checks that the role can read the object the workers
   would be shown (``source-ref``; an object it cannot read fails with the reason, as an
   expired task does), gets the answers of the :mod:`~labelflow.local.workforce` registered
   for the job (:func:`register_workforce`) and writes their worker-response file;
3. calls the consolidation Lambda in batches of ``batch_size`` objects (:data:`DEFAULT_
   CONSOLIDATION_BATCH_SIZE` unless the runner is given another), each batch with its own
   consolidation-request and consolidation-response file under a distinct time stamp, as
   Ground Truth consolidates objects as their workers finish;
4. writes the output manifest: every input line, in order and including repeated sources,
   with the label and ``-metadata`` of the objects consolidated and the failure of those
   that failed; sets ``LabelCounters``, ``LabelingJobOutput`` and the status, and sends the
   ``SageMaker Ground Truth Labeling Job State Change`` event (``Completed``, ``Failed``,
   ``Stopped``: the values Ground Truth documents) to the default bus.

Keys follow Ground Truth's layout (:class:`job_contracts.layout.LabelingJobFolder`).

Why 10 objects per consolidation call by default: Ground Truth calls the consolidation
Lambda once per batch of objects whose workers have finished, and documents no batch size;
the one batch size it does document is the first batch of 10 objects it sends a public
work team to validate a job's setup. A small batch makes every local run, test and
benchmark go through many consolidation calls per job (per-batch idempotency, skill
updates, request files), the regime of a production job, instead of one call per job.

Simplifications: one iteration; every object's workers answer at once (no task expiry, no
worker declines); ``OutputConfig.KmsKeyId`` is checked (the role must be allowed
``kms:GenerateDataKey`` on it) but files are written with the bucket's default encryption;
a stopped job keeps no partial output; the template is not rendered (its ``taskInput``
references are not checked); human loops stay ``InProgress`` until
:func:`complete_human_loop`.

Throttling: :func:`throttle_job_creation` makes the next N ``CreateLabelingJob`` requests (or
every one) fail with ``ThrottlingException`` (HTTP 400, moto's JSON error body
``{"__type": "ThrottlingException", "message": "Rate exceeded"}``), as SageMaker answers when
an account creates labeling jobs faster than its quota allows. A throttled request creates
nothing. The setting is process-wide and cleared by :func:`uninstall`.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from job_contracts.layout import LabelingJobFolder
from labelflow.local import iam
from labelflow.local.request_validation import RequestValidationError, validate_request
from labelflow.local.workforce import WorkerAnswer, WorkerTask, Workforce

__all__ = [
    "DEFAULT_CONSOLIDATION_BATCH_SIZE",
    "EVENT_DETAIL_TYPE",
    "FakeValidationError",
    "JobRunner",
    "answer_element_name",
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
#: Data objects per consolidation call (module docstring: why 10).
DEFAULT_CONSOLIDATION_BATCH_SIZE = 10
#: ``MaxConcurrentTaskCount`` when a job does not set it.
_DEFAULT_CONCURRENT_TASKS = 1_000
_PUBLIC_TASK_AVAILABILITY_MAX = 43_200
_PRIVATE_TASK_AVAILABILITY_MAX = 2_592_000
_TASK_TIME_LIMIT_MAX = 28_800
_LONG_TASK_TIME_LIMIT_MAX = 2_592_000
#: Statuses whose change Ground Truth documents as events.
_ANNOUNCED = frozenset({"Completed", "Failed", "Stopped"})
#: moto's default account, which requests with the emulator's fake credentials act in.
_DEFAULT_ACCOUNT = "123456789012"
_PUBLIC_WORKTEAM = re.compile(r":workteam/public-crowd/")
_PII = "FreeOfPersonallyIdentifiableInformation"
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
_BOX_PRICES = tuple(
    Decimal(price)
    for price in (
        "0.036",
        "0.048",
        "0.060",
        "0.072",
        "0.120",
        "0.240",
        "0.360",
        "0.480",
        "0.600",
        "0.720",
        "0.840",
        "0.960",
        "1.080",
        "1.200",
    )
)
#: Allowed ``PublicWorkforceTaskPrice`` values (USD) by the built-in Lambda's name; any
#: other (custom tasks, classification) takes the custom list.
_PRICES: dict[str, tuple[Decimal, ...]] = {
    "BoundingBox": _BOX_PRICES,
    "SemanticSegmentation": tuple(Decimal(p) for p in ("0.840", "0.960", "1.080", "1.200")),
}
_CUSTOM_PRICES = (Decimal("0.012"), Decimal("0.024"), *_BOX_PRICES)
#: Built-in task families whose tasks may take up to 30 days.
_LONG_TASKS = ("Video", "3DPointCloud", "PointCloud")

#: The name the validation error kept before :mod:`labelflow.local.request_validation`.
FakeValidationError = RequestValidationError

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
    status: str = "Initializing"
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
    except RequestValidationError as exc:
        raise _validation(str(exc)) from None
    return params


def _result(body: Mapping[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(dict(body))


def _built_in(task: Mapping[str, Any]) -> str | None:
    """The built-in task name of the job's pre-annotation Lambda (``BoundingBox``...)."""
    name = str(task.get("PreHumanTaskLambdaArn") or "").rsplit(":", 1)[-1]
    return name.removeprefix("PRE-") if name.startswith("PRE-") else None


def _price(amount: Mapping[str, Any]) -> Decimal:
    return (
        Decimal(int(amount.get("Dollars", 0)))
        + Decimal(int(amount.get("Cents", 0))) / 100
        + Decimal(int(amount.get("TenthFractionsOfACent", 0))) / 1000
    )


def _check_labeling_job(params: Mapping[str, Any]) -> None:
    """The rules of ``CreateLabelingJob`` the model cannot express (module docstring)."""
    task = params["HumanTaskConfig"]
    ui = task.get("UiConfig") or {}
    if bool(ui.get("UiTemplateS3Uri")) == bool(ui.get("HumanTaskUiArn")):
        raise _validation("UiConfig needs exactly one of UiTemplateS3Uri and HumanTaskUiArn")
    source = params["InputConfig"]["DataSource"]
    if bool(source.get("S3DataSource")) == bool(source.get("SnsDataSource")):
        raise _validation("DataSource needs exactly one of S3DataSource and SnsDataSource")
    public = bool(_PUBLIC_WORKTEAM.search(task["WorkteamArn"]))
    built_in = _built_in(task)
    lifetime = task.get("TaskAvailabilityLifetimeInSeconds")
    most = _PUBLIC_TASK_AVAILABILITY_MAX if public else _PRIVATE_TASK_AVAILABILITY_MAX
    if lifetime is not None and lifetime > most:
        workforce = (
            "the public workforce (Amazon Mechanical Turk)"
            if public
            else ("a private or vendor workforce")
        )
        raise _validation(
            f"TaskAvailabilityLifetimeInSeconds {lifetime} exceeds the maximum of {most} "
            f"seconds for {workforce}"
        )
    long_tasks = built_in is not None and any(family in built_in for family in _LONG_TASKS)
    limit = _LONG_TASK_TIME_LIMIT_MAX if long_tasks else _TASK_TIME_LIMIT_MAX
    if task["TaskTimeLimitInSeconds"] > limit:
        raise _validation(
            f"TaskTimeLimitInSeconds {task['TaskTimeLimitInSeconds']} exceeds the maximum of "
            f"{limit} seconds for this task type"
        )
    amount = (task.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if public:
        if not amount:
            raise _validation("PublicWorkforceTaskPrice is required for the public workforce")
        prices = _PRICES.get(built_in or "", _CUSTOM_PRICES)
        price = _price(amount)
        if price not in prices:
            allowed = ", ".join(f"{value:.3f}" for value in prices)
            raise _validation(
                f"PublicWorkforceTaskPrice {price:.3f} USD is not a price allowed for this "
                f"task type; use one of {allowed}"
            )


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
        if job.status in ("Initializing", "InProgress"):
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


def _a2i_refusal(
    account: str, region: str, access_key: str, action: str, resource: str
) -> tuple[int, dict[str, str], str] | None:
    """AccessDeniedException when a role session may not do ``action`` (None: it may).

    The emulator does not verify A2I signatures; the caller is the access key's role.
    """
    if not iam.enabled() or not access_key:
        return None
    role = iam.session_role(account, region, access_key)
    if role is None:
        return None  # not a role session: the account's administrator
    try:
        iam.require(account, region, role, iam.Authorization(action, resource), source="request")
    except iam.AccessDenied as denied:
        return _a2i_error(400, "AccessDeniedException", str(denied))
    return None


def _a2i(
    method: str,
    path: str,
    body: bytes | str | None,
    region: str,
    account: str,
    *,
    access_key: str = "",
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
        except RequestValidationError as exc:
            return _a2i_error(400, "ValidationException", str(exc))
        refused = _a2i_refusal(
            account, region, access_key, "sagemaker:StartHumanLoop", params["FlowDefinitionArn"]
        )
        if refused is not None:
            return refused
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
        refused = _a2i_refusal(
            account,
            region,
            access_key,
            "sagemaker:DescribeHumanLoop",
            _arn(region, account, "human-loop", name),
        )
        if refused is not None:
            return refused
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
    authorization = str(headers.get("Authorization", ""))
    region = _region_from_authorization(authorization)
    data = request.get_data() if hasattr(request, "get_data") else getattr(request, "body", b"")
    return _a2i(
        request.method,
        request.path,
        data,
        region,
        _DEFAULT_ACCOUNT,
        access_key=_access_key_from_authorization(authorization),
    )


def _region_from_authorization(value: str) -> str:
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", value)
    return match.group(1) if match else "us-east-1"


def _access_key_from_authorization(value: str) -> str:
    match = re.search(r"Credential=([^/]+)/", value)
    return match.group(1) if match else ""


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
    status, headers, body = _a2i(
        request.method,
        url.path,
        request.body,
        region,
        _DEFAULT_ACCOUNT,
        access_key=_access_key_from_authorization(str(authorization)),
    )
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
    """Runs fake labeling jobs: on :meth:`run_pending`, or on a background thread.

    ``batch_size`` is the number of data objects per call of a job's consolidation Lambda.
    """

    def __init__(self) -> None:
        self._pending: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._background = False
        self.batch_size = DEFAULT_CONSOLIDATION_BATCH_SIZE

    def start(
        self, *, background: bool, batch_size: int = DEFAULT_CONSOLIDATION_BATCH_SIZE
    ) -> None:
        """Start running jobs (on a thread when ``background``).

        Raises:
            ValueError: a ``batch_size`` below 1.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.stop()
        self.batch_size = batch_size
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
        self.batch_size = DEFAULT_CONSOLIDATION_BATCH_SIZE
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
                run_job(job, batch_size=self.batch_size)
                names.append(job.name)

    def _loop(self) -> None:
        while True:
            job = self._pending.get()
            if job is None:
                return
            run_job(job, batch_size=self.batch_size)


_runner = JobRunner()


def runner() -> JobRunner:
    """The process's job runner."""
    return _runner


# --------------------------------------------------------------------------------------------
# running a job: S3 and Lambda as the job's role
# --------------------------------------------------------------------------------------------


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


def _object_arn(uri: str) -> str:
    bucket, key = _split_s3(uri)
    return f"arn:aws:s3:::{bucket}/{key}"


def _kms_key_arn(job: _Job, key: str) -> str:
    if key.startswith("arn:"):
        return key
    if key.startswith("alias/"):
        return f"arn:aws:kms:{job.region}:{job.account}:{key}"
    return f"arn:aws:kms:{job.region}:{job.account}:key/{key}"


class _AsRole:
    """The job's reads, writes and invocations, each allowed or refused by its ``RoleArn``."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.role = str(job.request["RoleArn"])
        self.s3 = _s3_store(job)
        kms = (job.request.get("OutputConfig") or {}).get("KmsKeyId")
        self.output_key = _kms_key_arn(job, str(kms)) if kms else None

    def _authorized(self, authorizations: Sequence[iam.Authorization | None]) -> str | None:
        """None when the role may do all of ``authorizations``; else why it may not."""
        if not iam.enabled():
            return None
        for authorization in authorizations:
            if authorization is None:
                continue
            try:
                iam.require(
                    self.job.account,
                    self.job.region,
                    self.role,
                    authorization,
                    source="labeling-job",
                )
            except iam.AccessDenied as denied:
                return str(denied)
        return None

    def _key(self, action: str, uri: str) -> iam.Authorization | None:
        bucket, _ = _split_s3(uri)
        return iam.s3_key_authorization(action, bucket, self.job.region, self.job.account)

    def readable(self, uri: str) -> str | None:
        """None when the role may read the object at ``uri``; else why it may not."""
        return self._authorized(
            [iam.Authorization("s3:GetObject", _object_arn(uri)), self._key("GetObject", uri)]
        )

    def read(self, uri: str, what: str) -> bytes:
        """The object at ``uri``; a refused or failed read fails the job, naming ``what``."""
        refused = self.readable(uri)
        if refused is not None:
            raise _JobFailed(f"ClientError: Access denied reading the {what} {uri}: {refused}")
        bucket, key = _split_s3(uri)
        stored = self.s3.get_object(bucket, key)
        if stored is None:
            raise _JobFailed(f"ClientError: Could not read the {what} {uri}: no such object")
        return bytes(stored.value)

    def write(self, uri: str, body: Any) -> None:
        key_check = (
            iam.Authorization("kms:GenerateDataKey", self.output_key)
            if self.output_key
            else self._key("PutObject", uri)
        )
        refused = self._authorized([iam.Authorization("s3:PutObject", _object_arn(uri)), key_check])
        if refused is not None:
            raise _JobFailed(f"ClientError: Access denied writing the output {uri}: {refused}")
        bucket, key = _split_s3(uri)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.s3.put_object(bucket, key, data)

    def invoke(self, arn: str, event: Any, role: str) -> Any:
        """The response of the Lambda ``arn``; a refused or failed call fails the job."""
        from moto.awslambda.models import lambda_backends

        refused = self._authorized([iam.Authorization("lambda:InvokeFunction", arn)])
        if refused is not None:
            raise _JobFailed(
                f"ClientError: Exception invoking the Lambda function {arn}. LambdaErrorCode: "
                f"AccessDeniedException. Ensure the Lambda function exists, that the role "
                f"{self.role} has permissions to invoke it and try your request again. "
                f"({refused})"[:1024]
            )
        headers: dict[str, str] = {}
        try:
            payload = lambda_backends[self.job.account][self.job.region].invoke(
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
            raise _JobFailed(
                f"ClientError: The {role} Lambda function {arn} failed: {detail}"[:1024]
            )
        return json.loads(text) if text else None


# --------------------------------------------------------------------------------------------
# running a job
# --------------------------------------------------------------------------------------------

#: Crowd elements that are never the answer (containers, buttons, decoration).
_NOT_ANSWERS = frozenset(
    {
        "crowd-form",
        "crowd-button",
        "crowd-instructions",
        "crowd-alert",
        "crowd-badge",
        "crowd-card",
        "crowd-fab",
        "crowd-icon-button",
        "crowd-toast",
        "crowd-tooltip",
    }
)


class _AnswerElements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.startswith("crowd-") and tag not in _NOT_ANSWERS:
            name = dict(attrs).get("name")
            if name:
                self.names.append(name)


def answer_element_name(template: str) -> str | None:
    """The ``name`` of a worker template's answer element (its first named crowd element).

    Ground Truth submits the form as one JSON object keyed by the ``name`` of each crowd
    element, so a worker's answer lives under this key. None: the template names none.
    """
    parser = _AnswerElements()
    parser.feed(template)
    parser.close()
    return parser.names[0] if parser.names else None


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Stamps:
    """Ground Truth's file stamps (``YYYY-MM-DD_HH:MM:SS``): the time, a second apart at least.

    Each consolidation batch of a job gets its own request and response file, so two
    batches written within the same second must not share a stamp.
    """

    def __init__(self) -> None:
        self._last: datetime | None = None

    def next(self) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(seconds=1)
        self._last = now
        return now.strftime("%Y-%m-%d_%H:%M:%S")


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
    if status not in _ANNOUNCED:
        return
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


class _Stopped(Exception):
    """The job was asked to stop."""


def run_job(job: _Job, *, batch_size: int = DEFAULT_CONSOLIDATION_BATCH_SIZE) -> None:
    """Run one fake labeling job to Completed, Failed or Stopped."""
    try:
        _Run(job, batch_size).run()
    except _Stopped:
        _set_status(job, "Stopped")
    except _JobFailed as exc:
        _set_status(job, "Failed", str(exc)[:1024])
    except Exception as exc:
        _set_status(job, "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])


@dataclass
class _Item:
    """One data object sent to workers."""

    object_id: str
    line: Mapping[str, Any]
    answers: list[WorkerAnswer]


class _Run:
    """One run of a labeling job (module docstring, steps 1-4)."""

    def __init__(self, job: _Job, batch_size: int) -> None:
        self.job = job
        self.batch_size = batch_size
        self.request = job.request
        self.task = job.request["HumanTaskConfig"]
        self.attribute = str(job.request["LabelAttributeName"])
        output = job.request["OutputConfig"]["S3OutputPath"].rstrip("/")
        self.folder = LabelingJobFolder(f"{output}/{job.name}")
        self.role = _AsRole(job)
        self.stamps = _Stamps()
        self.labels: list[str] | None = None
        self.answer_name = self.attribute
        self.results: dict[str, Any] = {}
        self.failed: dict[str, str] = {}
        self.sent: set[str] = set()

    def check_stop(self) -> None:
        if _stopping(self.job):
            raise _Stopped

    def run(self) -> None:
        self.check_stop()
        lines = self.initialize()
        _set_status(self.job, "InProgress")
        limit = (self.request.get("StoppingConditions") or {}).get("MaxHumanLabeledObjectCount")
        wanted = list(enumerate(lines))
        if limit is not None:
            wanted = wanted[: int(limit)]
        concurrent = int(self.task.get("MaxConcurrentTaskCount") or _DEFAULT_CONCURRENT_TASKS)
        for start in range(0, len(wanted), concurrent):
            items = self.label(wanted[start : start + concurrent])
            for first in range(0, len(items), self.batch_size):
                self.check_stop()
                self.consolidate(items[first : first + self.batch_size])
        self.check_stop()
        self.finish(lines)

    # ------------------------------------------------------------------------- initialize

    def initialize(self) -> list[dict[str, Any]]:
        """Check the declarations, read the manifest, categories and template as the role."""
        public = bool(_PUBLIC_WORKTEAM.search(str(self.task["WorkteamArn"])))
        classifiers = (self.request["InputConfig"].get("DataAttributes") or {}).get(
            "ContentClassifiers"
        ) or []
        if public and _PII not in classifiers:
            raise _JobFailed(
                "ClientError: Tasks for the public workforce (Amazon Mechanical Turk) need the "
                f"input declared {_PII} (InputConfig.DataAttributes.ContentClassifiers)"
            )
        manifest_uri = self.request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        raw = self.role.read(manifest_uri, "input manifest").decode("utf-8")
        try:
            lines = [json.loads(text) for text in raw.splitlines() if text.strip()]
        except ValueError as exc:
            raise _JobFailed(
                f"ClientError: The input manifest {manifest_uri} is not JSON Lines: {exc}"
            ) from None
        if self.request.get("LabelCategoryConfigS3Uri"):
            uri = self.request["LabelCategoryConfigS3Uri"]
            categories = json.loads(self.role.read(uri, "label category configuration"))
            self.labels = [entry["label"] for entry in categories.get("labels", [])]
        template_uri = (self.task.get("UiConfig") or {}).get("UiTemplateS3Uri")
        if template_uri:
            template = self.role.read(template_uri, "worker task template").decode("utf-8")
            name = answer_element_name(template)
            if name is None:
                raise _JobFailed(
                    f"ClientError: The worker task template {template_uri} has no crowd "
                    "element with a name: workers' answers would be empty"
                )
            self.answer_name = name
        return lines

    # ------------------------------------------------------------------------------ label

    def label(self, lines: Sequence[tuple[int, Mapping[str, Any]]]) -> list[_Item]:
        """Send one batch of objects to workers; their answers, and failures, recorded."""
        workforce = _workforce_for(self.job.name)
        if workforce is None:
            raise _JobFailed(
                f"ClientError: no simulated workforce is registered for {self.job.name}"
            )
        stamp = self.stamps.next()
        items = []
        for index, line in lines:
            self.check_stop()
            object_id = str(index)
            task_input: Mapping[str, Any] = {
                "taskObject": line.get("source-ref", line.get("source"))
            }
            pre = self.task.get("PreHumanTaskLambdaArn")
            if pre:
                event = {
                    "version": "2018-10-16",
                    "labelingJobArn": self.job.arn,
                    "dataObject": line,
                }
                response = self.role.invoke(pre, event, "pre-human task")
                if not isinstance(response, Mapping):
                    raise _JobFailed(
                        f"ClientError: The pre-human task Lambda function {pre} returned "
                        f"{type(response).__name__}, not an object"
                    )
                if response.get("isHumanAnnotationRequired") is False:
                    continue
                if not isinstance(response.get("taskInput"), Mapping):
                    raise _JobFailed(
                        f"ClientError: The pre-human task Lambda function {pre} returned no "
                        f"taskInput object for data object {object_id}"
                    )
                task_input = response["taskInput"]
            self.sent.add(object_id)
            if "source-ref" in line:
                refused = self.role.readable(str(line["source-ref"]))
                if refused is not None:
                    self.failed[object_id] = (
                        "ClientError: The labeling job's role cannot read the data object "
                        f"{line['source-ref']}, so no worker could see it: {refused}"
                    )
                    continue
            work = WorkerTask(
                job_name=self.job.name,
                dataset_object_id=object_id,
                line=line,
                task_input=task_input,
                task_type=_task_type(self.job, task_input),
                labels=tuple(self.labels or task_input.get("labels") or ()),
                workers_per_object=int(self.task["NumberOfHumanWorkersPerDataObject"]),
                element_name=self.answer_name,
                region=self.job.region,
            )
            answers = workforce.answers(work)
            self.role.write(
                self.folder.worker_response(object_id, stamp),
                _response_file(answers, self.job.region),
            )
            items.append(_Item(object_id, line, answers))
        return items

    # ------------------------------------------------------------------------ consolidate

    def consolidate(self, items: Sequence[_Item]) -> None:
        """One consolidation batch: request file, the Lambda, response file."""
        payload = [
            {
                "datasetObjectId": item.object_id,
                "dataObject": (
                    {"s3Uri": item.line["source-ref"]}
                    if "source-ref" in item.line
                    else {"content": item.line.get("source")}
                ),
                "annotations": [
                    {
                        "workerId": answer.worker_id,
                        "annotationData": {"content": json.dumps(answer.answer_content)},
                    }
                    for answer in item.answers
                ],
            }
            for item in items
        ]
        if not payload:
            return
        stamp = self.stamps.next()
        request_uri = self.folder.consolidation_request(stamp)
        self.role.write(request_uri, payload)
        arn = (self.task.get("AnnotationConsolidationConfig") or {}).get(
            "AnnotationConsolidationLambdaArn"
        )
        if not arn:
            return
        event = {
            "version": "2018-10-16",
            "labelingJobArn": self.job.arn,
            "labelCategories": self.labels,
            "labelAttributeName": self.attribute,
            "roleArn": self.request["RoleArn"],
            "payload": {"s3Uri": request_uri},
            "outputConfig": f"{self.folder.folder}/annotations",
        }
        response = self.role.invoke(arn, event, "annotation consolidation")
        self.role.write(self.folder.consolidation_response(stamp), response)
        for entry in response or []:
            self.results[str(entry["datasetObjectId"])] = entry["consolidatedAnnotation"]["content"]

    # ----------------------------------------------------------------------------- finish

    def finish(self, lines: Sequence[Mapping[str, Any]]) -> None:
        """The output manifest (every input line, in order), counters and status."""
        created = datetime.now(UTC).replace(tzinfo=None).isoformat()
        out_lines = []
        labeled = failed = 0
        attribute = self.attribute
        for index, line in enumerate(lines):
            object_id = str(index)
            row = dict(line)
            result = self.results.get(object_id)
            if result is not None and attribute in result:
                row[attribute] = result[attribute]
                row[f"{attribute}-metadata"] = {
                    "type": "groundtruth/custom",
                    "job-name": f"labeling-job/{self.job.name}",
                    "human-annotated": "yes",
                    "creation-date": created,
                }
                labeled += 1
            elif object_id in self.sent:
                row[f"{attribute}-metadata"] = {
                    "retry-count": 1,
                    "failure-reason": self.failed.get(
                        object_id, "ClientError: The consolidation Lambda returned no annotation"
                    ),
                    "human-annotated": "true",
                }
                failed += 1
            out_lines.append(json.dumps(row))
        manifest_out = self.folder.output_manifest
        self.role.write(manifest_out, ("\n".join(out_lines) + "\n").encode())
        with _state(self.job.account, self.job.region).lock:
            self.job.counters.update(
                TotalLabeled=labeled,
                HumanLabeled=labeled,
                MachineLabeled=0,
                FailedNonRetryableError=failed,
                Unlabeled=len(lines) - labeled - failed,
            )
            self.job.output_manifest = manifest_out
        _set_status(self.job, "Completed")
