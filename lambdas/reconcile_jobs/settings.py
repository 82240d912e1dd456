"""Settings of the reconciliation sweep, read once from the environment.

============ ==========================================================
variable     meaning
============ ==========================================================
TOKENS_TABLE DynamoDB table of ``jobName`` -> task token
============ ==========================================================

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler_support.settings import EnvSettings, SettingsError, setting, settings_loader

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    tokens_table: str = setting("TOKENS_TABLE")


get_settings = settings_loader(Settings)
