"""Browser tests: Playwright for Python driving Debian's Chromium headless against a real
`straatstem demo` server (its own fresh database, demo municipalities, reports, releases and
staff) on 127.0.0.1.

Every page a test opens comes from `page`, whose context records every network request; a
test fails if any request went to a host other than the server. Screenshots go to
test-output/screenshots/ (STRAATSTEM_TEST_OUTPUT overrides the folder).

Without /usr/bin/chromium or the built front end the tests skip, unless
STRAATSTEM_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.demo import DEMO_LOGIN_FILE
from api.web.routes import DIST, REQUIRED
from tests.processes import demo_server

CHROMIUM = Path(os.environ.get("STRAATSTEM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("STRAATSTEM_TEST_OUTPUT", ROOT / "test-output"))
AXE = ROOT / "api" / "web" / "node_modules" / "axe-core" / "axe.min.js"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium; ops/dev.sh test does it)"
    absent = [name for name in REQUIRED if not (DIST / name).is_file()]
    if absent:
        return f"the web front end is not built (missing {', '.join(absent)}); run `bash ops/dev.sh test`"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e .[test])"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None or os.environ.get("STRAATSTEM_REQUIRE_BROWSER") == "1":
        return  # required: the tests run, and _browser_required fails them with the reason
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _browser_required() -> None:
    reason = _missing()
    if reason is not None and os.environ.get("STRAATSTEM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here: {reason}")


@dataclass
class WebServer:
    base: str
    password: str
    log: Path
    dsn: str

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


@pytest.fixture(scope="session")
def web_server(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`straatstem demo` on its own database (the other tests empty theirs between tests)."""
    data_dir = tmp_path_factory.mktemp("web")
    with demo_server(dsn, "straatstem_web", data_dir, log_level="INFO") as (base, web_dsn):
        password = (data_dir / DEMO_LOGIN_FILE).read_text().strip()
        yield WebServer(base, password, data_dir / "server.log", web_dsn)


@pytest.fixture(scope="module")
def browser(web_server: WebServer) -> Iterator[Any]:
    """Per module, after the server: Playwright's sync API keeps an event loop running in this
    thread while it is open, so the database fixtures (asyncio.run) must be set up before it
    starts, and async tests of other modules can only run once it has stopped."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Recorder:
    """Every request a browser context made, and the ones that left the server."""

    host: str
    urls: list[str] = field(default_factory=list)

    def __call__(self, request: Any) -> None:
        self.urls.append(request.url)

    def foreign(self) -> list[str]:
        # data: and blob: URLs never leave the browser.
        return [
            url for url in self.urls if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != self.host
        ]


@dataclass
class Session:
    """A fresh browser context (no cookies, no storage) on the web server."""

    server: WebServer
    context: Any
    page: Any
    recorder: Recorder
    console_errors: list[str]

    def url(self, path: str) -> str:
        return self.server.base + path

    def screenshot(self, name: str) -> Path:
        folder = OUTPUT / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def script_errors(self, *expected_statuses: int) -> list[str]:
        """The console errors, less Chromium's "Failed to load resource" line for HTTP answers
        the test expects (the dashboard's 401 from /v1/staff/me before login, say). Script
        errors and CSP violations always count."""
        allowed = tuple(
            f"Failed to load resource: the server responded with a status of {status} " for status in expected_statuses
        )
        return [message for message in self.console_errors if not message.startswith(allowed)]

    def login(self, email: str, password: str | None = None) -> None:
        """Logs in through the dashboard's form."""
        page = self.page
        page.goto(self.url("/dashboard"))
        page.get_by_label("E-mail").fill(email)
        page.locator("#login-password").fill(password or self.server.password)
        page.locator("#login-form button[type=submit]").click()
        page.wait_for_selector("#dashboard:not([hidden])")

    def axe(self) -> list[str]:
        """axe-core (from npm) on the current page: its serious and critical violations, each as
        "rule: element, element"."""
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => (await axe.run(document)).violations")
        return [
            f"{v['id']}: " + ", ".join(str(node["target"]) for node in v["nodes"])
            for v in result
            if v.get("impact") in ("serious", "critical")
        ]


def _session(browser: Any, server: WebServer, **options: Any) -> Iterator[Session]:
    context = browser.new_context(
        base_url=server.base,
        viewport=options.pop("viewport", {"width": 1280, "height": 900}),
        locale=options.pop("locale", "nl-NL"),
        accept_downloads=True,
        **options,
    )
    recorder = Recorder(server.host)
    context.on("request", recorder)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        yield Session(server, context, page, recorder, errors)
    finally:
        context.close()
    assert recorder.foreign() == [], f"requests left the server: {recorder.foreign()}"


@pytest.fixture
def web(browser: Any, web_server: WebServer) -> Iterator[Session]:
    yield from _session(browser, web_server)


@pytest.fixture
def web_factory(browser: Any, web_server: WebServer) -> Iterator[Any]:
    """Sessions with other options (viewport, locale, geolocation, permissions)."""
    made: list[Iterator[Session]] = []

    def make(**options: Any) -> Session:
        generator = _session(browser, web_server, **options)
        made.append(generator)
        return next(generator)

    yield make
    for generator in made:
        for _ in generator:
            pass
