"""LocalLabelStudio: a throwaway Label Studio server on 127.0.0.1, for the demo and the tests.

    with LocalLabelStudio() as studio:
        admin = studio.client()                    # LabelStudioClient with the admin's token
        workers = studio.create_annotators(3)      # three accounts, each with its own token
        project = admin.create_project("Reviews", config, maximum_annotations=3)
        studio.client(workers[0]).next_task(project.id)

Label Studio is the ``label-studio`` package installed by ``make`` into its own virtual
environment (``.ls-venv``: its Django and other pins must not constrain LabelFlow's); set
``LABELFLOW_LABEL_STUDIO`` to the ``label-studio`` command of another installation.

Starting it:

1. makes a temporary directory with the data directory (SQLite database, media) and a
   home directory, so nothing is written to the user's own;
2. copies in an *initialised* data directory: a database with every migration applied. The
   first start of an installation builds it with ``label-studio init --quiet`` (migrations
   take 45 s of CPU, one to two minutes of wall time on a busy machine) and keeps it beside
   the installation (``<venv>/labelflow-seed-data``); later starts copy it and are ready in
   seconds. A file lock lets parallel test workers share one build;
3. runs ``label-studio start`` on 127.0.0.1 with a free port, in its own process group, with
   an environment built from scratch (Label Studio reads ``USERNAME``, ``HOST``, ``PORT``
   and others with and without its ``LABEL_STUDIO_`` prefix, so nothing is inherited
   but ``PATH`` and the locale): the admin account from ``LABEL_STUDIO_USERNAME`` /
   ``LABEL_STUDIO_PASSWORD`` with the API token ``LABEL_STUDIO_USER_TOKEN``, legacy API
   tokens allowed (``--enable-legacy-api-token``; ``Authorization: Token ...`` is what the
   client sends), sign-up only through the organization's invite link, and no outbound
   calls (``COLLECT_ANALYTICS``, ``LATEST_VERSION_CHECK`` and
   ``CONVERTER_DOWNLOAD_RESOURCES`` off, feature flags offline, and ``SENTRY_DSN`` and
   ``FRONTEND_SENTRY_DSN`` empty: Label Studio defaults both to its vendor's Sentry), webhooks
   to 127.0.0.1 allowed (``SSRF_PROTECTION_ENABLED=false``: the receivers are local too);
4. writes the server's output to a log file and waits until ``/health/`` answers.

Annotators. In Label Studio's community edition an admin cannot read another user's API token
(``/api/current-user/token`` answers for the caller only); its supported way in is the invite
link. :meth:`LocalLabelStudio.create_annotator`
therefore does what a person does: opens ``/user/signup/?token=<invite token>`` (the token from
``GET /api/invite``), posts the sign-up form with the CSRF cookie, and, logged in by that
session, reads the new user's API token from ``/api/current-user/token``. Each simulated
worker gets an account of its own, so Label Studio's task stream keeps "no worker sees the
same task twice" per worker.

Stopping it sends SIGTERM to the whole process group (SIGKILL after a grace period) and
deletes the temporary directory, unless ``keep_data`` is set.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.cookiejar
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from label_studio_api import LabelStudioClient

__all__ = [
    "Account",
    "LabelStudioStartError",
    "LocalLabelStudio",
    "find_label_studio",
]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where ``make`` installs Label Studio, relative to the repository.
LS_VENV = REPO_ROOT / ".ls-venv"
EXECUTABLE_VARIABLE = "LABELFLOW_LABEL_STUDIO"
SEED_DIR_NAME = "labelflow-seed-data"
ADMIN_EMAIL = "admin@labelflow.local"
_LOG_TAIL_LINES = 40
_STOP_GRACE_SECONDS = 10.0
# What the server keeps of the caller's environment; everything else is set explicitly.
_INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


class LabelStudioStartError(RuntimeError):
    """Label Studio is not installed, would not start, or would not create an account."""


@dataclass(frozen=True, slots=True)
class Account:
    """A Label Studio user this process created; password and token stay out of ``repr``."""

    user_id: int
    email: str
    password: str = field(repr=False)
    token: str = field(repr=False)


def find_label_studio() -> Path:
    """The ``label-studio`` command: ``$LABELFLOW_LABEL_STUDIO``, else ``.ls-venv``'s."""
    configured = os.environ.get(EXECUTABLE_VARIABLE)
    path = Path(configured) if configured else LS_VENV / "bin" / "label-studio"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise LabelStudioStartError(
            f"Label Studio is not installed at {path}: run `make .ls-venv/.installed` "
            f"or set {EXECUTABLE_VARIABLE} to a `label-studio` command"
        )
    return path


