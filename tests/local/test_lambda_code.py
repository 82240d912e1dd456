"""In-process functions start cold when another function runs the same code."""

from __future__ import annotations

from pathlib import Path

from labelflow.local.lambda_runtime import invoke

_FACTORY = """
import functools
import os


def loader():
    @functools.cache
    def get_settings():
        return os.environ["RESULTS_BUCKET"]

    return get_settings
"""

_HANDLER = """
from shared_settings.factory import loader

get_settings = loader()


def lambda_handler(event, context):
    return get_settings()
"""


def _code_root(tmp_path: Path) -> Path:
    for package, module, text in (
        ("shared_settings", "factory.py", _FACTORY),
        ("bucket_reader", "handler.py", _HANDLER),
    ):
        folder = tmp_path / package
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        (folder / module).write_text(text)
    return tmp_path


def test_a_cache_made_by_a_shared_factory_is_cleared_for_another_function(
    tmp_path: Path,
) -> None:
    root = _code_root(tmp_path)

    def run(function: str, bucket: str) -> str:
        result: str = invoke(
            "bucket_reader.handler.lambda_handler",
            {},
            environment={"RESULTS_BUCKET": bucket},
            code_root=root,
            tenant=function,
        )
        return result

    first = run("function-a", "bucket-a")
    warm = run("function-a", "bucket-changed-while-warm")
    other = run("function-b", "bucket-b")

    assert (first, warm, other) == ("bucket-a", "bucket-a", "bucket-b")
