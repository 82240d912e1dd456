"""IAM in the emulator: role sessions, the resources a request acts on, and policy checks.

In AWS a Lambda function calls AWS with temporary credentials of its execution role, and
every call is allowed or refused by that role's policies. The emulator does the same:

* :func:`role_credentials` assumes a role through the emulator's STS (moto's STS backend),
  once per role and emulator; the in-process Lambda runtime gives each function its role's
  credentials (:mod:`labelflow.local.patches`, ``lambda``);
* moto's IAM access control is switched on (:func:`enable`), so moto checks each request's
  signature and evaluates the caller's role policies. moto passes every service but S3,
  SQS, IAM and STS the resource ``*``, so :func:`request_authorizations` names what a
  request acts on for the operations LabelFlow uses, and what AWS checks besides the
  operation itself:

  ============================== ===================================================
  request                        authorized as
  ============================== ===================================================
  DynamoDB item and table calls  the action on ``table/<TableName>`` (each table of a
                                 batch; ``/index/<IndexName>`` for an index query)
  Step Functions                 ``StartExecution`` on the state machine,
                                 ``DescribeExecution``/``StopExecution`` on the
                                 execution, ``SendTask*`` on the state machine whose
                                 execution issued the token
  SNS ``Publish``                the topic
  EventBridge ``PutEvents``      each entry's event bus (``default`` when unnamed)
  Secrets Manager                the secret's ARN
  Lambda ``Invoke``              ``lambda:InvokeFunction`` on the function
  SageMaker ``CreateLabelingJob`` the job; ``sagemaker:AddTags`` on it when the request
                                 has tags; ``iam:PassRole`` on its ``RoleArn`` with
                                 ``iam:PassedToService = sagemaker.amazonaws.com``
  SageMaker labeling jobs, flow  the job or flow definition (``CreateFlowDefinition``
  definitions                    also passes its role)
  S3 object reads and writes     moto's own S3 check, and ``kms:Decrypt`` (reads) or
                                 ``kms:GenerateDataKey`` (writes) on the key of a
                                 bucket encrypted with KMS
  ============================== ===================================================

  Any other request is authorized on ``*``, as moto does: an action that supports
  resource-level permissions but is missing above is refused under a resource-scoped grant
  (it fails loudly, never passes unchecked);
* requests signed with credentials that are not a role session of this emulator (the
  emulator's own clients, the deployer, the Step Functions executor, tests, the command
  line) act as the account's administrator, as the account's root user would;
* the fake labeling jobs read the manifest, the label categories, the worker template and
  the items, write their output and invoke the job's Lambdas as the job's ``RoleArn``
  (:func:`require`).

Every authorization of a role session is recorded in :func:`access_log` (role, action,
resource, condition context, and the decision), so each call can be decided again from the
synthesized template, with what moto leaves out (:mod:`labelflow.local.iam_policies`).

What moto does not evaluate, the emulator does not either: resource-based policies (bucket,
key, topic and queue policies; a Lambda function's resource policy), permission boundaries,
session policies, and conditions of identity policies (moto refuses an ``Allow`` whose
condition it cannot check, so a call that needs one fails loudly);
:mod:`labelflow.local.iam_policies` does, for the recorded calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AccessDenied",
    "Authorization",
    "Call",
    "access_log",
    "allowed",
    "clear_access_log",
    "enable",
    "enabled",
    "record",
    "request_authorizations",
    "require",
    "role_credentials",
    "session_role",
]

#: How long the emulator's role sessions last (Lambda's sessions are renewed; these need not).
_SESSION_SECONDS = 43_200
_PASSED_TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}


class AccessDenied(Exception):
    """A role's policies do not allow an action on a resource (AWS's message)."""

    def __init__(self, principal: str, action: str, resource: str) -> None:
        super().__init__(
            f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            "because no identity-based policy allows the action"
        )
        self.principal = principal
        self.action = action
        self.resource = resource


@dataclass(frozen=True)
class Authorization:
    """One action on one resource that a request needs, with its condition context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One authorization of a role, as recorded."""

    role_arn: str
    action: str
    resource: str
    context: Mapping[str, str]
    allowed: bool
    #: ``request`` (an API call), ``implied`` (what AWS checks besides, e.g. KMS for S3) or
    #: ``labeling-job`` (Ground Truth acting as the job's role).
    source: str


# --------------------------------------------------------------------------------------------
# switching moto's access control
# --------------------------------------------------------------------------------------------


def enabled() -> bool:
    """Whether moto's IAM access control is on (the test moto itself applies)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


