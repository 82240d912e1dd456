"""Small readers of a synthesized template: find resources by their properties, not ids."""

from __future__ import annotations

import re
from typing import Any

Resources = dict[str, dict[str, Any]]

HANDLER_SUFFIX = ".handler.lambda_handler"


def resources(template_json: dict[str, Any], type_: str) -> Resources:
    return {
        logical_id: resource
        for logical_id, resource in template_json["Resources"].items()
        if resource["Type"] == type_
    }


def labelflow_functions(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """LabelFlow's functions (those built from the lambdas/ asset), keyed by handler.

    CDK's own helper functions (inline code, or the bucket deployment's `index.handler`) are
    left out.
    """
    functions = {}
    for logical_id, resource in resources(template_json, "AWS::Lambda::Function").items():
        properties = resource["Properties"]
        if "ZipFile" in properties["Code"] or not properties["Handler"].endswith(HANDLER_SUFFIX):
            continue
        functions[properties["Handler"]] = {"LogicalId": logical_id, **properties}
    return functions


def flatten(value: Any) -> str:
    """A readable string for an intrinsic: Fn::Join joined, Ref/GetAtt as <Id> / <Id.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(flatten(part) for part in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return repr(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template_json: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to a role (by its logical id)."""
    statements = []
    for resource in resources(template_json, "AWS::IAM::Policy").values():
        roles = resource["Properties"].get("Roles", [])
        if {"Ref": role_id} in roles:
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_on(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """action -> the flattened resources it is allowed on."""
    allowed: dict[str, set[str]] = {}
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(
                flatten(resource) for resource in as_list(statement["Resource"])
            )
    return allowed


def role_by_service(template_json: dict[str, Any], service: str) -> dict[str, str]:
    """Roles assumed by a service principal: logical id -> description."""
    found = {}
    for logical_id, resource in resources(template_json, "AWS::IAM::Role").items():
        document = resource["Properties"]["AssumeRolePolicyDocument"]
        principals = [statement["Principal"] for statement in document["Statement"]]
        if any(principal.get("Service") == service for principal in principals):
            found[logical_id] = resource["Properties"].get("Description", "")
    return found


def bucket_by_log_prefix(template_json: dict[str, Any], prefix: str) -> str:
    """The logical id of the bucket whose access logs use `prefix`."""
    for logical_id, resource in resources(template_json, "AWS::S3::Bucket").items():
        logging = resource["Properties"].get("LoggingConfiguration", {})
        if logging.get("LogFilePrefix") == prefix:
            return logical_id
    raise AssertionError(f"no bucket logs with prefix {prefix!r}")


def iam_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: `*` any run of characters (`/` included), `?` one character."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether identity-policy `statements` (intrinsics resolved) allow `action` on `resource`.

    Actions match case-insensitively, resources case-sensitively, both with IAM's wildcards.
    An explicit Deny wins. Only unconditional Allow statements with `Action` and `Resource`
    count: a statement with a `Condition`, `NotAction` or `NotResource` proves nothing here.
    """

    def covers(statement: dict[str, Any]) -> bool:
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        return any(iam_match(a, action, ignore_case=True) for a in actions) and any(
            iam_match(r, resource) for r in resources
        )

    if any(s["Effect"] == "Deny" and covers(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and "Condition" not in s and covers(s) for s in statements)
