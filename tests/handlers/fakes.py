"""Fake AWS clients for handlers that get theirs from ``handler_support.client``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

import handler_support


def fake_clients(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType, **fakes: Any) -> None:
    """Make ``client(service)`` in each of ``modules`` return ``fakes[service]``.

    Other services get the shared client (a moto one inside ``mock_aws``), with the options
    the handler asked for.
    """

    def client(service: str, **options: Any) -> Any:
        return fakes[service] if service in fakes else handler_support.client(service, **options)

    for module in modules:
        monkeypatch.setattr(module, "client", client)
