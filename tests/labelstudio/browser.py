"""Label Studio's labeling page in headless Debian chromium, driven by Playwright.

    with chromium() as browser:
        shot = screenshot_config(server, label_config, {"text": "..."}, path, browser=browser)
        assert not shot.problems

:func:`screenshot_config` takes a labeling config and one task's data from anywhere (a list
in a test today, the generated task-type catalog later): it creates a project with that
config, imports the task, opens the task's labeling page logged in as a user, waits until
Label Studio's editor is ready, records every page error, console error and request that
would leave the machine, and saves a screenshot. :func:`open_labeling` is the same page
left open, for tests that go on to label and submit.

The browser is ``/usr/bin/chromium`` (Debian's package, which ``make`` installs), with the
flags this machine's closed network needs; Playwright never downloads a browser of its own.
Every request to a host other than the server is aborted and reported, so a config that
pulls an outside script, font or image fails the check instead of hanging.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, Route, ViewportSize, sync_playwright

from labelflow.local.label_studio import Account, LocalLabelStudio

__all__ = [
    "CHROMIUM",
    "ConfigShot",
    "PageProblems",
    "chromium",
    "click_choice",
    "open_labeling",
    "screenshot_config",
]

CHROMIUM = Path("/usr/bin/chromium")
#: Without the networking flags chromium's own background connections fail, many at a time.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SUBMIT = '[data-testid="bottombar-submit-button"]'
_READY_TIMEOUT_MS = 60_000


@dataclass
class PageProblems:
    """What went wrong on a page: empty lists when nothing did."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    outbound_requests: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.page_errors or self.console_errors or self.outbound_requests)


@dataclass(frozen=True)
class ConfigShot:
    """A screenshot of one labeling config and what the page reported while rendering it."""

    project_id: int
    task_id: int
    path: Path
    problems: PageProblems


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium; a fresh profile per launch (Playwright's temporary one)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make {CHROMIUM}` (Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_labeling(
    browser: Browser,
    server: LocalLabelStudio,
    project_id: int,
    task_id: int,
    *,
    account: Account | None = None,
) -> Iterator[tuple[Page, PageProblems]]:
    """The labeling page of one task, logged in as ``account`` (the admin by default),
    ready to use; problems are recorded from the moment the labeling page is requested
    (the login happens on a page of its own, whose console is not watched)."""
    user = account or server.admin
    if user is None:
        raise RuntimeError("the Label Studio server is not running")
    origin = server.url
    problems = PageProblems()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.route("**/*", _local_only(origin, problems))
        # Log in on a page of its own: the login page's own console noise stays there.
        login = context.new_page()
        _log_in(login, origin, user)
        login.close()

        page = context.new_page()
        page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
        page.on("console", _console_recorder(problems))
        query = urllib.parse.urlencode({"task": task_id})
        page.goto(f"{origin}/projects/{project_id}/data?{query}")
        page.locator(SUBMIT).wait_for(state="visible", timeout=_READY_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        yield page, problems
    finally:
        context.close()


def screenshot_config(
    server: LocalLabelStudio,
    label_config: str,
    task_data: Mapping[str, Any],
    path: Path,
    *,
    browser: Browser | None = None,
    account: Account | None = None,
    title: str = "Config preview",
) -> ConfigShot:
    """Render ``label_config`` with one task of ``task_data`` and save a screenshot at
    ``path``; return what the page reported. A new project is created for each call."""
    admin = server.client()
    project = admin.create_project(title, label_config)
    (task_id,) = admin.import_tasks(project.id, [dict(task_data)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        live = browser or stack.enter_context(chromium())
        page, problems = stack.enter_context(
            open_labeling(live, server, project.id, task_id, account=account)
        )
        _wait_for_images(page)
        page.screenshot(path=str(path), full_page=True)
    return ConfigShot(project_id=project.id, task_id=task_id, path=path, problems=problems)


def click_choice(page: Page, value: str) -> None:
    """Tick the ``<Choice value=...>`` of a Choices tag (its checkbox is named by the value)."""
    page.locator(f'label.lsf-choice__checkbox:has(input[name="{value}"])').click()
    page.locator(f'input[name="{value}"]').wait_for(state="attached")
    if not page.locator(f'input[name="{value}"]').is_checked():
        raise AssertionError(f"clicking the choice {value!r} did not tick it")


# ------------------------------------------------------------------------------- helpers


def _log_in(page: Page, origin: str, user: Account) -> None:
    page.goto(f"{origin}/user/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", user.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if urllib.parse.urlsplit(page.url).path.startswith("/user/login"):
        raise RuntimeError(f"logging in as {user.email} failed: still on {page.url}")


def _local_only(origin: str, problems: PageProblems) -> Any:
    local = urllib.parse.urlsplit(origin).netloc

    def handle(route: Route) -> None:
        url = route.request.url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in {"data", "blob"} or parts.netloc == local:
            route.continue_()
        else:
            problems.outbound_requests.append(url)
            route.abort("blockedbyclient")

    return handle


def _console_recorder(problems: PageProblems) -> Any:
    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            problems.console_errors.append(f"{message.text} ({where})")

    return record


def _wait_for_images(page: Page) -> None:
    """Every <img> with a source has loaded (a broken one stays 0 wide and fails here)."""
    page.wait_for_function(
        """() => [...document.images]
            .filter(img => img.getAttribute("src"))
            .every(img => img.complete && img.naturalWidth > 0)""",
        timeout=_READY_TIMEOUT_MS,
    )
