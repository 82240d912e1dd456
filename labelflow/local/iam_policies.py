"""AWS calls checked against a synthesized template's policies, as AWS would decide them.

The emulator evaluates each role session's calls with moto's evaluator while they run
(:mod:`labelflow.local.iam`); moto evaluates identity policies only, and not all of their
conditions. :class:`TemplatePolicies` decides a recorded call (:class:`labelflow.local.iam.
Call`) again, from the template as CloudFormation would deploy it, with what moto leaves out:

* identity policies: the role's inline ``Policies``, every ``AWS::IAM::Policy`` and
  ``AWS::IAM::ManagedPolicy`` attached to it; ``Action``/``NotAction``,
  ``Resource``/``NotResource`` with IAM's ``*`` and ``?`` wildcards (actions case-
  insensitively), and ``Condition`` with the string, ARN, boolean and null operators
  (``...IfExists``, ``ForAnyValue:``/``ForAllValues:`` included), evaluated against the call's
  context plus ``aws:SecureTransport = true`` and ``aws:PrincipalArn``/
  ``aws:PrincipalAccount`` (a key the context lacks matches no positive operator, and every
  negated one, as in AWS). An operator not listed makes the check fail with its name;
* resource-based policies of the template's buckets, topics, queues and KMS keys: an
  explicit ``Deny`` that applies to the role refuses the call; an ``Allow`` naming the role
  allows it as the role's own policies would;
* KMS: a key's policy must allow the call, naming the role, or naming the account (its root)
  so that the role's own policies decide;
* an explicit ``Deny`` anywhere wins.

AWS managed policies attached to a role cannot be read here: they grant nothing in this
check, and a refused call says that the role has some.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelflow.local.deploy import TemplateResolver
from labelflow.local.iam import Call

__all__ = ["TemplatePolicies", "UnsupportedCondition"]

Statement = Mapping[str, Any]


class UnsupportedCondition(ValueError):
    """A policy condition operator this check does not evaluate."""


@functools.cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    values = patterns if isinstance(patterns, list) else [patterns]
    return any(_glob(str(p), ignore_case).fullmatch(value) is not None for p in values)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _string_test(operator: str) -> Any:
    tests = {
        "StringEquals": lambda want, have: have == want,
        "StringNotEquals": lambda want, have: have != want,
        "StringEqualsIgnoreCase": lambda want, have: have.lower() == want.lower(),
        "StringNotEqualsIgnoreCase": lambda want, have: have.lower() != want.lower(),
        "StringLike": lambda want, have: _glob(want, False).fullmatch(have) is not None,
        "StringNotLike": lambda want, have: _glob(want, False).fullmatch(have) is None,
        "ArnEquals": lambda want, have: have == want,
        "ArnNotEquals": lambda want, have: have != want,
        "ArnLike": lambda want, have: _glob(want, False).fullmatch(have) is not None,
        "ArnNotLike": lambda want, have: _glob(want, False).fullmatch(have) is None,
        "Bool": lambda want, have: have.lower() == str(want).lower(),
    }
    return tests.get(operator)


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, str]) -> bool:
    """One ``{operator: {key: wanted}}`` entry against the request context."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = key in context
    if base == "Null":
        return (not present) == (str(_listed(wanted)[0]).lower() == "true")
    test = _string_test(base)
    if test is None:
        raise UnsupportedCondition(f"condition operator {operator} on {key} is not evaluated")
    negated = "Not" in base
    if not present:
        return if_exists or negated
    have = [str(value) for value in _listed(context[key])]
    wants = [str(value) for value in _listed(wanted)]
    if qualifier == "ForAllValues":
        return all(any(test(want, one) for want in wants) for one in have)
    if negated:
        return all(test(want, one) for want in wants for one in have)
    return any(test(want, one) for want in wants for one in have)


