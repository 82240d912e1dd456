"""The import graph: function packages import libraries, never each other.

A *function package* is a folder of ``lambdas/`` with a ``handler.py``; everything else there
is a library (``consolidation``, ``gt_contracts``, ``job_contracts``, ...). The job's shared
vocabulary lives in libraries, so a function package is imported by nothing but its own
modules, the tests and the benchmarks, and what runs on a user's machine (``labelflow``), the
CDK app (``infra``, ``app.py``) and the worker UIs use libraries only.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LAMBDAS = ROOT / "lambdas"
PACKAGES = {path.name for path in LAMBDAS.iterdir() if (path / "__init__.py").is_file()}
FUNCTIONS = {name for name in PACKAGES if (LAMBDAS / name / "handler.py").is_file()}
LIBRARIES = PACKAGES - FUNCTIONS
#: Libraries that must stay standard-library only (plus the named libraries).
PURE = {"job_contracts": {"gt_contracts"}, "gt_contracts": set()}


def _imports(path: Path) -> Iterator[str]:
    """Top-level names of the modules ``path`` imports (relative imports excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layout_has_function_packages_and_libraries() -> None:
    assert {"post_annotation", "start_labeling_job", "publish_job"} <= FUNCTIONS
    assert {"consolidation", "gt_contracts", "job_contracts", "gt_consolidation"} <= LIBRARIES


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_lambda_package_imports_a_function_package_but_itself(package: str) -> None:
    found = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(LAMBDAS / package)
        for name in _imports(path)
        if name in FUNCTIONS and name != package
    }
    assert not found


# The benchmarks, like the tests, measure function packages' own code, so they may import it.
@pytest.mark.parametrize("folder", ["labelflow", "infra", "worker_ui"])
def test_no_user_side_module_imports_a_function_package(folder: str) -> None:
    paths = _modules(ROOT / folder) + ([ROOT / "app.py"] if folder == "infra" else [])
    found = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in _imports(path)
        if name in FUNCTIONS
    }
    assert not found


@pytest.mark.parametrize("library", sorted(PURE))
def test_contract_libraries_are_standard_library_only(library: str) -> None:
    allowed = PURE[library] | {library, "__future__"}
    found = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(LAMBDAS / library)
        for name in _imports(path)
        if name not in allowed and name not in sys.stdlib_module_names
    }
    assert not found


def test_the_command_line_does_not_reach_into_the_lambda_asset_root() -> None:
    """No ``sys.path`` edits or ``importlib`` in the command line outside the emulator.

    The local emulator (``labelflow/local``) runs function packages from the synthesized
    asset, by handler string, as Lambda does; nothing else on the user's side loads them.
    """
    found = {
        str(path.relative_to(ROOT))
        for path in _modules(ROOT / "labelflow")
        if "local" not in path.relative_to(ROOT / "labelflow").parts
        and any(needle in path.read_text(encoding="utf-8") for needle in ("sys.path", "importlib"))
    }
    assert not found


@pytest.mark.parametrize("package", ["consolidation", "gt_contracts", "job_contracts"])
def test_installed_libraries_are_not_function_packages(package: str) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'{package} = "lambdas/{package}"' in pyproject
    for function in FUNCTIONS:
        assert f'"lambdas/{function}"' not in pyproject
