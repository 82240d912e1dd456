"""Typed configuration of a LabelFlow deployment.

`cdk.json` carries only the stage selector (`-c stage=dev`) and CDK feature flags; every
per-stage value lives here as code. `StageConfig` is the whole configuration of one stage,
`ProjectConfig` describes one labeling project (what is labeled, with which labels, and how
answers are consolidated), and `load_config(app)` picks the stage named in the CDK context.

Invalid values fail synthesis with a `ConfigError` that names the project and the field.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Annotated, Any, Literal, Self, get_args

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gt_contracts.project_schema import (
    DEFAULT_MAX_CONCURRENT_TASKS,
    DEFAULT_MIN_WORKER_ANSWERS,
    DEFAULT_TASK_AVAILABILITY_SECONDS,
    DEFAULT_TASK_TIME_LIMIT_SECONDS,
    IMAGE_TASK_TYPES,
    MAX_CONCURRENT_TASKS,
    MAX_LABEL_CHARS,
    MAX_TASK_AVAILABILITY_SECONDS,
    MAX_TASK_TIME_LIMIT_SECONDS,
    MAX_WORKERS_PER_ITEM,
    METHOD_TASK_TYPES,
    METHODS,
    MIN_TASK_AVAILABILITY_SECONDS,
    MIN_TASK_TIME_LIMIT_SECONDS,
    PUBLIC_TASK_PRICES_USD,
    TEXT_TASK_TYPES,
    UNLABELED_TASK_TYPES,
    Backend,
    Method,
    TaskType,
    WorkerRemoval,
    WorkforceKind,
    label_attribute_problem,
    max_labels,
    min_labels,
)

__all__ = [
    "CLASSIFICATION_METHODS",
    "POWERTOOLS_LAYER_VERSION",
    "POWERTOOLS_VERSION",
    "STAGES",
    "Architecture",
    "Backend",
    "ConfigError",
    "DataSource",
    "Example",
    "LabelStudioConfig",
    "Method",
    "ProjectConfig",
    "StageConfig",
    "TaskType",
    "WorkerAlert",
    "Workforce",
    "load_config",
    "projects_setting",
]


class ConfigError(ValueError):
    """A LabelFlow configuration value is missing or invalid."""


Architecture = Literal["arm64", "x86_64"]
Runtime = Literal["python3.12"]

#: The consolidation methods a classification project (single- or multi-label) may choose;
#: every other task type has one consolidation rule, selected with "auto".
CLASSIFICATION_METHODS: tuple[str, ...] = METHODS

_NAME_PATTERN = r"^[a-z0-9](-?[a-z0-9])*$"
_MAX_PROJECT_NAME = 32

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_CHARS)]


class Example(BaseModel):
    """A good or bad example shown to workers in the project's instructions.

    Exactly one of `image_url` (an https:// URL workers' browsers can load) or `text` is the
    example item; `label` is its answer (one of the project's labels, or the expected text or
    number for free text and numeric projects) and `why` says what makes it good or bad.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["good", "bad"]
    label: str = Field(min_length=1)
    why: str = Field(min_length=1)
    image_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    text: str | None = Field(default=None, min_length=1)


_WORKTEAM_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:\d{12}:workteam/.+$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Workforce(BaseModel):
    """Who labels a project's items, and at what price.

    - `private`: the organisation's own work team; `workteam_arn` defaults to the stage's.
    - `vendor`: a vendor team subscribed through AWS Marketplace (`workteam_arn` required).
      Its price is set in the Marketplace listing; `price_usd` only feeds cost reports.
    - `public`: Amazon Mechanical Turk. `price_usd` per task (one item, one worker) is
      required and must be one of Ground Truth's allowed prices for custom labeling jobs
      (`PUBLIC_TASK_PRICES_USD`, the same for every task type), and the project must declare
      its data free of personal information (`free_of_pii`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: WorkforceKind = "private"
    workteam_arn: str | None = Field(default=None, pattern=_WORKTEAM_ARN)
    price_usd: Decimal | None = Field(default=None, gt=0)
    free_of_pii: bool = False
    free_of_adult_content: bool = False

    @model_validator(mode="after")
    def _check_kind(self) -> Self:
        if self.type == "public":
            if self.workteam_arn is not None:
                raise ValueError("a public workforce uses Mechanical Turk; remove workteam_arn")
            if self.price_usd is None:
                raise ValueError("a public workforce needs price_usd (USD per task)")
            if not self.free_of_pii:
                raise ValueError(
                    "a public workforce shows items to anyone: set free_of_pii=True only when "
                    "the data holds no personal information"
                )
        elif self.type == "vendor" and self.workteam_arn is None:
            raise ValueError("a vendor workforce needs the vendor's workteam_arn")
        elif self.type == "private" and self.price_usd is not None:
            raise ValueError("a private workforce has no per-task price; remove price_usd")
        return self


class WorkerAlert(BaseModel):
    """When LabelFlow says, mid-job, that a worker answers worse than the project accepts.

    A worker is flagged once per labeling job, when their estimated accuracy (the project's
    skill carried from earlier jobs plus this job's answers so far) rests on at least
    `min_answers` answers and even its optimistic bound (the one-sided 95% Wilson bound over
    that many answers) is below `min_accuracy`: a few unlucky answers flag nobody. The flag is
    an event on the default bus (`LabelFlow Worker Flagged`), a message on the stage's topic
    for the project's subscribers and a line in `labelflow status`.

    - `min_accuracy`: the accuracy a worker should reach, between 0 and 1 (exclusive).
    - `min_answers`: answers before a worker can be flagged (at least 1; default 20).
    - `removal` (Label Studio projects only): `"none"` (the default), `"project"` (take the
      worker off the job's Label Studio project: project membership is a Label Studio
      Enterprise feature, so on Community Edition the worker stays and the alert says so) or
      `"organization"` (take the worker out of the Label Studio organization, and so out of
      every project there; works on every edition). Ground Truth cannot take a worker off a
      running labeling job.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_accuracy: float = Field(gt=0, lt=1)
    min_answers: int = Field(default=DEFAULT_MIN_WORKER_ANSWERS, ge=1)
    removal: WorkerRemoval = "none"


class ProjectConfig(BaseModel):
    """One labeling project.

    The name prefixes the project's labeling-job names and its S3 prefixes, so it is short,
    lowercase and hyphenated. It is also its jobs' label attribute (`LabelAttributeName`), so
    it is not `source` and ends neither in `-ref` nor in `-metadata`. Constructing an invalid
    project raises `ConfigError` naming the project and the offending field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN, max_length=_MAX_PROJECT_NAME)
    task_type: TaskType
    labels: tuple[LabelName, ...]
    method: Method = "auto"
    method_params: dict[str, JsonValue] = Field(default_factory=dict)
    short_instruction: str = Field(min_length=1)
    full_instruction: str = Field(min_length=1)
    workers_per_item: int = Field(ge=1, le=MAX_WORKERS_PER_ITEM)
    # The `name` of the crowd element whose answer is consolidated; needed when the template
    # has several answers of the task type's shape (e.g. a transcription and a comment field).
    answer_name: str | None = Field(default=None, min_length=1)
    workforce: Workforce = Field(default_factory=Workforce)
    # Time one worker has for one task (TaskTimeLimitInSeconds: 30 s to 8 h).
    task_time_limit_seconds: int = Field(
        default=DEFAULT_TASK_TIME_LIMIT_SECONDS,
        ge=MIN_TASK_TIME_LIMIT_SECONDS,
        le=MAX_TASK_TIME_LIMIT_SECONDS,
    )
    # How long tasks stay offered to workers; defaults by workforce
    # (DEFAULT_TASK_AVAILABILITY_SECONDS).
    task_availability_seconds: int | None = Field(default=None, ge=MIN_TASK_AVAILABILITY_SECONDS)
    # Tasks offered to workers at once (MaxConcurrentTaskCount); Ground Truth's default is 1000.
    max_concurrent_tasks: int | None = Field(default=None, ge=1, le=MAX_CONCURRENT_TASKS)
    # More than 1000 concurrent tasks needs the account's limit raised by AWS Support first;
    # set this to True once it has been, to allow max_concurrent_tasks up to 5000.
    concurrent_task_limit_raised: bool = False
    # Who hears about this project's jobs (finished, failed, rejected manifests) by email.
    notify_emails: tuple[Annotated[str, StringConstraints(pattern=_EMAIL)], ...] = ()
    # Good and bad examples for the worker instructions (baked into the worker templates).
    examples: tuple[Example, ...] = ()
    # Who collects the answers: SageMaker Ground Truth, or the stage's Label Studio.
    backend: Backend = "ground-truth"
    # Flag workers whose accuracy is too low, mid-job (off by default; see WorkerAlert).
    worker_alert: WorkerAlert | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(data.get("name"), exc)) from None

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        problem = label_attribute_problem(name)
        if problem is not None:
            raise ValueError(
                f"{name!r} cannot be its jobs' label attribute (LabelAttributeName): {problem}"
            )
        return name

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"labels must be unique; repeated: {duplicates}")
        task_type = info.data.get("task_type")
        if task_type is None:  # task_type itself failed; its error is reported
            return labels
        minimum, maximum = min_labels(task_type), max_labels(task_type)
        if len(labels) < minimum:
            raise ValueError(f"{task_type} needs at least {minimum} labels, got {len(labels)}")
        if maximum is not None and len(labels) > maximum:
            raise ValueError(f"{task_type} allows at most {maximum} labels, got {len(labels)}")
        return labels

    @field_validator("method")
    @classmethod
    def _check_method(cls, method: str, info: ValidationInfo) -> str:
        task_type = info.data.get("task_type")
        single_rule = task_type is not None and task_type not in METHOD_TASK_TYPES
        if single_rule and method != "auto":
            raise ValueError(
                f"{task_type} has a single consolidation rule; use method 'auto', not {method!r}"
            )
        return method

    @model_validator(mode="after")
    def _check_workforce(self) -> Self:
        kind = self.workforce.type
        price = self.workforce.price_usd
        if kind == "public" and price is not None and price not in PUBLIC_TASK_PRICES_USD:
            listed = ", ".join(str(p) for p in PUBLIC_TASK_PRICES_USD)
            raise ValueError(
                f"workforce.price_usd {price} is not a price Ground Truth allows for a custom "
                f"labeling job on the public workforce; choose one of: {listed}"
            )
        limit = MAX_TASK_AVAILABILITY_SECONDS[kind]
        if self.task_availability_seconds is not None and self.task_availability_seconds > limit:
            raise ValueError(
                f"task_availability_seconds {self.task_availability_seconds} is above the "
                f"{limit} s a {kind} workforce allows"
            )
        if self.task_availability < self.task_time_limit_seconds:
            raise ValueError(
                f"task_availability_seconds {self.task_availability} is shorter than "
                f"task_time_limit_seconds {self.task_time_limit_seconds}"
            )
        return self

    @model_validator(mode="after")
    def _check_concurrency(self) -> Self:
        tasks, raised = self.max_concurrent_tasks, self.concurrent_task_limit_raised
        if tasks is not None and tasks > DEFAULT_MAX_CONCURRENT_TASKS and not raised:
            raise ValueError(
                f"field 'max_concurrent_tasks': {tasks} is above Ground Truth's default limit "
                f"of {DEFAULT_MAX_CONCURRENT_TASKS} tasks at once; ask AWS Support to raise the "
                "account's limit, then set concurrent_task_limit_raised=True"
            )
        if raised and (tasks is None or tasks <= DEFAULT_MAX_CONCURRENT_TASKS):
            raise ValueError(
                "field 'concurrent_task_limit_raised' applies only to max_concurrent_tasks "
                f"above {DEFAULT_MAX_CONCURRENT_TASKS}; remove it"
            )
        return self

    @model_validator(mode="after")
    def _check_worker_alert(self) -> Self:
        alert = self.worker_alert
        if alert is not None and alert.removal != "none" and self.backend != "labelstudio":
            raise ValueError(
                f"field 'worker_alert.removal': {alert.removal!r} applies to Label Studio "
                "projects only (Ground Truth cannot take a worker off a running labeling "
                "job); use 'none' or backend 'labelstudio'"
            )
        return self

    @property
    def task_availability(self) -> int:
        """Seconds tasks stay offered: the configured value or the workforce's default."""
        if self.task_availability_seconds is not None:
            return self.task_availability_seconds
        return DEFAULT_TASK_AVAILABILITY_SECONDS[self.workforce.type]

    @field_validator("examples")
    @classmethod
    def _check_examples(
        cls, examples: tuple[Example, ...], info: ValidationInfo
    ) -> tuple[Example, ...]:
        task_type, labels = info.data.get("task_type"), info.data.get("labels")
        for i, example in enumerate(examples):
            if (example.image_url is None) == (example.text is None):
                raise ValueError(f"example {i} needs exactly one of image_url or text")
            if task_type in IMAGE_TASK_TYPES and example.image_url is None:
                raise ValueError(f"example {i}: {task_type} examples are images (image_url)")
            if task_type in TEXT_TASK_TYPES and example.text is None:
                raise ValueError(f"example {i}: {task_type} examples are texts (text)")
            if labels and task_type not in UNLABELED_TASK_TYPES and example.label not in labels:
                raise ValueError(f"example {i}: label {example.label!r} is not one of {labels}")
        return examples

    def lambda_settings(self, workteam_arn: str | None = None) -> dict[str, Any]:
        """What the Lambdas read about this project (docs/contracts.md).

        Args:
            workteam_arn: the stage's work team, which a private workforce without its own
                ARN uses.
        """
        workforce = self.workforce
        team = workforce.workteam_arn or (workteam_arn if workforce.type == "private" else None)
        return {
            "task_type": self.task_type,
            "labels": list(self.labels),
            "method": self.method,
            "method_params": dict(self.method_params),
            "short_instruction": self.short_instruction,
            "full_instruction": self.full_instruction,
            "workers_per_item": self.workers_per_item,
            **({"answer_name": self.answer_name} if self.answer_name is not None else {}),
            "workforce": {
                "type": workforce.type,
                "workteam_arn": team,
                "price_usd": None if workforce.price_usd is None else str(workforce.price_usd),
                "free_of_pii": workforce.free_of_pii,
                "free_of_adult_content": workforce.free_of_adult_content,
            },
            "task_time_limit_seconds": self.task_time_limit_seconds,
            "task_availability_seconds": self.task_availability,
            "max_concurrent_tasks": self.max_concurrent_tasks,
            "backend": self.backend,
            **(
                {"worker_alert": self.worker_alert.model_dump()}
                if self.worker_alert is not None
                else {}
            ),
        }

    def has_workteam(self, workteam_arn: str | None) -> bool:
        """Whether this project's jobs have workers, given the stage's work team.

        Label Studio projects are answered by the Label Studio server's own users.
        """
        if self.backend == "labelstudio" or self.workforce.type == "public":
            return True
        return bool(self.workforce.workteam_arn or workteam_arn)


def _describe(name: object, exc: ValidationError) -> str:
    project = repr(name) if isinstance(name, str) else "<unnamed>"
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        # Checks across fields name their fields in the message.
        problems.append(f"field {where!r}: {message}" if where else message)
    return f"invalid project {project}: " + "; ".join(problems)


def projects_setting(projects: tuple[ProjectConfig, ...], workteam_arn: str | None = None) -> str:
    """The `LABELFLOW_PROJECTS` value: compact JSON keyed by project name.

    Args:
        projects: the stage's projects.
        workteam_arn: the stage's work team, for private projects without one of their own.
    """
    settings = {project.name: project.lambda_settings(workteam_arn) for project in projects}
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


_SECRET_ARN = r"^arn:aws[a-z\-]*:secretsmanager:[a-z0-9\-]+:\d{12}:secret:[A-Za-z0-9/_+=.@\-]+$"
_CERTIFICATE_ARN = r"^arn:aws[a-z\-]*:acm:[a-z0-9\-]+:\d{12}:certificate/[0-9a-f\-]{36}$"
# https://, or http:// on this machine only (a local Label Studio for `make demo`).
_HTTPS_URL = r"^(https://[A-Za-z0-9.\-]+|http://(127\.0\.0\.1|localhost))(:\d{1,5})?(/\S*)?$"
_DOMAIN = r"^([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# [registry[:port]/]name[/name...]:tag@sha256:<digest>: a tag says which release runs, the
# digest makes sure it is exactly the image that was reviewed (tags can be moved).
_PINNED_IMAGE = re.compile(
    r"^([a-z0-9.\-]+(:\d+)?/)?[a-z0-9]+([._\-][a-z0-9]+)*(/[a-z0-9]+([._\-][a-z0-9]+)*)*"
    r":[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}@sha256:[0-9a-f]{64}$"
)
# Fargate task sizes: CPU units -> allowed memory in MiB.
FARGATE_SIZES: Mapping[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
_PROVISIONED_ONLY = (
    "image",
    "domain_name",
    "certificate_arn",
    "desired_count",
    "max_count",
    "cpu",
    "memory",
    "db_instance_class",
    "db_multi_az",
    "allowed_cidrs",
)


class LabelStudioConfig(BaseModel):
    """The Label Studio server of a stage's "labelstudio" projects.

    - `existing`: a server the team already runs. `url` is its https:// address and
      `token_secret_arn` the Secrets Manager secret holding an API token of its admin.
    - `provisioned`: the stack runs Label Studio on ECS Fargate with RDS PostgreSQL behind an
      HTTPS load balancer (docs/label-studio-deploy.md). `image` is pinned by tag and digest,
      `domain_name` is the address workers open (point its DNS at the load balancer) and
      `certificate_arn` an ACM certificate for it in the stage's region. Only `allowed_cidrs`
      may reach the load balancer. `cpu` (units) and `memory` (MiB) are one Fargate task's
      size; the service scales on CPU from `desired_count` to `max_count` tasks.

    Invalid values raise `ConfigError` naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["existing", "provisioned"]
    url: str | None = Field(default=None, pattern=_HTTPS_URL)
    token_secret_arn: str | None = Field(default=None, pattern=_SECRET_ARN)
    image: str | None = None
    domain_name: str | None = Field(default=None, pattern=_DOMAIN, max_length=253)
    certificate_arn: str | None = Field(default=None, pattern=_CERTIFICATE_ARN)
    desired_count: int = Field(default=1, ge=1, le=10)
    max_count: int = Field(default=2, ge=1, le=20)
    cpu: int = 1024
    memory: int = 2048
    db_instance_class: str = Field(default="t4g.small", pattern=r"^[a-z][a-z0-9\-]*\.[a-z0-9]+$")
    db_multi_az: bool = True
    allowed_cidrs: tuple[str, ...] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError("invalid label_studio config: " + _problems(exc)) from None

    @field_validator("image")
    @classmethod
    def _check_image(cls, image: str | None) -> str | None:
        if image is not None and not _PINNED_IMAGE.fullmatch(image):
            raise ValueError(
                f"{image!r} must be pinned by tag and digest, "
                "e.g. heartexlabs/label-studio:1.23.2@sha256:<64 hex digits>"
            )
        return image

    @field_validator("db_instance_class", mode="before")
    @classmethod
    def _strip_db_prefix(cls, value: object) -> object:
        return value.removeprefix("db.") if isinstance(value, str) else value

    @field_validator("allowed_cidrs")
    @classmethod
    def _check_cidrs(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        for i, cidr in enumerate(cidrs):
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"entry {i} {cidr!r} is not a CIDR block: {exc}") from None
            if network.version != 4:
                raise ValueError(f"entry {i} {cidr!r}: the load balancer takes IPv4 blocks")
        return cidrs

    @model_validator(mode="after")
    def _check_mode(self) -> Self:
        if self.mode == "existing":
            required: tuple[str, ...] = ("url", "token_secret_arn")
            foreign = sorted(set(_PROVISIONED_ONLY) & self.model_fields_set)
        else:
            required = ("image", "domain_name", "certificate_arn")
            foreign = sorted({"url", "token_secret_arn"} & self.model_fields_set)
            if not self.allowed_cidrs:
                raise ValueError(
                    "field 'allowed_cidrs': a provisioned Label Studio needs the CIDR blocks "
                    "its workers connect from (0.0.0.0/0 opens it to the internet)"
                )
        for name in required:
            if getattr(self, name) is None:
                raise ValueError(f"field {name!r}: required in {self.mode} mode")
        if foreign:
            raise ValueError(f"fields {foreign} do not apply in {self.mode} mode; remove them")
        if self.mode == "provisioned":
            if self.max_count < self.desired_count:
                raise ValueError(
                    f"field 'max_count': {self.max_count} is below desired_count "
                    f"{self.desired_count}"
                )
            if self.cpu not in FARGATE_SIZES:
                raise ValueError(f"field 'cpu': {self.cpu} is not one of {sorted(FARGATE_SIZES)}")
            memory = FARGATE_SIZES[self.cpu]
            if self.memory not in memory:
                raise ValueError(
                    f"field 'memory': {self.memory} MiB does not fit cpu {self.cpu}; Fargate "
                    f"allows {memory.start} to {memory.stop - 1} in steps of {memory.step}"
                )
        return self

    @property
    def service_url(self) -> str:
        """The https:// address LabelFlow calls: `url`, or the provisioned `domain_name`."""
        if self.url is not None:
            return self.url.rstrip("/")
        return f"https://{self.domain_name}"


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"field {where!r}: {message}" if where else message)
    return "; ".join(problems)


_BUCKET_NAME = r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]"
_BUCKET = re.compile(rf"^(?:arn:aws[a-z\-]*:s3:::)?(?P<name>{_BUCKET_NAME})$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:key/[A-Za-z0-9\-]+$")
_MAX_PREFIX = 1024


class DataSource(BaseModel):
    """A bucket, or part of one, where a stage's items live besides the intake bucket.

    Items (the `source-ref` of manifest lines) may point here; every role that reads items
    (the labeling-job role, the Validate function, the Label Studio start function) may then
    `s3:GetObject` them and `kms:Decrypt` with the listed keys, and nothing more.

    - `bucket`: the bucket's name (`data-lake`) or ARN (`arn:aws:s3:::data-lake`).
    - `prefixes`: the key prefixes items live under (`images/`); empty means the whole bucket.
      A grant covers `<prefix>*`, so end a prefix with `/` to confine it to a folder.
    - `kms_key_arns`: the key ARNs (not aliases) of KMS keys the objects are encrypted with
      (SSE-KMS); none for SSE-S3.

    A bucket in another account must also let the stage's roles read it (its bucket policy,
    and the key policies). Ground Truth's and A2I's worker pages load images from the bucket
    in the workers' browsers, so it needs a CORS rule (README, "Configure a project").

    Invalid values raise `ConfigError` naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    prefixes: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            bucket = data.get("bucket")
            named = repr(bucket) if isinstance(bucket, str) else "<unnamed>"
            raise ConfigError(f"invalid data source {named}: " + _problems(exc)) from None

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, bucket: str) -> str:
        match = _BUCKET.fullmatch(bucket)
        if match is None or ".." in bucket or re.fullmatch(r"[\d.]+", match["name"]):
            raise ValueError(
                f"{bucket!r} is neither a bucket name (3-63 lowercase letters, digits, dots "
                "and hyphens) nor a bucket ARN (arn:aws:s3:::<name>)"
            )
        return bucket

    @field_validator("prefixes")
    @classmethod
    def _check_prefixes(cls, prefixes: tuple[str, ...]) -> tuple[str, ...]:
        for i, prefix in enumerate(prefixes):
            if not prefix or len(prefix) > _MAX_PREFIX:
                raise ValueError(f"entry {i} must be 1 to {_MAX_PREFIX} characters")
            if prefix.startswith("/"):
                raise ValueError(f"entry {i} {prefix!r}: S3 keys do not start with '/'")
            if "*" in prefix or "?" in prefix:
                raise ValueError(
                    f"entry {i} {prefix!r}: a prefix is literal; '*' and '?' would widen the "
                    "grant as IAM wildcards"
                )
        repeated = sorted({prefix for prefix in prefixes if prefixes.count(prefix) > 1})
        if repeated:
            raise ValueError(f"repeated: {repeated}")
        return prefixes

    @field_validator("kms_key_arns")
    @classmethod
    def _check_keys(cls, arns: tuple[str, ...]) -> tuple[str, ...]:
        for i, arn in enumerate(arns):
            if ":alias/" in arn:
                raise ValueError(
                    f"entry {i} {arn!r} is an alias; IAM grants name a key by its key ARN "
                    "(arn:aws:kms:<region>:<account>:key/<id>)"
                )
            if not _KMS_KEY_ARN.fullmatch(arn):
                raise ValueError(f"entry {i} {arn!r} is not a KMS key ARN")
        return arns

    @property
    def bucket_name(self) -> str:
        """The bucket's name, whether `bucket` gives its name or its ARN."""
        return self.bucket.rsplit(":", 1)[-1]


# Powertools for AWS Lambda (Python) 3.37.0 is layer version 40 of
# AWSLambdaPowertoolsPythonV3-python312-{arm64,x86_64}. Each PyPI release publishes exactly one
# layer version (3.1.0 -> 2, 3.2.0 -> 3, 3.4.0 -> 5, 3.4.1 -> 6, 3.23.0 -> 27, as stated in
# the project's release notes); the 13 releases after 3.23.0 up to 3.37.0 give 40. Confirm with
# the public SSM parameter /aws/service/powertools/python/arm64/python3.12/3.37.0 when an
# account is available.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_VERSION = 40

_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_WORKTEAM_PATTERN = re.compile(_WORKTEAM_ARN)


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything that differs between deployments of LabelFlow.

    Attributes:
        project: Prefix of stack ids and resource descriptions.
        stage: Stage name, e.g. "dev"; part of the stack id.
        account: Target account; None synthesizes an environment-agnostic stack.
        region: Target region; None synthesizes an environment-agnostic stack.
        runtime: Lambda runtime of every function.
        architecture: Lambda architecture of every function and layer.
        powertools_layer_version: Version number of the public Powertools for AWS Lambda
            (Python) v3 layer; must contain the same Powertools release that the `lambda`
            dependency group pins.
        log_retention: Retention of every function's log group.
        removal_policy: What happens to buckets, the key and log groups when the stack goes.
        workteam_arn: Ground Truth work team of the stage's private projects that name none.
        max_objects_per_job: Items per labeling job; larger manifests are split into chunks
            that run as parallel labeling jobs (at most 100,000, Ground Truth's limit).
        projects: The labeling projects served by this stage.
        label_studio: The stage's Label Studio, needed when a project's backend is
            "labelstudio".
        data_sources: Buckets (or prefixes of them) outside the stack where the stage's
            items live, with the KMS keys they are encrypted with. Items in the intake bucket
            need no entry.
    """

    project: str = "labelflow"
    stage: str
    account: str | None = None
    region: str | None = None
    runtime: Runtime = "python3.12"
    architecture: Architecture = "arm64"
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    workteam_arn: str | None = None
    max_objects_per_job: int = 100_000
    projects: tuple[ProjectConfig, ...]
    label_studio: LabelStudioConfig | None = None
    data_sources: tuple[DataSource, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(_NAME_PATTERN, self.project):
            raise ConfigError(f"project {self.project!r} must match {_NAME_PATTERN}")
        if not _STAGE_PATTERN.fullmatch(self.stage):
            raise ConfigError(f"stage {self.stage!r} must match {_STAGE_PATTERN.pattern}")
        if self.account is not None and not _ACCOUNT_PATTERN.fullmatch(self.account):
            raise ConfigError(f"account {self.account!r} must be 12 digits")
        if self.region is not None and not _REGION_PATTERN.fullmatch(self.region):
            raise ConfigError(f"region {self.region!r} is not a region name")
        if self.runtime not in get_args(Runtime):
            raise ConfigError(f"runtime {self.runtime!r} must be one of {get_args(Runtime)}")
        if self.architecture not in get_args(Architecture):
            raise ConfigError(
                f"architecture {self.architecture!r} must be one of {get_args(Architecture)}"
            )
        if self.powertools_layer_version < 1:
            raise ConfigError("powertools_layer_version must be a positive layer version")
        if self.workteam_arn is not None and not _WORKTEAM_PATTERN.fullmatch(self.workteam_arn):
            raise ConfigError(f"workteam_arn {self.workteam_arn!r} is not a work team ARN")
        if not 1 <= self.max_objects_per_job <= 100_000:
            raise ConfigError("max_objects_per_job must be from 1 to 100000")
        if not self.projects:
            raise ConfigError(f"stage {self.stage!r} defines no projects")
        self._check_data_sources()
        staffed = [p.name for p in self.projects if p.has_workteam(self.workteam_arn)]
        if staffed and len(staffed) < len(self.projects):
            unstaffed = sorted({p.name for p in self.projects} - set(staffed))
            raise ConfigError(
                f"projects {unstaffed} have no work team: set their field "
                "'workforce.workteam_arn', or the stage's workteam_arn (-c workteam_arn=...)"
            )
        names = [project.name for project in self.projects]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"stage {self.stage!r} repeats project names {repeated}")
        studio_projects = [p.name for p in self.projects if p.backend == "labelstudio"]
        if studio_projects and self.label_studio is None:
            raise ConfigError(
                f"projects {studio_projects} use the labelstudio backend, but stage "
                f"{self.stage!r} sets no label_studio"
            )
        studio = self.label_studio
        if studio is not None and studio.mode == "provisioned" and self.region is None:
            raise ConfigError(
                f"stage {self.stage!r} provisions Label Studio: set its field 'region' (the "
                "load balancer's access logs are delivered by that region's log account)"
            )
        if studio is not None and studio.certificate_arn is not None and self.region is not None:
            certificate_region = studio.certificate_arn.split(":")[3]
            if certificate_region != self.region:
                raise ConfigError(
                    f"label_studio: field 'certificate_arn' is in {certificate_region}; the "
                    f"load balancer needs a certificate in the stage's region {self.region}"
                )

    def _check_data_sources(self) -> None:
        """One `DataSource` per bucket."""
        for i, source in enumerate(self.data_sources):
            if not isinstance(source, DataSource):
                raise ConfigError(
                    f"stage {self.stage!r}: field 'data_sources[{i}]' must be a DataSource, "
                    f"got {type(source).__name__}"
                )
        names = [source.bucket_name for source in self.data_sources]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(
                f"stage {self.stage!r}: field 'data_sources' lists buckets {repeated} more "
                "than once; give each bucket one DataSource with all its prefixes and keys"
            )

    @property
    def runs_jobs(self) -> bool:
        """Whether every project has a work team, so the stage runs the job workflow.

        Without one, the stage deploys the Ground Truth functions only, for labeling jobs
        created by other means.
        """
        return all(p.has_workteam(self.workteam_arn) for p in self.projects)

    @property
    def python_tag(self) -> str:
        """The runtime as Powertools names it in its layer names, e.g. "python312"."""
        return self.runtime.replace(".", "")

    def powertools_layer_arn(self, region: str) -> str:
        """ARN of the public Powertools layer for this runtime and architecture in `region`."""
        return (
            f"arn:aws:lambda:{region}:017000801446:layer:"
            f"AWSLambdaPowertoolsPythonV3-{self.python_tag}-{self.architecture}:"
            f"{self.powertools_layer_version}"
        )


_DEV_PROJECTS = (
    ProjectConfig(
        name="pets",
        task_type="image-classification",
        labels=("cat", "dog", "other"),
        method="auto",
        short_instruction="Choose the animal shown in the photo.",
        full_instruction=(
            "Pick cat or dog when the main animal is clearly one of them; "
            "pick other for any other animal or when no animal is visible."
        ),
        workers_per_item=3,
    ),
    ProjectConfig(
        name="street-objects",
        task_type="bounding-box",
        labels=("car", "pedestrian", "bicycle"),
        short_instruction="Draw a tight box around every car, pedestrian and bicycle.",
        full_instruction=(
            "Box each object separately, including partly hidden ones. "
            "Skip objects smaller than about 10 pixels."
        ),
        workers_per_item=3,
    ),
)

STAGES: Mapping[str, StageConfig] = {
    "dev": StageConfig(
        stage="dev",
        architecture="arm64",
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
        projects=_DEV_PROJECTS,
    ),
}


def load_config(app: Construct, stages: Mapping[str, StageConfig] = STAGES) -> StageConfig:
    """The configuration of the stage named by the `stage` context value.

    The context may also set `workteam_arn` (`-c workteam_arn=arn:...`) to override the
    stage's work team.

    Raises:
        ConfigError: the stage is missing or unknown, or an override is invalid.
    """
    stage = app.node.try_get_context("stage")
    known = ", ".join(sorted(stages)) or "none"
    if not stage:
        raise ConfigError(f"no stage selected: pass -c stage=<name> (known stages: {known})")
    if not isinstance(stage, str) or stage not in stages:
        raise ConfigError(f"unknown stage {stage!r} (known stages: {known})")
    config = stages[stage]
    workteam_arn = app.node.try_get_context("workteam_arn")
    if workteam_arn:
        config = replace(config, workteam_arn=str(workteam_arn))
    return config