@contextmanager
def enable() -> Iterator[None]:
    """Evaluate IAM for every request in this block (moto's ``enable_iam_authentication``)."""
    from moto.core.authorization import enable_iam_authentication

    with enable_iam_authentication():
        yield


# --------------------------------------------------------------------------------------------
# role sessions
# --------------------------------------------------------------------------------------------


def _partition(region: str) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(region))


def _sts(account: str, region: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account][_partition(region)]


_sessions: dict[tuple[str, str], tuple[Any, Any]] = {}
_sessions_lock = threading.Lock()


def role_credentials(account: str, region: str, role_arn: str, session: str) -> dict[str, str]:
    """Credentials of a session of ``role_arn``, assumed through the emulator's STS once.

    Returns:
        ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``, as Lambda
        sets them for a function.
    """
    backend = _sts(account, region)
    key = (role_arn, session)
    with _sessions_lock:
        known = _sessions.get(key)
        if known is None or known[0] is not backend or known[1] not in backend.assumed_roles:
            assumed = backend.assume_role(
                region_name=region,
                role_session_name=session[:64],
                role_arn=role_arn,
                policy=None,
                duration=_SESSION_SECONDS,
                external_id=None,
            )
            known = (backend, assumed)
            _sessions[key] = known
    assumed = known[1]
    return {
        "AWS_ACCESS_KEY_ID": str(assumed.access_key_id),
        "AWS_SECRET_ACCESS_KEY": str(assumed.secret_access_key),
        "AWS_SESSION_TOKEN": str(assumed.session_token),
    }


def session_role(account: str, region: str, access_key_id: str) -> str | None:
    """The role of an emulator role session's access key (None: not a role session)."""
    for assumed in _sts(account, region).assumed_roles:
        if assumed.access_key_id == access_key_id:
            return str(assumed.role_arn)
    return None


# --------------------------------------------------------------------------------------------
# policy checks (moto's evaluator)
# --------------------------------------------------------------------------------------------


def role_policies(account: str, region: str, role_arn: str) -> list[Any]:
    """The inline and attached policies of a role, as moto's access control collects them."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account][_partition(region)]
    name = role_arn.rsplit("/", 1)[-1]
    policies: list[Any] = [
        backend.get_role_policy(name, policy)[1] for policy in backend.list_role_policies(name)
    ]
    attached, _ = backend.list_attached_role_policies(name)
    policies += attached
    return policies


def allowed(account: str, region: str, role_arn: str, authorization: Authorization) -> bool:
    """Whether the role's policies allow an action on a resource (moto's evaluation)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    permitted = False
    for policy in role_policies(account, region, role_arn):
        result = IAMPolicy(policy).is_action_permitted(
            authorization.action, authorization.resource, None, dict(authorization.context)
        )
        if result == PermissionResult.DENIED:
            return False
        permitted = permitted or result == PermissionResult.PERMITTED
    return permitted


def require(
    account: str,
    region: str,
    role_arn: str,
    authorization: Authorization,
    *,
    source: str,
    principal: str | None = None,
) -> None:
    """Refuse unless the role allows the authorization; record the decision.

    Raises:
        AccessDenied: the role's policies do not allow it.
    """
    decision = allowed(account, region, role_arn, authorization)
    record(
        Call(
            role_arn,
            authorization.action,
            authorization.resource,
            dict(authorization.context),
            decision,
            source,
        )
    )
    if not decision:
        raise AccessDenied(principal or role_arn, authorization.action, authorization.resource)


