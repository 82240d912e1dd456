"""The isolated crowd-kit environment the consolidation benchmark compares against.

``benchmarks/.peer-venv`` is a plain ``venv`` holding exactly the pins of
``peer-requirements.txt`` (crowd-kit 1.4.2 and all its dependencies), installed with
``pip install --no-deps -r`` and checked with ``pip check``. It is built from the same base
interpreter as the running Python, so both sides run the same CPython version.

A stamp file records a hash of the requirements and the interpreter version; an existing
environment whose stamp matches is reused, anything else is rebuilt from scratch.

Run ``python -m benchmarks.consolidation.peer_env`` to build or check it on its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
PEER_DIR = BENCHMARKS / ".peer-venv"
REQUIREMENTS = HERE / "peer-requirements.txt"
STAMP_NAME = "labelflow-peer-stamp.txt"


def _log(message: str) -> None:
    print(f"[peer-env] {message}", file=sys.stderr, flush=True)


def base_interpreter() -> str:
    """The interpreter the running venv was made from (or the running one, outside a venv)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def peer_python(peer_dir: Path = PEER_DIR) -> Path:
    return peer_dir / "bin" / "python"


def expected_stamp(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    version = subprocess.run(
        [base_interpreter(), "-c", "import sys; print(sys.version.split()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"requirements-sha256={digest}\npython={version}\n"


def is_current(peer_dir: Path = PEER_DIR, requirements: Path = REQUIREMENTS) -> bool:
    stamp = peer_dir / STAMP_NAME
    python = peer_python(peer_dir)
    if not (stamp.is_file() and python.exists()):
        return False
    if stamp.read_text() != expected_stamp(requirements):
        return False
    probe = subprocess.run(
        [str(python), "-c", "import crowdkit.aggregation, pandas, sklearn"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def ensure_peer_env(
    peer_dir: Path = PEER_DIR, requirements: Path = REQUIREMENTS, *, rebuild: bool = False
) -> Path:
    """Build the peer environment unless a matching one exists; return its Python."""
    if not rebuild and is_current(peer_dir, requirements):
        _log(f"reusing {peer_dir.name} (pins match)")
        return peer_python(peer_dir)
    if peer_dir.exists():
        _log(f"removing stale {peer_dir.name}")
        shutil.rmtree(peer_dir)
    _log(f"creating {peer_dir.name} with {base_interpreter()} -m venv")
    subprocess.run([base_interpreter(), "-m", "venv", str(peer_dir)], check=True)
    python = str(peer_python(peer_dir))
    _log(f"installing {requirements.name} (a few minutes the first time)")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(requirements)],
        check=True,
    )
    subprocess.run([python, "-m", "pip", "check"], check=True, stdout=subprocess.DEVNULL)
    (peer_dir / STAMP_NAME).write_text(expected_stamp(requirements))
    _log("peer environment ready")
    return peer_python(peer_dir)


def peer_versions(python: Path) -> dict[str, str]:
    """Versions of the interpreter and the packages that matter, as the peer sees them."""
    code = (
        "import json, sys\n"
        "from importlib.metadata import version\n"
        "names = ['crowd-kit', 'pandas', 'numpy', 'scipy', 'scikit-learn']\n"
        "out = {n: version(n) for n in names}\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if it matches")
    args = parser.parse_args(argv)
    python = ensure_peer_env(rebuild=args.rebuild)
    print(python)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
