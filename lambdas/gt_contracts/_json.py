"""Small readers shared by the contract models (not part of the public API)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gt_contracts.errors import ContractError

__all__ = ["load_json", "optional_str", "require_mapping", "require_str"]


def load_json(text: str | bytes | bytearray, *, what: str) -> Any:
    """``json.loads`` with a :class:`ContractError` naming ``what`` on failure."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"{what} is not valid JSON: {exc}") from None


def require_mapping(value: object, at: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ContractError(f"{at} must be a JSON object, got {_kind(value)}")
    return value


def require_str(obj: Mapping[str, Any], key: str, at: str) -> str:
    """``obj[key]`` as a non-empty string."""
    if key not in obj or obj[key] is None:
        raise ContractError(f"{at}{key} is missing")
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise ContractError(f"{at}{key} must be a non-empty string, got {_kind(value)}")
    return value


def optional_str(obj: Mapping[str, Any], key: str, at: str) -> str | None:
    """``obj[key]`` as a string, or ``None`` when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContractError(f"{at}{key} must be a string, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    return type(value).__name__
