"""RuntimeFunction: the one way LabelFlow creates a Lambda function.

It creates the function, its own execution role and its own KMS-encrypted log group, with the
secure defaults every LabelFlow function shares: the shared `lambdas/` code asset, the runtime,
architecture and layers of the stage, JSON logging, active tracing and
`POWERTOOLS_SERVICE_NAME`. Callers choose only the handler, the environment, the timeout and
the memory size.

It grants nothing beyond writing its own logs and traces: access to buckets, keys or other
functions is granted by the stack that wires constructs together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

__all__ = ["CODE_EXCLUDES", "LAMBDAS_ROOT", "FunctionPlatform", "RuntimeFunction"]

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_ROOT = REPO_ROOT / "lambdas"
CODE_EXCLUDES = ("**/__pycache__", "**/*.pyc", "**/tests")

# Lambda caps the total size of a function's environment (keys plus values) at 4 KB.
MAX_ENVIRONMENT_BYTES = 4096
# Deploy-time values (bucket names, ARNs) are counted at a generous upper bound.
_TOKEN_BYTES = 256
_HANDLER_PATTERN = re.compile(r"^(?P<package>[a-z][a-z0-9_]*)\.handler\.lambda_handler$")
_RESERVED_PREFIXES = ("AWS_", "POWERTOOLS_", "_")


@dataclass(frozen=True, kw_only=True)
class FunctionPlatform:
    """What every LabelFlow function of a stage shares.

    Attributes:
        runtime: The Lambda runtime.
        architecture: The instruction set of the functions and their layers.
        layers: Layers attached to every function.
        log_retention: Retention of each function's log group.
        log_key: KMS key that encrypts each function's log group.
        removal_policy: Applied to each function's log group.
    """

    runtime: lambda_.Runtime
    architecture: lambda_.Architecture
    layers: Sequence[lambda_.ILayerVersion]
    log_retention: logs.RetentionDays
    log_key: kms.IKey
    removal_policy: RemovalPolicy


class RuntimeFunction(Construct):
    """A Lambda function from the shared `lambdas/` asset with LabelFlow's defaults.

    Attributes:
        function: The Lambda function.
        role: Its execution role (log and trace writes only, until the stack grants more).
        log_group: Its log group.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        handler: str,
        environment: Mapping[str, str],
        timeout: Duration,
        memory_size: int,
    ) -> None:
        match = _HANDLER_PATTERN.fullmatch(handler)
        if match is None:
            raise ValueError(
                f"handler {handler!r} must be '<package>.handler.lambda_handler' "
                "with a lowercase package under lambdas/"
            )
        if not 128 <= memory_size <= 10240:
            raise ValueError(f"memory_size {memory_size} MB is outside Lambda's 128-10240 MB")
        reserved = sorted(key for key in environment if key.startswith(_RESERVED_PREFIXES))
        if reserved:
            raise ValueError(f"environment keys {reserved} are reserved for the platform")
        package = match.group("package")
        variables = {**environment, "POWERTOOLS_SERVICE_NAME": package}
        size = sum(
            len(key.encode())
            + (_TOKEN_BYTES if Token.is_unresolved(value) else len(value.encode()))
            for key, value in variables.items()
        )
        if size > MAX_ENVIRONMENT_BYTES:
            raise ValueError(
                f"environment of {handler} is {size} bytes; Lambda allows "
                f"{MAX_ENVIRONMENT_BYTES} (shorten the project instructions?)"
            )
        super().__init__(scope, id_)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=platform.log_retention,
            encryption_key=platform.log_key,
            removal_policy=platform.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {package} function",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=platform.runtime,
            architecture=platform.architecture,
            code=lambda_.Code.from_asset(str(LAMBDAS_ROOT), exclude=list(CODE_EXCLUDES)),
            handler=handler,
            environment=variables,
            timeout=timeout,
            memory_size=memory_size,
            layers=list(platform.layers),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
        )
        self.log_group.grant_write(self.role)

        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "The runtime is chosen once per stage in StageConfig so that it matches the "
                    "public Powertools layer and the numpy/pillow wheels of the numeric layer; "
                    "it is upgraded deliberately, together with those pins."
                ),
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
                    "support no resource-level permissions, so AWS requires Resource '*'."
                ),
            )
        )
