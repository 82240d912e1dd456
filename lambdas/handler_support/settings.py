"""One parser for every function's settings: typed fields, read once from the environment.

A function's ``settings.py`` declares a frozen dataclass whose fields name their variables::

    @dataclass(frozen=True, kw_only=True)
    class Settings(EnvSettings):
        results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
        max_objects: int = setting("MAX_OBJECTS", whole_number(1, 100_000), default=100_000)

    get_settings = settings_loader(Settings)

``Settings.from_env(environ)`` reads each field's variable (``metadata["env"]``), strips it and
converts it with the field's parser. A variable that is missing or blank takes the field's
default, or raises :class:`SettingsError` ("RESULTS_BUCKET is missing or empty") when the field
has none; a parser's ``ValueError`` becomes ``SettingsError`` with the variable's name in front
("RESULTS_BUCKET must be a bucket name, got 's3://x'"). ``get_settings()`` parses
``os.environ`` once per execution environment; ``get_settings.cache_clear()`` forgets it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

from gt_contracts import ContractError, ProjectConfig, parse_projects

__all__ = [
    "EnvSettings",
    "SettingsError",
    "arn",
    "bucket_name",
    "http_url",
    "projects",
    "setting",
    "settings_loader",
    "text",
    "whole_number",
]

_S = TypeVar("_S", bound="EnvSettings")
_T = TypeVar("_T")


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


def text(value: str) -> str:
    """Any non-empty text (the default parser)."""
    return value


def arn(value: str) -> str:
    """An ARN (``arn:...``)."""
    if not value.startswith("arn:"):
        raise ValueError(f"must be an ARN, got {value!r}")
    return value


def bucket_name(value: str) -> str:
    """An S3 bucket name (not an ``s3://`` URI, no ``/``)."""
    if "/" in value or value.startswith("s3:"):
        raise ValueError(f"must be a bucket name, got {value!r}")
    return value


def http_url(value: str) -> str:
    """An ``http://`` or ``https://`` address with a host."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ValueError("must be an http(s) address")
    return value


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A parser of whole numbers from ``minimum`` to ``maximum`` (no upper bound: ``None``)."""
    if maximum is None:
        wanted = "a positive integer" if minimum == 1 else f"a whole number of at least {minimum}"
    else:
        wanted = f"a whole number from {minimum} to {maximum}"

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            raise ValueError(f"must be {wanted}, got {value!r}")
        return number

    return parse


def projects(value: str) -> Mapping[str, ProjectConfig]:
    """The ``LABELFLOW_PROJECTS`` object (see :mod:`gt_contracts.projects`)."""
    try:
        return parse_projects(value)
    except ContractError as exc:
        raise SettingsError(str(exc)) from None


_NO_DEFAULT: Any = dataclasses.MISSING


def setting(env: str, parse: Callable[[str], Any] = text, *, default: Any = _NO_DEFAULT) -> Any:
    """A settings field read from the variable ``env`` and converted by ``parse``.

    Args:
        env: the environment variable (UPPER_SNAKE).
        parse: turns the stripped, non-empty text into the field's value; raises
            ``ValueError`` with a message that reads after the variable's name, or
            :class:`SettingsError` with a whole message of its own.
        default: the value when the variable is missing or blank; without one, the variable
            is required.
    """
    return dataclasses.field(default=default, metadata={"env": env, "parse": parse})


class EnvSettings:
    """Base of every function's settings dataclass (see the module docstring)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """Parse the settings from ``environ``.

        Raises:
            SettingsError: a variable missing or empty (without a default) or invalid.
        """
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
            name = spec.metadata["env"]
            raw = environ.get(name, "").strip()
            if not raw:
                if spec.default is dataclasses.MISSING:
                    raise SettingsError(f"{name} is missing or empty")
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except SettingsError:
                raise
            except ValueError as exc:
                raise SettingsError(f"{name} {exc}") from None
        return cls(**values)


def settings_loader(cls: type[_S]) -> functools._lru_cache_wrapper[_S]:
    """``get_settings()``: ``cls`` parsed from ``os.environ`` on first use, then cached."""

    @functools.cache
    def get_settings() -> _S:
        return cls.from_env(os.environ)

    return get_settings
