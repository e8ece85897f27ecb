"""The public map (/) in a real browser: the quarterly map, method, ledger, discussions, where
to report; Dutch and English; no request to any other host; no serious accessibility issue;
no horizontal scrolling at 375 px."""

from __future__ import annotations

import json
import re

import httpx

from tests.web.conftest import Session, WebServer


def test_public_map_shows_the_quarter_and_explains_the_method(web: Session) -> None:
    page = web.page
    page.goto(web.url("/?municipality=den-haag"))
    page.wait_for_selector("path.hex-cell")
    quarter = page.locator("#quarter").input_value()
    release = httpx.get(web.url(f"/v1/public/municipalities/den-haag/heatmap?period={quarter}")).json()
    assert page.locator("path.hex-cell").count() == len(release["cells"]) > 0
    # The outline of the municipality is drawn, and every hexagon is reachable by keyboard.
    assert page.locator("path.municipality-outline").count() == 1
    assert page.locator("path.hex-cell[tabindex='0'][aria-label]").count() == len(release["cells"])
    assert page.locator("#cells-table tbody tr").count() == len(release["cells"])
    assert "minstens 10 meldingen" in page.locator("#map-status").inner_text()
    # Method in plain language with the deployment's own k, and the published ledger.
    assert "minstens 5 meldingen" in page.locator("#method").inner_text()
    assert page.locator("#ledger tbody tr").count() > 0
    assert "veilig voelt op straat" in page.locator("#discussions").inner_text()
    assert page.get_by_role("link", name="Meld straatintimidatie").get_attribute("href") == "/report"
    assert "112" in page.locator(".emergency").inner_text()
    assert web.console_errors == []
    web.screenshot("public-nl")


def test_public_map_switches_language_and_municipality(web: Session) -> None:
    page = web.page
    page.goto(web.url("/?municipality=den-haag"))
    page.wait_for_selector("path.hex-cell")
    page.get_by_role("button", name="Switch to English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Street harassment on the map"
    assert "at least 10 reports" in page.locator("#map-status").inner_text()
    before = sorted(page.locator("path.hex-cell").evaluate_all("els => els.map(e => e.getAttribute('d'))"))
    page.locator("#municipality").select_option("amsterdam")
    page.wait_for_url(re.compile(r"municipality=amsterdam"))
    page.wait_for_function(
        "before => { const d = [...document.querySelectorAll('path.hex-cell')].map(e => e.getAttribute('d')).sort();"
        " return d.length > 0 && JSON.stringify(d) !== before; }",
        arg=json.dumps(before),
    )
    # The choice of language is remembered on the next visit.
    page.reload()
    page.wait_for_selector("path.hex-cell")
    assert page.locator("h1").inner_text() == "Street harassment on the map"
    web.screenshot("public-en")


def test_public_page_is_accessible_and_fits_a_phone(web_factory: object, web_server: WebServer) -> None:
    session = web_factory(viewport={"width": 375, "height": 800})  # type: ignore[operator]
    page = session.page
    page.goto(session.url("/"))
    page.wait_for_selector("path.hex-cell")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("public-375px")


def test_pages_carry_a_strict_content_security_policy(web_server: WebServer) -> None:
    for path in ("/", "/dashboard", "/report"):
        response = httpx.get(web_server.base + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        # The pages reference only this server's files.
        assert not re.search(r"(src|href)=\"(https?:)?//", response.text), path
