"""Where a deployed function's code is imported from, and how functions share this process.

A function deployed into the local emulator carries its code as a zip (for LabelFlow, the
zipped ``cdk.out`` asset of ``lambdas/``). :func:`code_root_for_zip` turns that zip into a
folder to import from:

* when the zip holds exactly the files of the repository's ``lambdas/`` folder (ignoring
  ``__pycache__``, ``*.pyc`` and ``tests``, the files CDK excludes from the asset), the code
  root *is* ``lambdas/``. Handlers then run as the same module objects tests import, so
  exception classes, coverage and debugger breakpoints all line up;
* otherwise the zip is extracted once into a content-addressed cache folder
  (``<tmp>/labelflow-lambda-code/<sha256>``) and imported from there.

:func:`activated` makes one code root current for the duration of a call. Calls are
serialised by one process-wide lock, so the environment variables of one function never leak
into a concurrent call of another. A code root other than ``lambdas/`` gets its own module
namespace: while it is active, the modules it provides replace any same-named modules in
``sys.modules`` (and are put back afterwards), so two versions of ``gt_contracts`` never mix.

Each function has its own execution environment in AWS, so module-level caches (settings
parsed from the environment, boto3 clients bound to an endpoint) must not carry over from
one function to another. When a code root runs a different *tenant* (function ARN,
environment and endpoint) than last time, the ``functools`` caches of its modules are cleared:
the next call starts the way a cold start would.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

__all__ = [
    "ASSET_ROOT",
    "CACHE_ROOT",
    "INVOCATION_LOCK",
    "activated",
    "code_root_for_zip",
    "tree_digest",
]

ASSET_ROOT = Path(__file__).resolve().parents[2] / "lambdas"
CACHE_ROOT = Path(tempfile.gettempdir()) / "labelflow-lambda-code"
#: Held for the whole of every in-process Lambda invocation.
INVOCATION_LOCK = threading.RLock()

_EXCLUDED_DIRS = frozenset({"__pycache__", "tests"})
_roots_by_zip: dict[str, Path] = {}
_repo_digest: str | None = None
_isolated_modules: dict[Path, dict[str, ModuleType]] = {}
_last_tenant: dict[Path, Hashable] = {}
_names_by_root: dict[Path, tuple[int, frozenset[str]]] = {}


def cold_start_all() -> None:
    """Make every function's next call a cold start (its code's module caches cleared).

    A new emulator starts empty: nothing a function cached for an earlier one (clients,
    settings, secrets) may carry over, even where ports and names happen to repeat.
    """
    with INVOCATION_LOCK:
        _last_tenant.clear()


def _included(relative: str) -> bool:
    parts = relative.split("/")
    return not relative.endswith(".pyc") and not any(p in _EXCLUDED_DIRS for p in parts[:-1])


def tree_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """A digest of ``(relative path, content)`` pairs, independent of their order."""
    digest = hashlib.sha256()
    for name, content in sorted(files):
        if _included(name):
            digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def _folder_files(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path.read_bytes()


def _zip_files(archive: zipfile.ZipFile) -> Iterator[tuple[str, bytes]]:
    for info in archive.infolist():
        if not info.is_dir():
            yield info.filename, archive.read(info)


def _repository_digest() -> str:
    global _repo_digest  # noqa: PLW0603 - computed once per process
    if _repo_digest is None:
        _repo_digest = tree_digest(_folder_files(ASSET_ROOT))
    return _repo_digest


def code_root_for_zip(zip_bytes: bytes) -> Path:
    """The folder to import a function's code from (see the module docstring).

    Raises:
        ValueError: ``zip_bytes`` is empty or not a zip archive.
    """
    if not zip_bytes:
        raise ValueError("the function has no zip code (image functions are not supported)")
    key = hashlib.sha256(zip_bytes).hexdigest()
    with INVOCATION_LOCK:
        if key in _roots_by_zip:
            return _roots_by_zip[key]
        try:
            archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
        except zipfile.BadZipFile as exc:
            raise ValueError(f"the function's code is not a zip archive: {exc}") from None
        with archive:
            if ASSET_ROOT.is_dir() and tree_digest(_zip_files(archive)) == _repository_digest():
                root = ASSET_ROOT
            else:
                root = CACHE_ROOT / key
                if not root.is_dir():
                    staging = Path(tempfile.mkdtemp(prefix=f"{key[:12]}-", dir=_cache_root()))
                    archive.extractall(staging)
                    try:
                        staging.rename(root)
                    except OSError:  # another process extracted the same zip first
                        shutil.rmtree(staging, ignore_errors=True)
        _roots_by_zip[key] = root
        importlib.invalidate_caches()
        return root


def _cache_root() -> Path:
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    return CACHE_ROOT


def _top_level_names(root: Path) -> frozenset[str]:
    """The packages and modules ``root`` provides; listed again only when ``root`` changes.

    Every invocation asks, so the answer is kept per folder and modification time instead
    of listing the folder (and ``stat``-ing each entry) per call.
    """
    stamp = root.stat().st_mtime_ns
    known = _names_by_root.get(root)
    if known is not None and known[0] == stamp:
        return known[1]
    names = _list_top_level_names(root)
    _names_by_root[root] = (stamp, names)
    return names


def _list_top_level_names(root: Path) -> frozenset[str]:
    names = set()
    for child in root.iterdir():
        if child.is_dir() and (child / "__init__.py").is_file():
            names.add(child.name)
        elif child.suffix == ".py":
            names.add(child.stem)
    return frozenset(names)


def _owned(names: frozenset[str]) -> list[str]:
    return [name for name in sys.modules if name.partition(".")[0] in names]


def _clear_module_caches(module_names: Iterable[str]) -> None:
    """Clear the ``functools.cache``/``lru_cache`` functions these modules hold.

    A cache counts when the function it wraps was defined in one of these modules, in any
    of them: a cached loader made by a factory of a shared module (``get_settings =
    settings_loader(Settings)``) lives in the function's module but was defined in the
    factory's. Caches of code outside the folder (botocore's, say) are left alone.
    """
    names = frozenset(module_names)
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) in names:
                clear()


@contextmanager
def activated(root: Path, tenant: Hashable) -> Iterator[None]:
    """Make ``root`` importable (first on ``sys.path``) for one call by ``tenant``."""
    with INVOCATION_LOCK:
        names = _top_level_names(root)
        isolated = root != ASSET_ROOT
        saved: dict[str, ModuleType] = {}
        if isolated:
            for name in _owned(names):
                saved[name] = sys.modules.pop(name)
            sys.modules.update(_isolated_modules.get(root, {}))
        entry = str(root)
        added = entry not in sys.path
        if added:
            sys.path.insert(0, entry)
        elif isolated:
            sys.path.remove(entry)
            sys.path.insert(0, entry)
        try:
            if _last_tenant.get(root) != tenant:
                _clear_module_caches(_owned(names))
                _last_tenant[root] = tenant
            yield
        finally:
            if isolated:
                _isolated_modules[root] = {name: sys.modules.pop(name) for name in _owned(names)}
                sys.modules.update(saved)
                if entry in sys.path:
                    sys.path.remove(entry)
            # lambdas/ stays importable afterwards, as it always has for lambda_runtime.
