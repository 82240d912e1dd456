"""Deploy a synthesized CDK stack into the local emulator, without CloudFormation.

:class:`TemplateResolver` evaluates a template's intrinsic functions (``Ref``,
``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` with its
conditions, ``Fn::Base64``, ``Fn::GetAZs``) and pseudo parameters, giving every resource a
consistent fake physical name: its explicit name property (``BucketName``,
``FunctionName``, ...) or ``<stack>-<logical id>`` (lower-cased for buckets), cut to the
service's length limit. ARNs use the emulator's account and region.

:func:`deploy` then creates, through boto3 clients pointed at the emulator:

=============================== ==========================================================
resource                        created as
=============================== ==========================================================
``AWS::IAM::Role``              ``create_role`` (trust policy), its inline ``Policies``
                                (``put_role_policy``) and ``ManagedPolicyArns``
                                (``attach_role_policy``; an AWS managed policy moto does not
                                know is listed in :attr:`Deployment.skipped` as
                                ``<role>/<policy ARN>``: the role has none of its
                                permissions)
``AWS::IAM::Policy``            ``put_role_policy`` on each of its ``Roles``: the emulator
                                evaluates the roles' policies (:mod:`labelflow.local.iam`)
``AWS::IAM::ManagedPolicy``     ``create_policy``, attached to each of its ``Roles``
``AWS::KMS::Key``               nothing: the key id is a fake, stable id; buckets keep the
                                key ARN in their encryption settings, moto never calls KMS
``AWS::S3::Bucket``             ``create_bucket`` plus versioning and encryption settings
``Custom::S3BucketNotifications`` ``put_bucket_notification_configuration`` (the CDK
                                handler function behind it is not deployed)
``Custom::CDKBucketDeployment`` the source assets' files (from ``cdk.out``, deploy-time
                                markers replaced) put under the destination prefix, and
                                with ``Prune`` the prefix's other objects deleted (the CDK
                                handler function behind it is not deployed)
``AWS::SQS::Queue``             ``create_queue`` (FIFO, visibility timeout, retention)
``AWS::SNS::Topic``,            ``create_topic``, ``subscribe``
``AWS::SNS::Subscription``
``AWS::DynamoDB::Table``        ``create_table`` (keys, indexes, billing, stream)
``AWS::DynamoDB::GlobalTable``
``AWS::Lambda::Function``       ``create_function`` with the zipped ``cdk.out`` asset folder
                                (``aws:asset:path`` metadata) or inline ``ZipFile`` code as
                                ``index.py``; environment resolved. Layers are not
                                attached: in-process handlers import the layer's packages
                                (Powertools, numpy) from this Python environment
``AWS::StepFunctions::          ``create_state_machine`` with the resolved definition
StateMachine``                  (``DefinitionString``/``Definition`` and
                                ``DefinitionSubstitutions``)
``AWS::Events::Rule``           ``put_rule`` and ``put_targets``
``AWS::SecretsManager::Secret`` ``create_secret`` (before the functions that name it) with its
                                ``SecretString``, or a value made as
                                ``GenerateSecretString`` asks (length, punctuation, a
                                template with ``GenerateStringKey``); ``Ref`` is its ARN
                                (before it exists: the ARN with ``-??????`` for the six
                                characters the service appends)
``AWS::Lambda::Url``            nothing to create: ``Fn::GetAtt <url>.FunctionUrl`` is
                                ``<function_url_base><function name>/``, served by
                                :class:`labelflow.local.server.LocalAws`
=============================== ==========================================================

Everything else (bucket, key, topic and queue policies, log groups, layer versions, Lambda
permissions, CDK metadata) is skipped and listed in :attr:`Deployment.skipped` with the
reason: the emulator evaluates no resource-based policy.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DeployError",
    "Deployment",
    "TemplateResolver",
    "deploy",
    "deploy_template",
    "load_template",
    "state_machine_definitions",
    "zip_folder",
]

_NO_VALUE = object()
_LIMITS = {
    "AWS::S3::Bucket": 63,
    "AWS::Lambda::Function": 64,
    "AWS::IAM::Role": 64,
    "AWS::IAM::ManagedPolicy": 128,
    "AWS::IAM::Policy": 128,
    "AWS::StepFunctions::StateMachine": 80,
    "AWS::Events::Rule": 64,
    "AWS::SQS::Queue": 80,
    "AWS::SNS::Topic": 256,
    "AWS::DynamoDB::Table": 255,
    "AWS::DynamoDB::GlobalTable": 255,
}
_NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::Rule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": "PolicyName",
}


class DeployError(ValueError):
    """A template that cannot be resolved or deployed; the message names the resource."""


def load_template(cdk_out: Path, stack: str) -> dict[str, Any]:
    """``cdk.out/<stack>.template.json`` as a dict."""
    path = Path(cdk_out) / f"{stack}.template.json"
    if not path.is_file():
        raise DeployError(f"no template {path}; synthesize the app first")
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


class TemplateResolver:
    """Evaluates a template's intrinsic functions with fake physical names."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str,
        region: str = "us-east-1",
        account: str = "123456789012",
        partition: str = "aws",
        parameters: Mapping[str, Any] | None = None,
        function_url_base: str | None = None,
    ) -> None:
        self.template = template
        self.function_url_base = function_url_base
        #: ``Ref`` values known only once a resource exists (a secret's ARN ends in a suffix
        #: the service chooses), recorded by the deployer as it creates them.
        self.created_refs: dict[str, str] = {}
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.stack_name = stack_name
        self.region = region
        self.account = account
        self.partition = partition
        self.parameters = dict(parameters or {})
        self.stack_id = (
            f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, stack_name)}"
        )
        self._conditions: dict[str, bool] = {}

    # ------------------------------------------------------------------------ names and ARNs

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        if logical_id not in self.resources:
            raise DeployError(f"the template has no resource {logical_id!r}")
        resource: Mapping[str, Any] = self.resources[logical_id]
        return resource

    def name(self, logical_id: str) -> str:
        """The physical name of a named resource."""
        resource = self.resource(logical_id)
        kind = resource["Type"]
        prop = _NAME_PROPERTIES.get(kind)
        explicit = (resource.get("Properties") or {}).get(prop) if prop else None
        if explicit is not None:
            return str(self.resolve(explicit))
        name = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
        if kind == "AWS::SQS::Queue" and (resource.get("Properties") or {}).get("FifoQueue"):
            return name[: _LIMITS[kind] - 5] + ".fifo"
        return name[: _LIMITS.get(kind, 255)]

    def _arn(
        self, service: str, resource: str, *, region: bool = True, account: bool = True
    ) -> str:
        where = self.region if region else ""
        who = self.account if account else ""
        return f"arn:{self.partition}:{service}:{where}:{who}:{resource}"

    def _key_id(self, logical_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack_name}/{logical_id}"))

    def ref(self, name: str) -> Any:
        """What ``{"Ref": name}`` evaluates to."""
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.created_refs:
            return self.created_refs[name]
        if name in self.template.get("Parameters", {}):
            if name in self.parameters:
                return self.parameters[name]
            default = self.template["Parameters"][name].get("Default")
            if default is None:
                raise DeployError(f"parameter {name!r} has no default; pass parameters=")
            return default
        kind = self.resource(name)["Type"]
        if kind in ("AWS::Lambda::LayerVersion",):
            return self._arn("lambda", f"layer:{self.name(name)}:1")
        if kind == "AWS::StepFunctions::StateMachine":
            return self.get_att(name, "Arn")
        if kind == "AWS::SNS::Topic":
            return self.get_att(name, "TopicArn")
        if kind == "AWS::SQS::Queue":
            return self.get_att(name, "QueueUrl")
        if kind == "AWS::KMS::Key":
            return self._key_id(name)
        if kind == "AWS::SecretsManager::Secret":
            # the service appends six random characters; known once the secret exists
            return self._arn("secretsmanager", f"secret:{self.name(name)}-??????")
        if kind == "AWS::IAM::ManagedPolicy":
            return self._arn("iam", f"policy/{self.name(name)}", region=False)
        if kind in _NAME_PROPERTIES:
            return self.name(name)
        return f"{self.stack_name}-{name}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """What ``{"Fn::GetAtt": [logical_id, attribute]}`` evaluates to."""
        kind = self.resource(logical_id)["Type"]
        name = self.name(logical_id) if kind in _NAME_PROPERTIES else ""
        values: dict[str, Callable[[], Any]] = {}
        if kind == "AWS::S3::Bucket":
            values = {
                "Arn": lambda: f"arn:{self.partition}:s3:::{name}",
                "DomainName": lambda: f"{name}.s3.amazonaws.com",
                "RegionalDomainName": lambda: f"{name}.s3.{self.region}.amazonaws.com",
                "WebsiteURL": lambda: f"http://{name}.s3-website-{self.region}.amazonaws.com",
            }
        elif kind == "AWS::Lambda::Function":
            values = {"Arn": lambda: self._arn("lambda", f"function:{name}")}
        elif kind == "AWS::IAM::Role":
            values = {
                "Arn": lambda: self._arn("iam", f"role/{name}", region=False),
                "RoleId": lambda: "AROA" + self._key_id(logical_id).replace("-", "")[:17].upper(),
            }
        elif kind == "AWS::KMS::Key":
            values = {
                "Arn": lambda: self._arn("kms", f"key/{self._key_id(logical_id)}"),
                "KeyId": lambda: self._key_id(logical_id),
            }
        elif kind == "AWS::StepFunctions::StateMachine":
            values = {
                "Arn": lambda: self._arn("states", f"stateMachine:{name}"),
                "Name": lambda: name,
            }
        elif kind == "AWS::Events::Rule":
            values = {"Arn": lambda: self._arn("events", f"rule/{name}")}
        elif kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            values = {
                "Arn": lambda: self._arn("dynamodb", f"table/{name}"),
                "StreamArn": lambda: self._arn("dynamodb", f"table/{name}/stream/latest"),
            }
        elif kind == "AWS::SNS::Topic":
            values = {"TopicArn": lambda: self._arn("sns", name), "TopicName": lambda: name}
        elif kind == "AWS::SQS::Queue":
            values = {
                "Arn": lambda: self._arn("sqs", name),
                "QueueName": lambda: name,
                "QueueUrl": lambda: (
                    f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
                ),
            }
        elif kind == "AWS::Logs::LogGroup":
            values = {"Arn": lambda: self._arn("logs", f"log-group:{name}:*")}
        elif kind == "AWS::Lambda::LayerVersion":
            values = {"LayerVersionArn": lambda: self.ref(logical_id)}
        elif kind == "AWS::SecretsManager::Secret":
            values = {"Id": lambda: self.ref(logical_id)}
        elif kind == "AWS::Lambda::Url":
            values = {
                "FunctionUrl": lambda: self._function_url(logical_id),
                "FunctionArn": lambda: self.resolve(
                    self.resource(logical_id)["Properties"]["TargetFunctionArn"]
                ),
            }
        if attribute not in values:
            raise DeployError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) is not supported")
        return values[attribute]()

    def _function_url(self, logical_id: str) -> str:
        target = str(self.resolve(self.resource(logical_id)["Properties"]["TargetFunctionArn"]))
        function = target.rsplit(":function:", 1)[-1].split(":", 1)[0]
        if self.function_url_base is None:
            return f"https://{self._key_id(logical_id)[:32]}.lambda-url.{self.region}.on.aws/"
        return f"{self.function_url_base.rstrip('/')}/{function}/"

    # ------------------------------------------------------------------------- intrinsics

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definition = self.template.get("Conditions", {}).get(name)
            if definition is None:
                raise DeployError(f"the template has no condition {name!r}")
            self._conditions[name] = bool(self.resolve(definition))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._functions().get(key)
            if function is not None:
                return function(argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": lambda arg: str(arg[0]).join(str(p) for p in self.resolve(arg[1])),
            "Fn::Sub": self._sub,
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            "Fn::If": lambda arg: self.resolve(arg[1] if self.condition(arg[0]) else arg[2]),
            "Fn::Equals": lambda arg: self.resolve(arg[0]) == self.resolve(arg[1]),
            "Fn::Not": lambda arg: not self.resolve(arg[0]),
            "Fn::And": lambda arg: all(self.resolve(item) for item in arg),
            "Fn::Or": lambda arg: any(self.resolve(item) for item in arg),
            "Condition": self.condition,
            "Fn::Base64": lambda arg: base64.b64encode(str(self.resolve(arg)).encode()).decode(),
            "Fn::GetAZs": lambda arg: [f"{self.region}{zone}" for zone in "abc"],
            "Fn::ImportValue": self._unsupported("Fn::ImportValue"),
        }

    @staticmethod
    def _unsupported(name: str) -> Callable[[Any], Any]:
        def fail(argument: Any) -> Any:
            raise DeployError(f"{name} {argument!r} is not supported by the local deployer")

        return fail

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = argument[0], self.resolve(argument[1])
        return self.get_att(logical_id, attribute)

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], self.resolve(argument[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, _, attribute = token.partition(".")
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def state_machine_definitions(resolver: TemplateResolver) -> dict[str, dict[str, Any]]:
    """The concrete ASL of every state machine of the template, by logical id."""
    definitions = {}
    for logical_id, resource in resolver.resources.items():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            definitions[logical_id] = _definition(resolver, resource.get("Properties") or {})
    return definitions


def _definition(resolver: TemplateResolver, props: Mapping[str, Any]) -> dict[str, Any]:
    if "Definition" in props:
        text = json.dumps(resolver.resolve(props["Definition"]))
    elif "DefinitionString" in props:
        text = str(resolver.resolve(props["DefinitionString"]))
    else:
        raise DeployError("state machine has neither Definition nor DefinitionString")
    for key, value in (resolver.resolve(props.get("DefinitionSubstitutions")) or {}).items():
        text = text.replace("${" + key + "}", str(value))
    definition: dict[str, Any] = json.loads(text)
    return definition


def zip_folder(folder: Path) -> bytes:
    """The folder as a deterministic zip (sorted entries, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _inline_zip(code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("index.py", (1980, 1, 1, 0, 0, 0)), code)
    return buffer.getvalue()


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation bucket encryption rule in the S3 API's shape."""
    converted: dict[str, Any] = {}
    if "ServerSideEncryptionByDefault" in rule:
        converted["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
    if "BucketKeyEnabled" in rule:
        converted["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
    return converted


@dataclass(frozen=True)
class Deployment:
    """What :func:`deploy` created.

    Attributes:
        stack_name: The stack's name.
        physical_ids: What ``Ref`` gives for each deployed resource, by logical id.
        outputs: The stack outputs, resolved.
        skipped: Resources not deployed, by logical id, with the reason.
        resolver: The resolver, for ``get_att`` and ``resolve`` on the same names.
    """

    stack_name: str
    physical_ids: dict[str, Any]
    outputs: dict[str, Any]
    skipped: dict[str, str]
    resolver: TemplateResolver = field(repr=False)

    def of_type(self, kind: str) -> dict[str, Any]:
        """Physical ids of the deployed resources of one type, by logical id."""
        return {
            logical_id: physical
            for logical_id, physical in self.physical_ids.items()
            if self.resolver.resources[logical_id]["Type"] == kind
        }


_SKIP_REASONS = {
    "AWS::S3::BucketPolicy": "moto enforces no bucket policies",
    "AWS::SQS::QueuePolicy": "moto enforces no queue policies",
    "AWS::SNS::TopicPolicy": "moto enforces no topic policies",
    "AWS::KMS::Key": "keys are referred to by a stable fake id; moto never calls KMS here",
    "AWS::KMS::Alias": "keys are referred to by a stable fake id",
    "AWS::Logs::LogGroup": "moto creates a function's log group when it is invoked",
    "AWS::Lambda::LayerVersion": "handlers import layer packages from this environment",
    "AWS::Lambda::Permission": "moto enforces no resource policies",
    "AWS::CDK::Metadata": "CDK metadata",
    "AWS::Lambda::Url": "served by LocalAws' function URL server",
}

_ORDER = (
    "AWS::IAM::Role",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::SecretsManager::Secret",
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "Custom::S3BucketNotifications",
    "Custom::CDKBucketDeployment",
    # policies name the ARNs of everything above (a secret's ARN is known once it exists)
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
)
_EMULATED_CUSTOM = ("Custom::S3BucketNotifications", "Custom::CDKBucketDeployment")


def deploy(
    cdk_out: Path,
    stack: str,
    *,
    client: Callable[[str], Any],
    region: str = "us-east-1",
    account: str = "123456789012",
    parameters: Mapping[str, Any] | None = None,
    function_url_base: str | None = None,
) -> Deployment:
    """Deploy ``cdk.out/<stack>.template.json`` through ``client(service)`` clients.

    ``function_url_base`` is where function URLs are served (``LocalAws.function_url_base``).
    """
    template = load_template(cdk_out, stack)
    return deploy_template(
        template,
        stack_name=stack,
        asset_root=Path(cdk_out),
        client=client,
        region=region,
        account=account,
        parameters=parameters,
        function_url_base=function_url_base,
    )


def deploy_template(
    template: Mapping[str, Any],
    *,
    stack_name: str,
    asset_root: Path,
    client: Callable[[str], Any],
    region: str = "us-east-1",
    account: str = "123456789012",
    parameters: Mapping[str, Any] | None = None,
    function_url_base: str | None = None,
) -> Deployment:
    """Deploy a template whose asset paths are relative to ``asset_root``."""
    resolver = TemplateResolver(
        template,
        stack_name=stack_name,
        region=region,
        account=account,
        parameters=parameters,
        function_url_base=function_url_base,
    )
    deployer = _Deployer(resolver, asset_root, client)
    return deployer.run()


class _Deployer:
    def __init__(
        self, resolver: TemplateResolver, asset_root: Path, client: Callable[[str], Any]
    ) -> None:
        self.resolver = resolver
        self.asset_root = asset_root
        self._client_factory = client
        self._clients: dict[str, Any] = {}
        self._zips: dict[Path, bytes] = {}
        self.physical: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._client_factory(service)
        return self._clients[service]

    def run(self) -> Deployment:
        resources = self.resolver.resources
        custom_handlers = {
            self._service_token_target(resource)
            for resource in resources.values()
            if resource["Type"] in _EMULATED_CUSTOM
        }
        creators: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "AWS::IAM::Role": self._role,
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::IAM::Policy": self._policy,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::DynamoDB::Table": self._table,
            "AWS::DynamoDB::GlobalTable": self._table,
            "AWS::Lambda::Function": self._function,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::Rule": self._rule,
            "AWS::SecretsManager::Secret": self._secret,
            "Custom::S3BucketNotifications": self._notifications,
            "Custom::CDKBucketDeployment": self._bucket_deployment,
        }
        for kind in _ORDER:
            for logical_id, resource in resources.items():
                if resource["Type"] != kind:
                    continue
                if logical_id in custom_handlers:
                    self.skipped[logical_id] = "handler of an emulated CDK custom resource"
                    continue
                if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
                    self.skipped[logical_id] = f"condition {resource['Condition']} is false"
                    continue
                try:
                    creators[kind](logical_id, resource.get("Properties") or {})
                except DeployError:
                    raise
                except Exception as exc:
                    raise DeployError(f"deploying {logical_id} ({kind}) failed: {exc}") from exc
                self.physical[logical_id] = self.resolver.ref(logical_id)
        self._attach_managed_policies()
        for logical_id, resource in resources.items():
            if logical_id not in self.physical and logical_id not in self.skipped:
                self.skipped[logical_id] = _SKIP_REASONS.get(
                    resource["Type"], f"{resource['Type']} is not emulated"
                )
        outputs = {
            name: self.resolver.resolve(output["Value"])
            for name, output in self.resolver.template.get("Outputs", {}).items()
        }
        return Deployment(
            stack_name=self.resolver.stack_name,
            physical_ids=self.physical,
            outputs=outputs,
            skipped=self.skipped,
            resolver=self.resolver,
        )

    @staticmethod
    def _service_token_target(resource: Mapping[str, Any]) -> str | None:
        token = (resource.get("Properties") or {}).get("ServiceToken")
        if isinstance(token, dict) and "Fn::GetAtt" in token:
            return str(token["Fn::GetAtt"][0])
        return None

    # ------------------------------------------------------------------------- resources

    def _role(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        iam = self.client("iam")
        name = self.resolver.name(logical_id)
        iam.create_role(
            RoleName=name,
            Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(props.get("AssumeRolePolicyDocument", {})),
            Description=props.get("Description", ""),
        )
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )

    def _attach_managed_policies(self) -> None:
        """Attach each deployed role's ``ManagedPolicyArns`` (once every policy exists)."""
        iam = self.client("iam")
        for logical_id, resource in self.resolver.resources.items():
            if resource["Type"] != "AWS::IAM::Role" or logical_id not in self.physical:
                continue
            arns = self.resolver.resolve(
                (resource.get("Properties") or {}).get("ManagedPolicyArns")
            )
            for arn in arns or []:
                try:
                    iam.attach_role_policy(RoleName=self.resolver.name(logical_id), PolicyArn=arn)
                except iam.exceptions.NoSuchEntityException:
                    self.skipped[f"{logical_id}/{arn}"] = (
                        "AWS managed policy unknown to the emulator: the role has none of "
                        "its permissions"
                    )

    def _policy(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        iam = self.client("iam")
        document = json.dumps(props["PolicyDocument"])
        for role in props.get("Roles", []):
            iam.put_role_policy(
                RoleName=str(role).rsplit("/", 1)[-1],
                PolicyName=props.get("PolicyName") or logical_id,
                PolicyDocument=document,
            )

    def _managed_policy(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        iam = self.client("iam")
        arn = iam.create_policy(
            PolicyName=self.resolver.name(logical_id),
            Path=props.get("Path", "/"),
            PolicyDocument=json.dumps(props["PolicyDocument"]),
            Description=props.get("Description", ""),
        )["Policy"]["Arn"]
        for role in props.get("Roles", []):
            iam.attach_role_policy(RoleName=str(role).rsplit("/", 1)[-1], PolicyArn=arn)

    def _bucket(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        s3 = self.client("s3")
        name = self.resolver.name(logical_id)
        options: dict[str, Any] = {"Bucket": name}
        if self.resolver.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.resolver.region}
        s3.create_bucket(**options)
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
            )
        if props.get("BucketEncryption"):
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        _encryption_rule(rule)
                        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if props.get("NotificationConfiguration"):
            self._put_notifications(name, props["NotificationConfiguration"])

    def _notifications(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        self._put_notifications(props["BucketName"], props.get("NotificationConfiguration", {}))

    def _secret(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        value = props.get("SecretString")
        if value is None:
            value = _generated_secret(props.get("GenerateSecretString") or {})
        options: dict[str, Any] = {"Name": self.resolver.name(logical_id), "SecretString": value}
        if props.get("Description"):
            options["Description"] = props["Description"]
        created = self.client("secretsmanager").create_secret(**options)
        self.resolver.created_refs[logical_id] = created["ARN"]

    def _bucket_deployment(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(
            {key: value for key, value in props.items() if key != "SourceBucketNames"}
        )
        bucket = props["DestinationBucketName"]
        prefix = str(props.get("DestinationBucketKeyPrefix", ""))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        markers = props.get("SourceMarkers") or [{} for _ in props["SourceObjectKeys"]]
        s3 = self.client("s3")
        written = set()
        for key, replacements in zip(props["SourceObjectKeys"], markers, strict=True):
            for name, raw in self._asset_files(logical_id, str(key)):
                body = raw
                for marker, value in (replacements or {}).items():
                    body = body.replace(marker.encode(), str(value).encode())
                s3.put_object(Bucket=bucket, Key=prefix + name, Body=body)
                written.add(prefix + name)
        if str(props.get("Prune", "true")).lower() == "true":
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"] not in written:
                        s3.delete_object(Bucket=bucket, Key=item["Key"])

    def _asset_files(self, logical_id: str, key: str) -> list[tuple[str, bytes]]:
        """(relative name, bytes) of each file of the ``cdk.out`` asset uploaded as ``key``."""
        manifest = self.asset_root / f"{self.resolver.stack_name}.assets.json"
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        entry = files.get(key.rsplit(".", 1)[0])
        if entry is None:
            raise DeployError(f"{logical_id}: asset {key} is not in {manifest.name}")
        path = (self.asset_root / entry["source"]["path"]).resolve()
        if path.is_dir():
            return [
                (file.relative_to(path).as_posix(), file.read_bytes())
                for file in sorted(path.rglob("*"))
                if file.is_file()
            ]
        with zipfile.ZipFile(path) as archive:
            return [
                (info.filename, archive.read(info))
                for info in archive.infolist()
                if not info.is_dir()
            ]

    def _put_notifications(self, bucket: str, config: Mapping[str, Any]) -> None:
        configuration: dict[str, Any] = {}
        if "EventBridgeConfiguration" in config:
            configuration["EventBridgeConfiguration"] = {}
        for key in ("LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations"):
            if config.get(key):
                configuration[key] = config[key]
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration
        )

    def _queue(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        attributes = {
            key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
            for key in (
                "FifoQueue",
                "ContentBasedDeduplication",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds",
            )
            if key in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        self.client("sqs").create_queue(
            QueueName=self.resolver.name(logical_id), Attributes=attributes
        )

    def _topic(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
        sns = self.client("sns")
        arn = sns.create_topic(Name=self.resolver.name(logical_id), Attributes=attributes)[
            "TopicArn"
        ]
        for subscription in props.get("Subscription", []):
            sns.subscribe(
                TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
            )

    def _subscription(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        attributes = {}
        if "RawMessageDelivery" in props:
            attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
        if "FilterPolicy" in props:
            attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
        self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
        )

    def _table(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        options: dict[str, Any] = {
            "TableName": self.resolver.name(logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if options["BillingMode"] == "PROVISIONED":
            options["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                options[key] = props[key]
        if props.get("StreamSpecification"):
            options["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        self.client("dynamodb").create_table(**options)

    def _function(self, logical_id: str, props: Mapping[str, Any]) -> None:
        resource = self.resolver.resource(logical_id)
        props = self.resolver.resolve(props)
        code = props["Code"]
        if "ZipFile" in code:
            zip_bytes = _inline_zip(str(code["ZipFile"]))
        else:
            folder = self._asset_path(logical_id, resource, code)
            if folder.is_file() and folder.suffix == ".zip":
                zip_bytes = folder.read_bytes()
            elif folder.is_dir():
                if folder not in self._zips:
                    self._zips[folder] = zip_folder(folder)
                zip_bytes = self._zips[folder]
            else:
                raise DeployError(f"{logical_id}: asset {folder} does not exist")
        options: dict[str, Any] = {
            "FunctionName": self.resolver.name(logical_id),
            "Runtime": props.get("Runtime", "python3.12"),
            "Role": props["Role"],
            "Handler": props.get("Handler", "index.handler"),
            "Code": {"ZipFile": zip_bytes},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Description": props.get("Description", ""),
        }
        if props.get("Environment"):
            options["Environment"] = {
                "Variables": {
                    key: str(value)
                    for key, value in props["Environment"].get("Variables", {}).items()
                }
            }
        if props.get("Architectures"):
            options["Architectures"] = props["Architectures"]
        if props.get("TracingConfig"):
            options["TracingConfig"] = props["TracingConfig"]
        self.client("lambda").create_function(**options)

    def _asset_path(
        self, logical_id: str, resource: Mapping[str, Any], code: Mapping[str, Any]
    ) -> Path:
        """The asset of a function: its ``aws:asset:path`` metadata (written when the CDK CLI
        synthesizes) or the ``<stack>.assets.json`` entry of its ``S3Key``."""
        asset = (resource.get("Metadata") or {}).get("aws:asset:path")
        if not asset:
            manifest = self.asset_root / f"{self.resolver.stack_name}.assets.json"
            key = str(code.get("S3Key", ""))
            if manifest.is_file() and key:
                files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
                entry = files.get(key.rsplit(".", 1)[0])
                asset = entry["source"]["path"] if entry else None
        if not asset:
            raise DeployError(f"{logical_id}: no asset path in its metadata or the assets file")
        return (self.asset_root / str(asset)).resolve()

    def _state_machine(self, logical_id: str, props: Mapping[str, Any]) -> None:
        definition = _definition(self.resolver, props)
        resolved = self.resolver.resolve(
            {
                key: value
                for key, value in props.items()
                if key not in ("Definition", "DefinitionString")
            }
        )
        self.client("stepfunctions").create_state_machine(
            name=self.resolver.name(logical_id),
            definition=json.dumps(definition),
            roleArn=resolved.get("RoleArn")
            or self.resolver._arn("iam", "role/local-states", region=False),
            type=resolved.get("StateMachineType", "STANDARD"),
        )

    def _rule(self, logical_id: str, props: Mapping[str, Any]) -> None:
        props = self.resolver.resolve(props)
        events = self.client("events")
        name = self.resolver.name(logical_id)
        options: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if props.get("EventBusName"):
            options["EventBusName"] = props["EventBusName"]
        if props.get("EventPattern"):
            options["EventPattern"] = json.dumps(props["EventPattern"])
        if props.get("ScheduleExpression"):
            options["ScheduleExpression"] = props["ScheduleExpression"]
        if props.get("Description"):
            options["Description"] = props["Description"]
        events.put_rule(**options)
        targets = []
        for target in props.get("Targets", []):
            entry = {
                key: target[key]
                for key in (
                    "Id",
                    "Arn",
                    "RoleArn",
                    "Input",
                    "InputPath",
                    "InputTransformer",
                    "SqsParameters",
                    "RetryPolicy",
                    "DeadLetterConfig",
                )
                if key in target
            }
            targets.append(entry)
        # Schedules do not run here, and moto would send every event to a rule without an
        # EventPattern: a scheduled rule is created without its targets.
        if targets and not props.get("ScheduleExpression"):
            bus = {"EventBusName": options["EventBusName"]} if "EventBusName" in options else {}
            events.put_targets(Rule=name, Targets=targets, **bus)


def _generated_secret(spec: Mapping[str, Any]) -> str:
    """A random secret value as ``GenerateSecretString`` describes it."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    excluded = str(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    length = int(spec.get("PasswordLength", 32))
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    template = spec.get("SecretStringTemplate")
    if template and spec.get("GenerateStringKey"):
        document = json.loads(str(template))
        document[str(spec["GenerateStringKey"])] = value
        return json.dumps(document)
    return value
