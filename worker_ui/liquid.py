"""Rendering worker templates offline, as Ground Truth and A2I render them.

Ground Truth's Liquid autoescapes every output and adds four filters; this module provides
them for tests and ``labelflow preview``:

- ``escape``: HTML escaping that marks its result safe, so autoescape does not escape twice;
- ``skip_autoescape``: outputs the value unescaped (never used on project or item text);
- ``to_json``: the value as JSON (escape it again inside attributes: ``| to_json | escape``);
- ``grant_read_access``: Ground Truth turns an ``s3://`` URI into a short-lived presigned
  URL; offline, ``s3://bucket/key`` becomes ``https://bucket.s3.amazonaws.com/key`` (or what
  ``presign`` returns) and other URLs pass through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from liquid import Environment, StrictUndefined
from markupsafe import Markup, escape

__all__ = ["render_template", "template_variables", "unsigned_url"]


def unsigned_url(uri: str) -> str:
    """``s3://bucket/key`` as a virtual-hosted HTTPS URL; any other string unchanged.

    Example:
        >>> unsigned_url("s3://pics/cats/1.jpg")
        'https://pics.s3.amazonaws.com/cats/1.jpg'
    """
    if not uri.startswith("s3://"):
        return uri
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def _environment(presign: Callable[[str], str]) -> Environment:
    env = Environment(autoescape=True, undefined=StrictUndefined)
    env.filters["escape"] = lambda value: escape(_text(value))
    env.filters["skip_autoescape"] = lambda value: Markup(_text(value))
    env.filters["to_json"] = lambda value: json.dumps(_plain(value))
    env.filters["grant_read_access"] = lambda value: presign(_text(value))
    return env


def render_template(
    template: str,
    task_input: Mapping[str, Any],
    *,
    presign: Callable[[str], str] = unsigned_url,
) -> str:
    """Render a worker template for one ``taskInput`` object, as ``task.input``.

    Variables the task input does not hold raise ``liquid.exceptions.UndefinedError``.
    """
    env = _environment(presign)
    return env.from_string(template).render(task={"input": dict(task_input)})


def template_variables(template: str) -> frozenset[str]:
    """The ``task.input`` keys a template reads (top-level keys only).

    Raises:
        ValueError: the template reads a variable outside ``task.input``.
    """
    env = _environment(unsigned_url)
    keys = set()
    for path in env.from_string(template).global_variable_segments():
        if len(path) < 3 or path[:2] != ["task", "input"]:
            dotted = ".".join(str(part) for part in path)
            raise ValueError(f"the template reads {dotted!r}, which is not in task.input")
        keys.add(str(path[2]))
    return frozenset(keys)


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _plain(value: object) -> object:
    """Liquid hands filters plain Python values; drop markup wrappers before JSON."""
    if isinstance(value, Markup):
        return str(value)
    return value