# --------------------------------------------------------------------------------------------
# the access log
# --------------------------------------------------------------------------------------------

_log: list[Call] = []
_log_lock = threading.Lock()


def record(call: Call) -> None:
    with _log_lock:
        _log.append(call)


def access_log() -> list[Call]:
    """Every authorization of a role session since :func:`clear_access_log`, in order."""
    with _log_lock:
        return list(_log)


def clear_access_log() -> None:
    with _log_lock:
        _log.clear()


# --------------------------------------------------------------------------------------------
# what a request acts on
# --------------------------------------------------------------------------------------------


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{_partition(region)}:{service}:{region}:{account}:{resource}"


def _dynamodb(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    def table(name: str, index: str | None = None) -> str:
        arn = _arn("dynamodb", region, account, f"table/{name}")
        return f"{arn}/index/{index}" if index else arn

    iam_action = f"dynamodb:{action}"
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [Authorization(iam_action, table(name)) for name in params("RequestItems") or {}]
    if action in ("TransactWriteItems", "TransactGetItems"):
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
        kinds.update(ConditionCheck="ConditionCheckItem", Get="GetItem")
        found = []
        for item in params("TransactItems") or []:
            for kind, body in item.items():
                found.append(Authorization(f"dynamodb:{kinds[kind]}", table(body["TableName"])))
        return found
    name = params("TableName")
    if not name:
        return [Authorization(iam_action, "*")]
    index = params("IndexName") if action in ("Query", "Scan") else None
    return [Authorization(iam_action, table(str(name), index))]


def _token_state_machine(token: str, region: str, account: str) -> str | None:
    from moto.stepfunctions.responses import get_backend

    backend = get_backend(account, region)
    for machine in list(backend.state_machines):
        for execution in list(getattr(machine, "executions", [])):
            worker = getattr(execution, "exec_worker", None)
            pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
            if pool is not None and pool.get(token) is not None:
                return str(machine.arn)
    return None


def _states(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    iam_action = f"states:{action}"
    if action in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        machine = _token_state_machine(str(params("taskToken") or ""), region, account)
        # an unknown token names no resource: the service answers InvalidToken
        return [Authorization(iam_action, machine)] if machine else []
    for name in ("executionArn", "stateMachineArn", "mapRunArn", "activityArn"):
        value = params(name)
        if value:
            return [Authorization(iam_action, str(value))]
    return [Authorization(iam_action, "*")]


def _sns(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    target = params("TopicArn") or params("TargetArn") or "*"
    return [Authorization(f"sns:{action}", str(target))]


def _events(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    if action != "PutEvents":
        return [Authorization(f"events:{action}", "*")]
    buses = []
    for entry in params("Entries") or []:
        bus = str(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else _arn("events", region, account, f"event-bus/{bus}")
        buses.append(arn)
    return [Authorization("events:PutEvents", bus) for bus in dict.fromkeys(buses)]


def _secret_arn(secret: str, region: str, account: str) -> str:
    if secret.startswith("arn:"):
        return secret
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    stored = backend.secrets.get(secret) if hasattr(backend.secrets, "get") else None
    if stored is not None and getattr(stored, "arn", None):
        return str(stored.arn)
    return _arn("secretsmanager", region, account, f"secret:{secret}")


def _secretsmanager(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    secret = params("SecretId")
    resource = _secret_arn(str(secret), region, account) if secret else "*"
    return [Authorization(f"secretsmanager:{action}", resource)]


def _labeling(kind: str, name: str, region: str, account: str) -> str:
    return _arn("sagemaker", region, account, f"{kind}/{name.lower()}")


def _sagemaker(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    iam_action = f"sagemaker:{action}"
    if action in ("CreateLabelingJob", "DescribeLabelingJob", "StopLabelingJob"):
        job = _labeling("labeling-job", str(params("LabelingJobName") or ""), region, account)
        found = [Authorization(iam_action, job)]
        if action == "CreateLabelingJob":
            if params("Tags"):
                found.append(Authorization("sagemaker:AddTags", job))
            found.append(
                Authorization("iam:PassRole", str(params("RoleArn")), _PASSED_TO_SAGEMAKER)
            )
        return found
    if action in ("CreateFlowDefinition", "DescribeFlowDefinition", "DeleteFlowDefinition"):
        flow = _labeling(
            "flow-definition", str(params("FlowDefinitionName") or ""), region, account
        )
        found = [Authorization(iam_action, flow)]
        if action == "CreateFlowDefinition":
            found.append(
                Authorization("iam:PassRole", str(params("RoleArn")), _PASSED_TO_SAGEMAKER)
            )
        return found
    if action in ("CreateWorkteam", "DescribeWorkteam"):
        team = _labeling(
            "workteam", f"private-crowd/{params('WorkteamName') or ''}", region, account
        )
        return [Authorization(iam_action, team)]
    return [Authorization(iam_action, "*")]


def _lambda(action: str, params: Param, region: str, account: str) -> list[Authorization]:
    name = str(params("FunctionName") or params("function_name") or "")
    if not name:
        return [Authorization(f"lambda:{action}", "*")]
    arn = name if name.startswith("arn:") else _arn("lambda", region, account, f"function:{name}")
    iam_action = "lambda:InvokeFunction" if action in ("Invoke", "InvokeAsync") else action
    if not iam_action.startswith("lambda:"):
        iam_action = f"lambda:{iam_action}"
    return [Authorization(iam_action, arn)]


Param = Callable[[str], Any]
_RESOLVERS: dict[str, Callable[[str, Param, str, str], list[Authorization]]] = {
    "dynamodb": _dynamodb,
    "states": _states,
    "sns": _sns,
    "events": _events,
    "secretsmanager": _secretsmanager,
    "sagemaker": _sagemaker,
    "lambda": _lambda,
}


def request_authorizations(
    service: str, action: str, params: Param, region: str, account: str
) -> list[Authorization] | None:
    """What a request of ``service``'s ``action`` needs allowed (module table).

    ``params(name)`` reads one request parameter. None: the service is not resolved here
    (moto's own resource, or ``*``, applies).
    """
    resolver = _RESOLVERS.get(service)
    if resolver is None:
        return None
    return resolver(action, params, region, account)


def s3_key_authorization(
    action: str, bucket: str, region: str, account: str
) -> Authorization | None:
    """The KMS permission an S3 object call needs on a KMS-encrypted bucket (None: none)."""
    kms_action = {"GetObject": "kms:Decrypt", "PutObject": "kms:GenerateDataKey"}.get(action)
    if kms_action is None or not bucket:
        return None
    from moto.s3.models import s3_backends

    stored = s3_backends[account][_partition(region)].buckets.get(bucket)
    encryption = getattr(stored, "encryption", None) or {}
    for rule in _rules(encryption):
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get(
            "KMSMasterKeyID"
        ):
            key = str(default["KMSMasterKeyID"])
            if not key.startswith("arn:"):
                key = _arn("kms", region, account, f"key/{key}")
            return Authorization(kms_action, key)
    return None


def _rules(encryption: Any) -> list[Mapping[str, Any]]:
    """The rules of moto's stored bucket encryption (parsed XML or a dict)."""
    if isinstance(encryption, str):
        try:
            encryption = json.loads(encryption)
        except ValueError:
            return []
    rules = encryption.get("Rule") if isinstance(encryption, Mapping) else None
    if rules is None and isinstance(encryption, Mapping):
        rules = encryption.get("Rules")
    if isinstance(rules, Mapping):
        rules = [rules]
    return [rule for rule in rules or [] if isinstance(rule, Mapping)]
