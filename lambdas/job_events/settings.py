"""Settings of the job-events function, read once from the environment.

============ ==========================================================
variable     meaning
============ ==========================================================
TOKENS_TABLE DynamoDB table of ``jobName`` -> task token
============ ==========================================================

Each field is named after its variable (lower-cased) and records the variable in its
``metadata["env"]``. A missing or invalid variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    tokens_table: str = field(metadata={"env": "TOKENS_TABLE"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: ``TOKENS_TABLE`` missing or empty.
        """
        table = environ.get("TOKENS_TABLE", "").strip()
        if not table:
            raise SettingsError("TOKENS_TABLE is missing or empty")
        return cls(tokens_table=table)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
