"""Every page, walked in one browser context with every request recorded: nothing goes to a
host other than the server (no CDN, font service, tile server or analytics), and the pages
raise no Content-Security-Policy violation or script error."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.web.conftest import Session


def test_no_page_makes_a_request_to_another_host(web: Session) -> None:
    page = web.page
    page.goto(web.url("/"))
    page.wait_for_selector("path.hex-cell")
    page.goto(web.url("/report"))
    page.wait_for_selector("form")
    page.wait_for_load_state("networkidle")
    web.login("analyst@den-haag.example")
    page.wait_for_selector("path.hex-cell")
    page.wait_for_load_state("networkidle")

    paths = {urlsplit(url).path for url in web.recorder.urls}
    # The walk really loaded the pages, their bundles and the API (so the check below has teeth).
    assert {"/", "/report", "/dashboard", "/assets/public.js", "/assets/report.js", "/assets/dashboard.js"} <= paths
    assert any(path.startswith("/v1/staff/municipalities/den-haag/heatmap") for path in paths)
    assert web.recorder.foreign() == []
    # Only the dashboard's expected 401 (no session yet) is logged; no CSP violation, no script error.
    assert web.script_errors(401) == []
