"""Requests checked against botocore's service model, as strictly as the service checks them.

botocore itself validates only what a client must (required members, types, ``min``
lengths); the service also enforces the model's maxima, numeric ranges, enums and patterns.
:func:`validate_request` checks all of them for every shape of an operation's input, and
reports problems in the service's own words::

    2 validation errors detected: Value 'my_job' at 'labelingJobName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62};
    Value '6000' at 'humanTaskConfig.maxConcurrentTaskCount' failed to satisfy constraint:
    Member must have value less than or equal to 5000

The rules, shape by shape:

* structure: every required member is present (not null); each present member is checked;
* list, map, blob: ``min``/``max`` are the number of entries (bytes for a blob);
* string: ``min``/``max`` lengths; ``enum``; ``pattern`` matched against the whole value with
  Java's semantics (:mod:`labelflow.local.java_regex`). A pattern that cannot be translated
  raises :class:`~labelflow.local.java_regex.UntranslatablePattern`: a constraint is never
  skipped. Java counts a string's length in UTF-16 units, the model's documentation in
  characters; they differ only for characters outside the Basic Multilingual Plane, and the
  stricter reading is applied (UTF-16 units for a maximum, characters for a minimum);
* integer, long, float, double: ``min``/``max`` are the range (botocore checks neither bound);
* a value of the wrong type fails (``Member must be a string`` and so on).

Values of shapes the model marks ``sensitive`` are left out of messages, as the services do.
Member paths are written as the services write them: ``humanTaskConfig.taskTitle``,
``tags.1.member.key``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from labelflow.local.java_regex import full_match

__all__ = ["RequestValidationError", "problems", "service_model", "validate_request"]


class RequestValidationError(Exception):
    """A request the service would refuse with ``ValidationException`` (its message)."""


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of ``service``, parsed once (a new session parses the JSON again)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def validate_request(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Check ``params`` against the input shape of ``service``'s ``operation``.

    Raises:
        RequestValidationError: with the service's "N validation errors detected: ..." text.
        UntranslatablePattern: a pattern of the model cannot be checked exactly.
    """
    found = problems(service, operation, params)
    if found:
        noun = "error" if len(found) == 1 else "errors"
        raise RequestValidationError(
            f"{len(found)} validation {noun} detected: " + "; ".join(found)
        )


def problems(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every constraint ``params`` break, one service-worded sentence each."""
    shape = service_model(service).operation_model(operation).input_shape
    found: list[str] = []
    if shape is not None:
        _check(shape, dict(params), "", found)
    return found


def _child(where: str, name: str) -> str:
    lowered = name[:1].lower() + name[1:]
    return f"{where}.{lowered}" if where else lowered


def _value(shape: Any, value: Any) -> str:
    """``Value '<value>' `` as services print it, or ``Value `` for a sensitive shape."""
    if shape.metadata.get("sensitive"):
        return "Value "
    return f"Value '{value}' "


def _fail(shape: Any, value: Any, where: str, constraint: str) -> str:
    return f"{_value(shape, value)}at '{where}' failed to satisfy constraint: {constraint}"


def _check(shape: Any, value: Any, where: str, found: list[str]) -> None:
    kind = shape.type_name
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(shape, value, where, found)


def _structure(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, Mapping):
        found.append(_fail(shape, value, where, "Member must be a structure"))
        return
    for name in shape.required_members:
        if value.get(name) is None:
            found.append(
                f"Value null at '{_child(where, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _check(member, value[name], _child(where, name), found)


def _list(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, list | tuple):
        found.append(_fail(shape, value, where, "Member must be a list"))
        return
    _size(shape, len(value), value, where, found)
    for index, item in enumerate(value):
        _check(shape.member, item, f"{where}.{index + 1}.member", found)


def _map(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, Mapping):
        found.append(_fail(shape, value, where, "Member must be a map"))
        return
    _size(shape, len(value), value, where, found)
    for key, item in value.items():
        _check(shape.key, key, f"{where}.{key}.key", found)
        _check(shape.value, item, f"{where}.{key}.value", found)


def _string(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, str):
        found.append(_fail(shape, value, where, "Member must be a string"))
        return
    meta = shape.metadata
    characters = len(value)
    units = len(value.encode("utf-16-le", "surrogatepass")) // 2
    if "min" in meta and characters < meta["min"]:
        found.append(
            _fail(
                shape,
                value,
                where,
                f"Member must have length greater than or equal to {meta['min']}",
            )
        )
    if "max" in meta and units > meta["max"]:
        found.append(
            _fail(
                shape, value, where, f"Member must have length less than or equal to {meta['max']}"
            )
        )
    if "pattern" in meta and not full_match(meta["pattern"], value):
        found.append(
            _fail(
                shape,
                value,
                where,
                f"Member must satisfy regular expression pattern: {meta['pattern']}",
            )
        )
    if shape.enum and value not in shape.enum:
        found.append(
            _fail(
                shape,
                value,
                where,
                "Member must satisfy enum value set: [" + ", ".join(shape.enum) + "]",
            )
        )


def _number(shape: Any, value: Any, where: str, found: list[str]) -> None:
    integral = shape.type_name in ("integer", "long")
    if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
        found.append(_fail(shape, value, where, "Member must be a number"))
        return
    meta = shape.metadata
    if "min" in meta and value < meta["min"]:
        found.append(
            _fail(
                shape,
                value,
                where,
                f"Member must have value greater than or equal to {meta['min']}",
            )
        )
    if "max" in meta and value > meta["max"]:
        found.append(
            _fail(
                shape, value, where, f"Member must have value less than or equal to {meta['max']}"
            )
        )


def _blob(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        if hasattr(value, "read"):
            return  # a stream: its length is the service's to check as it reads
        found.append(_fail(shape, "***", where, "Member must be a blob"))
        return
    _size(shape, len(value), "***", where, found)


def _boolean(shape: Any, value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, bool):
        found.append(_fail(shape, value, where, "Member must be a boolean"))


def _size(shape: Any, size: int, value: Any, where: str, found: list[str]) -> None:
    meta = shape.metadata
    if "min" in meta and size < meta["min"]:
        found.append(
            _fail(
                shape,
                value,
                where,
                f"Member must have length greater than or equal to {meta['min']}",
            )
        )
    if "max" in meta and size > meta["max"]:
        found.append(
            _fail(
                shape, value, where, f"Member must have length less than or equal to {meta['max']}"
            )
        )


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
    "blob": _blob,
    "boolean": _boolean,
}