class LocalLabelStudio:
    """A local Label Studio server; a context manager (see the module docstring).

    Args:
        executable: The ``label-studio`` command (default: :func:`find_label_studio`).
        seed_dir: Where the initialised data directory is kept
            (default: ``<venv of executable>/labelflow-seed-data``).
        log_path: The server's log file (default: in the temporary directory).
        startup_timeout: Seconds to wait for ``/health/``, migrations included.
        keep_data: Leave the temporary directory in place on stop.
    """

    def __init__(
        self,
        *,
        executable: Path | None = None,
        seed_dir: Path | None = None,
        log_path: Path | None = None,
        startup_timeout: float = 600.0,
        keep_data: bool = False,
    ) -> None:
        self._executable = executable
        self._seed_dir = seed_dir
        self._log_path = log_path
        self.startup_timeout = startup_timeout
        self.keep_data = keep_data
        self.url = ""
        self.port = 0
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self.admin: Account | None = None
        #: Seconds spent building the initialised data directory (0 when it was cached).
        self.seed_seconds = 0.0
        #: Seconds from starting the server to its first healthy answer.
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._annotators = 0

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> LocalLabelStudio:
        """Start the server (see the module docstring); raise ``LabelStudioStartError``."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        executable = self._executable or find_label_studio()
        seed = self._seed_dir or executable.absolute().parents[1] / SEED_DIR_NAME
        self.workdir = Path(tempfile.mkdtemp(prefix="labelflow-label-studio-"))
        self.log_path = self._log_path or self.workdir / "label-studio.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.seed_seconds = _ensure_seed(executable, seed, self.log_path)
        data_dir = self.workdir / "data"
        shutil.copytree(seed, data_dir)

        password = secrets.token_urlsafe(16)
        token = secrets.token_hex(20)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **_base_environment(self.workdir, data_dir),
            "LABEL_STUDIO_USERNAME": ADMIN_EMAIL,
            "LABEL_STUDIO_PASSWORD": password,
            "LABEL_STUDIO_USER_TOKEN": token,
        }
        command = [
            str(executable),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--enable-legacy-api-token",
        ]
        self._log = self.log_path.open("ab")
        began = time.monotonic()
        self._process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_healthy(began)
        self.startup_seconds = time.monotonic() - began
        self._log.write(f"== labelflow: healthy after {self.startup_seconds:.1f} s ==\n".encode())
        self._log.flush()
        admin = LabelStudioClient(self.url, token).whoami()
        self.admin = Account(user_id=admin.id, email=admin.email, password=password, token=token)
        logger.info(
            "Label Studio ready at %s in %.1f s (initialised data built in %.1f s)",
            self.url,
            self.startup_seconds,
            self.seed_seconds,
        )

    def _wait_healthy(self, began: float) -> None:
        assert self._process is not None
        deadline = began + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise LabelStudioStartError(
                    f"Label Studio exited with status {code} while starting; "
                    f"the end of its log ({self.log_path}):\n{self.log_tail()}"
                )
            if _healthy(self.url):
                return
            if time.monotonic() > deadline:
                raise LabelStudioStartError(
                    f"Label Studio did not answer {self.url}/health/ within "
                    f"{self.startup_timeout:.0f} s; the end of its log ({self.log_path}):\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server's whole process group and remove its data; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            _stop_group(process)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.workdir is not None and not self.keep_data:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.url = ""

    @property
    def pid(self) -> int | None:
        """The server's process id, which is also its process group's id."""
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalLabelStudio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server's log."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # ------------------------------------------------------------------------------- users

    def client(self, account: Account | None = None, **options: Any) -> LabelStudioClient:
        """An API client acting as ``account`` (the admin by default)."""
        user = account or self._admin()
        return LabelStudioClient(self._base_url(), user.token, **options)

    def create_annotator(self, email: str, password: str | None = None) -> Account:
        """Sign a new user up through the organization's invite link; return the account."""
        base = self._base_url()
        password = password or secrets.token_urlsafe(16)
        invite_token = self.client().invite_token()

        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        signup = f"{base}/user/signup/?{urllib.parse.urlencode({'token': invite_token})}"
        with browser.open(signup, timeout=30) as page:
            page.read()
        csrf = next((cookie.value for cookie in jar if cookie.name == "csrftoken"), None)
        if not csrf:
            raise LabelStudioStartError("Label Studio's sign-up page set no CSRF cookie")
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "email": email, "password": password}
        ).encode()
        request = urllib.request.Request(
            signup, data=form, headers={"Referer": signup}, method="POST"
        )
        with browser.open(request, timeout=30) as page:
            page.read()
        try:
            with browser.open(f"{base}/api/current-user/token", timeout=30) as answer:
                body = json.loads(answer.read())
        except (urllib.error.HTTPError, ValueError) as error:
            raise LabelStudioStartError(
                f"signing {email} up did not log them in ({error}); Label Studio refused the "
                "form (an email already taken, or a password its validators reject)"
            ) from None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise LabelStudioStartError(f"no API token for {email} after signing up")
        user = LabelStudioClient(base, token).whoami()
        if user.email != email.lower():
            raise LabelStudioStartError(f"signed up {email} but the token is {user.email}'s")
        return Account(user_id=user.id, email=user.email, password=password, token=token)

    def create_annotators(self, count: int, prefix: str = "annotator") -> list[Account]:
        """``count`` new accounts named ``<prefix>-<n>@labelflow.local``, n unique here."""
        accounts = []
        for _ in range(count):
            self._annotators += 1
            accounts.append(self.create_annotator(f"{prefix}-{self._annotators}@labelflow.local"))
        return accounts

    def _admin(self) -> Account:
        if self.admin is None:
            raise RuntimeError("LocalLabelStudio is not running")
        return self.admin

    def _base_url(self) -> str:
        if not self.url:
            raise RuntimeError("LocalLabelStudio is not running")
        return self.url


