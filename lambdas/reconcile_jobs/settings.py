"""Settings of the reconciliation sweep: the same as the job-events function's.

The sweep reads the one variable the job-events function reads, ``TOKENS_TABLE`` (the
DynamoDB table of ``jobName`` -> task token), so it shares that function's settings rather
than repeating them.
"""

from __future__ import annotations

from job_events.settings import Settings, SettingsError, get_settings

__all__ = ["Settings", "SettingsError", "get_settings"]