def _conditions_hold(statement: Statement, context: Mapping[str, str]) -> bool:
    for operator, entries in (statement.get("Condition") or {}).items():
        for key, wanted in entries.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def _applies(statement: Statement, action: str, resource: str, context: Mapping[str, str]) -> bool:
    if "NotAction" in statement:
        if _matches(statement["NotAction"], action, ignore_case=True):
            return False
    elif not _matches(statement.get("Action", []), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches(statement["NotResource"], resource):
            return False
    elif "Resource" in statement and not _matches(statement["Resource"], resource):
        return False
    return _conditions_hold(statement, context)


def _names_principal(statement: Statement, role_arn: str, account: str) -> tuple[bool, bool]:
    """Whether a resource-policy statement names the role, and whether it names its account."""
    principal = statement.get("Principal")
    if principal == "*":
        return True, True
    if not isinstance(principal, Mapping):
        return False, False
    names = [str(value) for value in _listed(principal.get("AWS", []))]
    root = f"arn:aws:iam::{account}:root"
    return (
        "*" in names or role_arn in names,
        "*" in names or root in names or account in names,
    )


def _statements(document: Any) -> list[Statement]:
    if not isinstance(document, Mapping):
        return []
    return [statement for statement in _listed(document.get("Statement", [])) if statement]


@dataclass
class TemplatePolicies:
    """The policies of one synthesized template, resolved to the emulator's names."""

    resolver: TemplateResolver
    #: Identity statements by role ARN.
    identity: dict[str, list[Statement]] = field(default_factory=dict)
    #: AWS managed policy ARNs by role ARN (not readable here).
    managed: dict[str, list[str]] = field(default_factory=dict)
    #: Resource-based statements by the ARN (or ARN prefix) they guard.
    resource_policies: dict[str, list[Statement]] = field(default_factory=dict)

    @classmethod
    def from_resolver(cls, resolver: TemplateResolver) -> TemplatePolicies:
        policies = cls(resolver)
        policies._collect()
        return policies

    # ---------------------------------------------------------------------------- reading

    def _role_arn(self, logical_id: str) -> str:
        return str(self.resolver.get_att(logical_id, "Arn"))

    def _role_by_name(self, name: str) -> str | None:
        for logical_id, resource in self.resolver.resources.items():
            if resource["Type"] == "AWS::IAM::Role" and self.resolver.name(logical_id) == name:
                return self._role_arn(logical_id)
        return None

    def _collect(self) -> None:
        resolve = self.resolver.resolve
        managed_documents: dict[str, Any] = {}
        for logical_id, resource in self.resolver.resources.items():
            kind = resource["Type"]
            props = resource.get("Properties") or {}
            if kind == "AWS::IAM::Role":
                arn = self._role_arn(logical_id)
                self.identity.setdefault(arn, [])
                for policy in resolve(props.get("Policies", [])):
                    self.identity[arn] += _statements(policy["PolicyDocument"])
            elif kind == "AWS::IAM::ManagedPolicy":
                managed_documents[str(self.resolver.ref(logical_id))] = resolve(
                    props["PolicyDocument"]
                )
        for logical_id, resource in self.resolver.resources.items():
            kind = resource["Type"]
            props = resource.get("Properties") or {}
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                document = resolve(props["PolicyDocument"])
                for name in resolve(props.get("Roles", [])):
                    attached = self._role_by_name(str(name).rsplit("/", 1)[-1])
                    if attached is not None:
                        self.identity.setdefault(attached, []).extend(_statements(document))
            elif kind == "AWS::IAM::Role":
                arn = self._role_arn(logical_id)
                for policy_arn in resolve(props.get("ManagedPolicyArns", [])):
                    if policy_arn in managed_documents:
                        self.identity[arn] += _statements(managed_documents[policy_arn])
                    else:
                        self.managed.setdefault(arn, []).append(str(policy_arn))
            elif kind == "AWS::S3::BucketPolicy":
                bucket = str(resolve(props["Bucket"]))
                self._guard([f"arn:aws:s3:::{bucket}"], resolve(props["PolicyDocument"]))
            elif kind == "AWS::SNS::TopicPolicy":
                self._guard(resolve(props["Topics"]), resolve(props["PolicyDocument"]))
            elif kind == "AWS::SQS::QueuePolicy":
                arns = [self._queue_arn(str(url)) for url in resolve(props["Queues"])]
                self._guard(arns, resolve(props["PolicyDocument"]))
            elif kind == "AWS::KMS::Key":
                arn = str(self.resolver.get_att(logical_id, "Arn"))
                self._guard([arn], resolve(props.get("KeyPolicy", {})))

    def _guard(self, arns: Iterable[str], document: Any) -> None:
        for arn in arns:
            self.resource_policies.setdefault(str(arn), []).extend(_statements(document))

    def _queue_arn(self, url: str) -> str:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{self.resolver.region}:{self.resolver.account}:{name}"

    def _guarding(self, resource: str) -> tuple[str | None, list[Statement]]:
        """The resource policy that guards ``resource`` (an S3 object: its bucket's)."""
        if resource in self.resource_policies:
            return resource, self.resource_policies[resource]
        if resource.startswith("arn:aws:s3:::"):
            bucket = "arn:aws:s3:::" + resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            return bucket, self.resource_policies.get(bucket, [])
        return None, []

    # --------------------------------------------------------------------------- deciding

    def problems(self, call: Call) -> list[str]:
        """Why AWS would refuse ``call`` under the template's policies (empty: allowed)."""
        account = self.resolver.account
        context = {
            "aws:SecureTransport": "true",
            "aws:PrincipalArn": call.role_arn,
            "aws:PrincipalAccount": account,
            **call.context,
        }
        what = f"{call.role_arn} {call.action} on {call.resource}"
        if call.role_arn not in self.identity:
            return [f"{what}: the template has no role {call.role_arn}"]
        identity = self.identity[call.role_arn]
        try:
            applying = [s for s in identity if _applies(s, call.action, call.resource, context)]
            guard, guarding = self._guarding(call.resource)
            resource_side = [
                (statement, *_names_principal(statement, call.role_arn, account))
                for statement in guarding
                if _applies(statement, call.action, call.resource, context)
            ]
        except UnsupportedCondition as exc:
            return [f"{what}: {exc}"]
        found = []
        if any(s.get("Effect") == "Deny" for s in applying):
            found.append(f"{what}: denied by the role's own policy")
        for statement, names_role, names_account in resource_side:
            if statement.get("Effect") == "Deny" and (names_role or names_account):
                found.append(f"{what}: denied by the resource policy of {guard}")
        if found:
            return found
        identity_allows = any(s.get("Effect") == "Allow" for s in applying)
        role_allowed = any(s.get("Effect") == "Allow" and r for s, r, _ in resource_side)
        account_allowed = any(s.get("Effect") == "Allow" and a for s, _, a in resource_side)
        if call.resource.startswith("arn:aws:kms:"):
            if not guarding:
                return [f"{what}: the template has no key policy for {call.resource}"]
            if role_allowed or (account_allowed and identity_allows):
                return []
            return [
                f"{what}: not allowed by "
                + ("the key policy" if not account_allowed else "the role's policies")
            ]
        if identity_allows or role_allowed:
            return []
        managed = self.managed.get(call.role_arn)
        extra = f" (it also has AWS managed policies not read here: {managed})" if managed else ""
        return [f"{what}: no statement of the role's policies allows it{extra}"]

    def check(self, calls: Sequence[Call]) -> list[str]:
        """Every problem of every call, each call once."""
        found: list[str] = []
        seen: set[tuple[str, str, str, tuple[tuple[str, str], ...]]] = set()
        for call in calls:
            key = (call.role_arn, call.action, call.resource, tuple(sorted(call.context.items())))
            if key in seen:
                continue
            seen.add(key)
            found += self.problems(call)
        return found