# ------------------------------------------------------------------------------- helpers


def _base_environment(workdir: Path, data_dir: Path) -> dict[str, str]:
    """The server's whole environment but for the admin account (see the module docstring)."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    inherited = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    return {
        **inherited,
        "HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "COLLECT_ANALYTICS": "false",
        "LATEST_VERSION_CHECK": "false",
        "CONVERTER_DOWNLOAD_RESOURCES": "false",
        "FEATURE_FLAGS_OFFLINE": "true",
        # Label Studio's settings default both to HumanSignal's Sentry projects.
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        # The local webhook receivers listen on 127.0.0.1, which Label Studio's SSRF guard
        # refuses by default; this server is itself only reachable from this machine.
        "SSRF_PROTECTION_ENABLED": "false",
        # Label Studio waits 1 s for a webhook receiver by default; a receiver that finishes
        # a job (consolidation, output files) on the call takes longer.
        "WEBHOOK_TIMEOUT": "30",
        "LOG_LEVEL": "INFO",
    }


def _ensure_seed(executable: Path, seed: Path, log_path: Path) -> float:
    """Build the initialised data directory at ``seed`` unless it exists; return the seconds
    spent building it. Built aside and renamed into place, under a file lock."""
    if (seed / "label_studio.sqlite3").exists():
        return 0.0
    seed.parent.mkdir(parents=True, exist_ok=True)
    with _locked(seed.parent / f".{seed.name}.lock"):
        if (seed / "label_studio.sqlite3").exists():
            return 0.0
        began = time.monotonic()
        building = Path(tempfile.mkdtemp(prefix=f".{seed.name}-", dir=seed.parent))
        try:
            data_dir = building / "data"
            with log_path.open("ab") as log:
                log.write(b"== labelflow: applying Label Studio's migrations once ==\n")
                log.flush()
                result = subprocess.run(
                    [str(executable), "init", "--quiet"],
                    cwd=building,
                    env=_base_environment(building, data_dir),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    check=False,
                    start_new_session=True,
                )
            if result.returncode != 0 or not (data_dir / "label_studio.sqlite3").exists():
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
                raise LabelStudioStartError(
                    f"`label-studio init` failed with status {result.returncode}; "
                    f"the end of its log ({log_path}):\n{tail}"
                )
            (data_dir / ".env").unlink(missing_ok=True)
            data_dir.rename(seed)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return time.monotonic() - began


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/", timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after the grace period, reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Whatever the leader started and left behind in its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
