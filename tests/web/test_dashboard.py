"""The staff dashboard (/dashboard) in a real browser against the demo server: login and logout
through the HttpOnly cookie, the heatmap by month, quarter, year, category and layer compared
with what the API answers for the same view, hotspots, exports, tenant isolation through the
UI, the admin sections, Dutch and English, accessibility and a phone-sized viewport."""

from __future__ import annotations

import csv
import io
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.web.conftest import Session, WebServer

ANALYST = "analyst@den-haag.example"
ADMIN = "admin@den-haag.example"
BASE = "/v1/staff/municipalities/den-haag"


def token(server: WebServer, email: str, password: str | None = None) -> str:
    response = httpx.post(
        server.base + "/v1/staff/login", json={"email": email, "password": password or server.password}
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["token"]
    return value


def as_staff(server: WebServer, bearer: str, path: str) -> httpx.Response:
    return httpx.get(server.base + path, headers={"Authorization": f"Bearer {bearer}"})


def staff_get(server: WebServer, bearer: str, path: str) -> Any:
    response = as_staff(server, bearer, path)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


def staff_months(server: WebServer, bearer: str) -> list[str]:
    ledger = staff_get(server, bearer, f"{BASE}/ledger")
    return sorted({e["period"] for e in ledger["entries"] if e["audience"] == "staff"})


def drawn(session: Session) -> dict[str, str]:
    """The heatmap hexagons on the map: H3 cell -> the count it shows ('' when withheld)."""
    pairs = session.page.locator("path.hex-cell:not(.hotspot-highlight)").evaluate_all(
        "els => els.map(e => [e.dataset.cell, e.dataset.count])"
    )
    assert len(pairs) == len({cell for cell, _ in pairs}), "a cell is drawn twice"
    return dict(pairs)


def expected(heatmap: dict[str, Any]) -> dict[str, str]:
    return {c["cell"]: "" if c.get("count") is None else str(c["count"]) for c in heatmap["cells"]}


def wait_for_view(session: Session, query: str) -> None:
    session.page.wait_for_selector(f'#map[data-view="{query}"]:not([aria-busy])')


def login_and_wait(session: Session, email: str) -> None:
    session.login(email)
    session.page.wait_for_selector("#map[data-view]:not([aria-busy])")


def test_login_then_the_default_view_matches_the_api(web: Session) -> None:
    page = web.page
    page.goto(web.url("/dashboard"))
    page.wait_for_selector("#login-form")
    assert page.locator("#dashboard").is_hidden()
    assert page.get_by_label("E-mail").get_attribute("type") == "email"
    assert page.get_by_label("E-mail").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Wachtwoord", exact=True).get_attribute("id") == "login-password"
    assert page.get_by_label("Code uit je authenticator-app (als ingesteld)").is_visible()
    assert web.axe() == []
    web.screenshot("dashboard-login")

    # A wrong password: the problem's detail in an alert, and still no dashboard.
    page.get_by_label("E-mail").fill(ANALYST)
    page.locator("#login-password").fill("not-the-password")
    page.locator("#login-form button[type=submit]").click()
    alert = page.locator("#login-error[role=alert]")
    alert.get_by_text("Inloggen mislukt").wait_for()
    assert "the e-mail, password or code is wrong" in alert.inner_text()
    assert page.locator("#dashboard").is_hidden()
    web.screenshot("dashboard-login-failed")

    # The right one: the dashboard appears without a page load, with the latest released month.
    page.evaluate("window.__marker = 1")
    page.locator("#login-password").fill(web.server.password)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_selector("#map[data-view]:not([aria-busy])")
    assert page.evaluate("window.__marker") == 1
    assert page.locator("#login").is_hidden()
    # The token never reaches script-readable storage; the cookie is HttpOnly.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("Object.keys(localStorage).filter(k => k !== 'straatstem.lang')") == []
    assert page.evaluate("sessionStorage.length") == 0
    cookie = next(c for c in web.context.cookies() if c["name"] == "straatstem_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    whoami = page.locator("#whoami").inner_text()
    assert ANALYST in whoami and "analist" in whoami and "Den Haag" in whoami

    bearer = token(web.server, ANALYST)
    months = staff_months(web.server, bearer)
    assert page.locator("#period-type").input_value() == "month"
    assert page.locator("#period").input_value() == months[-1]
    heatmap = staff_get(web.server, bearer, f"{BASE}/heatmap?period={months[-1]}")
    assert len(heatmap["cells"]) > 0 and len(heatmap["suppressed"]) > 0
    assert page.locator("path.hex-cell").count() == len(heatmap["cells"])
    assert drawn(web) == expected(heatmap)
    assert page.locator("path.hex-suppressed").count() == len(heatmap["suppressed"])
    assert page.locator("path.municipality-outline").count() == 1
    # Every cell is reachable by keyboard and names its value and interval.
    cells = {c["cell"]: c for c in heatmap["cells"]}
    first = heatmap["cells"][0]
    label = page.locator(f'path.hex-cell[data-cell="{first["cell"]}"]').get_attribute("aria-label") or ""
    assert f"{first['interval'][0]} tot {first['interval'][1]}" in label
    assert page.locator("path.hex-cell[tabindex='0'][role][aria-label]").count() == len(cells)
    # The status and legend explain totals, suppression, uncertainty and negative noise.
    status = page.locator("#view-status").inner_text()
    assert f"{heatmap['totals']['suppressed_regions']} gebieden verborgen" in status
    legend = page.locator("#legend").inner_text()
    assert "Verborgen om melders te beschermen: minder dan 5 meldingen, mogelijk geen" in legend
    assert "Zekerheid" in legend and "negatief" in legend

    # Hover: tooltip and info panel with breakdowns in words.
    with_breakdown = next(c for c in heatmap["cells"] if c.get("breakdowns"))
    page.locator(f'path.hex-cell[data-cell="{with_breakdown["cell"]}"]').hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert with_breakdown["cell"] in tooltip.inner_text() and "Per categorie" in tooltip.inner_text()
    assert f"90%-interval: {with_breakdown['interval'][0]} tot {with_breakdown['interval'][1]}" in tooltip.inner_text()
    info = page.locator("#cell-info")
    assert info.get_attribute("aria-live") == "polite"
    info.get_by_text(with_breakdown["cell"]).wait_for()
    text = info.inner_text()
    low, high = with_breakdown["interval"]
    assert f"{low} tot {high}" in text
    assert "Per categorie" in text and "Verbale opmerkingen / nafluiten" in text and "Heel onveilig" in text
    # Keyboard focus does the same.
    other = next(c for c in heatmap["cells"] if c["cell"] != with_breakdown["cell"])
    page.locator(f'path.hex-cell[data-cell="{other["cell"]}"]').focus()
    info.get_by_text(other["cell"]).wait_for()
    assert page.locator(".leaflet-tooltip").first.is_visible()

    # The hotspot table, the trend and the ledger are filled from the API.
    hotspots = staff_get(web.server, bearer, f"{BASE}/hotspots?period={months[-1]}")
    rows = page.locator("#hotspots tbody tr.hotspot-row")
    assert rows.count() == len(hotspots["hot"]) + len(hotspots["cold"]) > 0
    first_row = rows.first.inner_text()
    assert hotspots["hot"][0]["cell"] in first_row
    assert page.locator("#trend-chart").get_attribute("aria-label")
    assert page.locator("#trend-table tbody tr").count() == 12
    assert page.locator("#ledger tbody tr").count() > 0
    assert "2,0" in page.locator("#ledger-intro").inner_text()
    # An analyst gets no admin sections at all.
    assert page.locator("#audit").count() == 0 and page.locator("#staff").count() == 0

    assert web.script_errors(401) == []
    assert web.axe() == []
    page.mouse.move(0, 0)
    shot = web.screenshot("dashboard-analyst")
    page.locator(".map-grid").screenshot(path=str(shot.with_name("dashboard-map.png")))


def test_controls_change_the_view_without_a_reload(web: Session) -> None:
    page = web.page
    login_and_wait(web, ANALYST)
    bearer = token(web.server, ANALYST)
    months = staff_months(web.server, bearer)
    page.evaluate("window.__marker = 1")

    def check(query: str) -> dict[str, Any]:
        wait_for_view(web, query)
        heatmap: dict[str, Any] = staff_get(web.server, bearer, f"{BASE}/heatmap?{query}")
        assert drawn(web) == expected(heatmap), query
        return heatmap

    # The felt-safety layer colours the cells with a felt-safety breakdown, the others apart.
    latest = check(f"period={months[-1]}")
    page.locator("#layer").select_option("felt")
    assert "Gemiddeld veiligheidsgevoel" in page.locator("#legend").inner_text()
    felt = [
        c["cell"]
        for c in latest["cells"]
        if sum(max(0, v) for k, v in (c.get("breakdowns") or {}).get("felt_safety", {}).items() if k != "none") > 0
    ]
    assert felt
    colored = page.locator("path.hex-cell:not(.hex-nobreakdown)").evaluate_all("els => els.map(e => e.dataset.cell)")
    assert sorted(colored) == sorted(felt)
    label = page.locator(f'path[data-cell="{felt[0]}"]').get_attribute("aria-label") or ""
    assert "gemiddeld veiligheidsgevoel" in label
    shot = web.screenshot("dashboard-felt-safety")
    page.locator(".map-grid").screenshot(path=str(shot.with_name("dashboard-map-felt-safety.png")))
    page.locator("#layer").select_option("counts")

    # Another month.
    page.locator("#period").select_option(months[-2])
    earlier = check(f"period={months[-2]}")
    assert expected(earlier) != expected(latest)

    # A quarter: the newest one whose months are all released.
    page.locator("#period-type").select_option("quarter")
    quarter = page.locator("#period").input_value()
    assert quarter.count("-Q") == 1
    quarterly = check(f"period={quarter}")
    assert len(quarterly["months"]) == 3

    # A category: its layer, with withheld cells drawn apart from zero.
    page.locator("#category").select_option("verbal")
    verbal = check(f"period={quarter}&category=verbal")
    assert verbal["filter"] == {"category": "verbal"}
    assert expected(verbal) != expected(quarterly)
    withheld = [c["cell"] for c in verbal["cells"] if c.get("count") is None]
    assert page.locator("path.hex-cell.hex-withheld").count() == len(withheld)

    # Category and time of day together: the category x band layer.
    page.locator("#band").select_option("evening")
    check(f"period={quarter}&category=verbal&band=evening")
    url = urlsplit(page.url)
    assert parse_qs(url.query) == {
        "municipality": ["den-haag"],
        "period": [quarter],
        "category": ["verbal"],
        "band": ["evening"],
    }

    # Layers re-colour the same data: felt safety, and the hotspots of the view.
    page.locator("#band").select_option("")
    page.locator("#category").select_option("")
    check(f"period={quarter}")
    page.locator("#layer").select_option("hotspots")
    hotspots = staff_get(web.server, bearer, f"{BASE}/hotspots?period={quarter}")
    assert page.locator("path.hotspot-cell").count() == len(hotspots["hot"]) + len(hotspots["cold"])
    assert page.locator("path.hotspot-cell.hot").count() == len(hotspots["hot"])
    assert page.evaluate("window.__marker") == 1
    assert "layer=hotspots" in page.url
    page.locator(".map-grid").screenshot(path=str(web.screenshot("dashboard-hotspots-layer")))

    # A reload restores the view from the URL.
    page.reload()
    wait_for_view(web, f"period={quarter}")
    assert page.locator("#period-type").input_value() == "quarter"
    assert page.locator("#period").input_value() == quarter
    assert page.locator("#layer").input_value() == "hotspots"

    # A year with months not yet released: the server's detail, and no cells.
    page.locator("#layer").select_option("counts")
    page.locator("#period-type").select_option("year")
    year = page.locator("#period").input_value()
    wait_for_view(web, f"period={year}")
    refused = as_staff(web.server, bearer, f"{BASE}/heatmap?period={year}")
    assert refused.status_code == 404
    assert refused.json()["detail"] in page.locator("#view-error[role=alert]").inner_text()
    assert page.locator("path.hex-cell").count() == 0
    assert web.script_errors(401, 404) == []


def test_a_locked_login_says_when_to_retry(web: Session) -> None:
    email = f"nobody-{secrets.token_hex(3)}@den-haag.example"
    for _ in range(5):
        refused = httpx.post(web.url("/v1/staff/login"), json={"email": email, "password": "wrong-password"})
        assert refused.status_code == 401
    page = web.page
    page.goto(web.url("/dashboard"))
    page.get_by_label("E-mail").fill(email)
    page.locator("#login-password").fill("wrong-password")
    page.locator("#login-form button[type=submit]").click()
    alert = page.locator("#login-error")
    alert.get_by_text("Te veel pogingen. Probeer het over").wait_for()
    assert "seconden opnieuw" in alert.inner_text()
    assert page.locator("#dashboard").is_hidden()
    assert web.script_errors(401) == []


def test_a_hotspot_row_points_out_its_cell(web: Session) -> None:
    page = web.page
    login_and_wait(web, ANALYST)
    rows = page.locator("#hotspots tbody tr.hotspot-row")
    assert rows.count() >= 2
    first = rows.nth(0).get_attribute("data-cell")
    rows.nth(0).click()
    assert page.locator(f'path[data-cell="{first}"].selected').count() == 1
    assert "selected" in (rows.nth(0).get_attribute("class") or "")
    assert page.locator(f'path.hex-cell.hotspot-highlight[data-cell="{first}"]').count() == 1
    assert first in page.locator("#cell-info").inner_text()

    # By keyboard: the row's button, Enter.
    second = rows.nth(1).get_attribute("data-cell")
    rows.nth(1).locator("button").focus()
    page.keyboard.press("Enter")
    assert page.locator(f'path[data-cell="{second}"].selected').count() == 1
    assert page.locator(f'path[data-cell="{first}"].selected').count() == 0
    assert rows.nth(1).locator("button").get_attribute("aria-pressed") == "true"
    assert "selected" not in (rows.nth(0).get_attribute("class") or "")
    # The map panned to it: the highlighted hexagon ends up in the middle of the map.
    page.wait_for_function(
        """cell => {
            const map = document.querySelector('#map').getBoundingClientRect();
            const hex = document.querySelector(`path[data-cell="${cell}"].selected`).getBoundingClientRect();
            return Math.abs(hex.x + hex.width / 2 - (map.x + map.width / 2)) < 4
                && Math.abs(hex.y + hex.height / 2 - (map.y + map.height / 2)) < 4;
        }""",
        arg=second,
    )

    # On the hotspot layer the hotspot's own hexagon is selected; Space on a row works too.
    page.locator("#layer").select_option("hotspots")
    assert page.locator(f'path.hotspot-cell[data-cell="{second}"].selected').count() == 1
    rows.nth(0).locator("button").focus()
    page.keyboard.press("Space")
    assert page.locator(f'path.hotspot-cell[data-cell="{first}"].selected').count() == 1
    assert page.locator("path.hotspot-cell.selected").count() == 1
    assert web.script_errors(401) == []


def test_exports_download_the_current_view(web: Session) -> None:
    page = web.page
    login_and_wait(web, ANALYST)
    bearer = token(web.server, ANALYST)
    period = page.locator("#period").input_value()
    page.locator("#category").select_option("physical")
    query = f"period={period}&category=physical"
    wait_for_view(web, query)
    heatmap = staff_get(web.server, bearer, f"{BASE}/heatmap?{query}")

    with page.expect_download() as info:
        page.locator("#export-heatmap-geojson").click()
    download = info.value
    assert download.suggested_filename == f"straatstem-den-haag-{period}-heatmap-physical.geojson"
    collection = json.loads(Path(download.path()).read_text())
    assert collection["type"] == "FeatureCollection"
    assert all(f["geometry"]["type"] == "Polygon" for f in collection["features"])
    shown = [f for f in collection["features"] if not f["properties"].get("suppressed")]
    assert len(shown) == len(heatmap["cells"]) == page.locator("path.hex-cell").count()
    assert {f["properties"]["cell"] for f in shown} == {c["cell"] for c in heatmap["cells"]}
    assert collection["straatstem"]["filter"] == {"category": "physical"}

    with page.expect_download() as info:
        page.locator("#export-heatmap-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len([r for r in rows if r["withheld"] != "suppressed"]) == len(heatmap["cells"])

    with page.expect_download() as info:
        page.locator("#export-hotspots-csv").click()
    assert Path(info.value.path()).read_text().startswith("kind,rank,cell,z,q,trend")

    with page.expect_download() as info:
        page.locator("#export-trends-csv").click()
    trend_rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert trend_rows and trend_rows[-1]["month"] == period
    href = page.locator("#export-trends-csv").get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query)["to"] == [period]

    # Every export is an audited read of this analyst.
    audit = staff_get(web.server, token(web.server, ADMIN), "/v1/staff/audit?municipality=den-haag&limit=50")
    actions = {e["action"] for e in audit["entries"] if e["staff"] == ANALYST}
    assert {"export.heatmap.geojson", "export.heatmap.csv", "export.hotspots.csv", "export.trends.csv"} <= actions
    assert web.script_errors(401) == []


def test_another_municipality_is_not_shown(web: Session) -> None:
    page = web.page
    web.login(ANALYST)
    page.wait_for_selector("#map[data-view]:not([aria-busy])")
    answers: list[tuple[str, int]] = []
    page.on("response", lambda response: answers.append((response.url, response.status)))
    page.goto(web.url("/dashboard?municipality=amsterdam"))
    alert = page.locator("#access-error[role=alert]")
    alert.wait_for()
    assert "amsterdam" in alert.inner_text() and "geen toegang" in alert.inner_text()
    page.wait_for_load_state("networkidle")
    assert page.locator("path.hex-cell").count() == 0
    assert page.locator("path.hex-suppressed").count() == 0
    assert page.locator("path.municipality-outline").count() == 0
    assert page.locator("#dashboard-content").is_hidden()
    assert page.locator("#hotspots tbody tr").count() == 0
    amsterdam = [(url, status) for url, status in answers if "amsterdam" in urlsplit(url).path]
    assert amsterdam == [(web.url("/v1/staff/municipalities/amsterdam/ledger"), 404)]
    # Exactly the answer an unknown municipality gets.
    bearer = token(web.server, ANALYST)
    other = as_staff(web.server, bearer, "/v1/staff/municipalities/amsterdam/ledger")
    unknown = as_staff(web.server, bearer, "/v1/staff/municipalities/atlantis/ledger")
    assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()
    assert web.axe() == []
    web.screenshot("dashboard-no-access")
    # The way back to one's own municipality.
    page.get_by_role("link", name="Naar het dashboard van Den Haag").click()
    page.wait_for_selector("path.hex-cell")
    assert web.script_errors(401, 404) == []


def test_logout_ends_the_session(web: Session) -> None:
    page = web.page
    login_and_wait(web, ANALYST)
    old = [c for c in web.context.cookies() if c["name"] == "straatstem_session"]
    assert len(old) == 1
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_selector("#login-form")
    assert page.locator("#login").is_visible() and page.locator("#dashboard").is_hidden()
    assert "uitgelogd" in page.locator("#page-status").inner_text()
    assert page.locator("path.hex-cell").count() == 0
    assert page.evaluate("document.activeElement.id") == "login-email"
    assert urlsplit(page.url).query == ""  # the next person starts from their own municipality
    assert page.locator("#hotspots tbody tr").count() == 0 and page.locator("#ledger tr").count() == 0
    assert page.request.get(web.url("/v1/staff/me")).status == 401
    # The old cookie itself no longer works: the session was revoked on the server.
    replay = httpx.get(web.url("/v1/staff/me"), cookies={"straatstem_session": old[0]["value"]})
    assert replay.status_code == 401
    # Logging in again works without a reload.
    page.get_by_label("E-mail").fill(ANALYST)
    page.locator("#login-password").fill(web.server.password)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_selector("#map[data-view]:not([aria-busy]) path.hex-cell")
    assert web.script_errors(401) == []


def test_an_ended_session_returns_to_the_login_form(web: Session) -> None:
    page = web.page
    login_and_wait(web, ANALYST)
    cookie = next(c for c in web.context.cookies() if c["name"] == "straatstem_session")
    # The session ends elsewhere (here: revoked through the API with the same token).
    ended = httpx.post(web.url("/v1/staff/logout"), headers={"Authorization": f"Bearer {cookie['value']}"})
    assert ended.status_code == 204
    other = page.locator("#period option").nth(1).get_attribute("value")
    assert other
    page.locator("#period").select_option(other)
    page.locator("#login-error[role=alert]").get_by_text("Je sessie is verlopen").wait_for()
    assert page.locator("#dashboard").is_hidden()
    assert page.locator("path.hex-cell").count() == 0
    assert web.script_errors(401) == []


def test_staff_change_their_own_password(web: Session) -> None:
    server = web.server
    email = f"pw-{secrets.token_hex(3)}@den-haag.example"
    created = httpx.post(
        server.base + f"{BASE}/staff",
        json={"email": email, "role": "moderator"},
        headers={"Authorization": f"Bearer {token(server, ADMIN)}"},
    )
    assert created.status_code == 201
    initial = created.json()["initial_password"]
    page = web.page
    web.login(email, initial)
    page.wait_for_selector("#map[data-view]:not([aria-busy])")
    assert "moderator" in page.locator("#whoami").inner_text()
    assert page.locator("#audit").count() == 0

    new = "a-new-password-" + secrets.token_hex(4)
    page.locator("#password-change summary").click()
    page.get_by_label("Huidig wachtwoord").fill("not-my-password")
    page.get_by_label("Nieuw wachtwoord (minstens 12 tekens)").fill(new)
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    page.locator("#password-error[role=alert]").get_by_text("the current password is wrong").wait_for()
    page.get_by_label("Huidig wachtwoord").fill(initial)
    page.get_by_label("Nieuw wachtwoord (minstens 12 tekens)").fill(new)
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    page.locator("#password-status").get_by_text("Wachtwoord gewijzigd").wait_for()
    assert page.locator("#password-error").inner_text() == ""
    assert httpx.post(server.base + "/v1/staff/login", json={"email": email, "password": new}).status_code == 200
    assert httpx.post(server.base + "/v1/staff/login", json={"email": email, "password": initial}).status_code == 401
    # This session stays.
    page.reload()
    page.wait_for_selector("#map[data-view]:not([aria-busy])")
    assert page.locator("#dashboard").is_visible()
    assert web.script_errors(401, 403) == []


def test_admin_reads_the_audit_log_and_manages_staff(web: Session) -> None:
    server = web.server
    analyst = token(server, ANALYST)
    months = staff_months(server, analyst)
    staff_get(server, analyst, f"{BASE}/heatmap?period={months[0]}")

    page = web.page
    login_and_wait(web, ADMIN)
    audit = page.locator("#audit")
    audit.locator("tbody tr").first.wait_for()
    assert audit.locator("tbody tr").count() > 0
    reads = audit.locator("tbody tr", has_text=ANALYST)
    assert reads.count() > 0
    assert reads.filter(has_text="heatmap.read").filter(has_text=months[0]).count() >= 1
    # Paging: older entries are added below.
    before = audit.locator("tbody tr").count()
    if page.locator("#audit-more").is_visible():
        page.locator("#audit-more").click()
        page.wait_for_function("n => document.querySelectorAll('#audit tbody tr').length > n", arg=before)

    staff = page.locator("#staff")
    staff.locator("tbody tr", has_text=ANALYST).wait_for()
    assert staff.locator("tbody tr", has_text=ADMIN).get_by_role("button").count() == 0  # not oneself

    # Add an account: the initial password is shown once and logs in.
    email = f"new-{secrets.token_hex(3)}@den-haag.example"
    page.locator("#new-staff-email").fill(email)
    page.locator("#new-staff-role").select_option("analyst")
    page.locator("#new-staff-submit").click()
    secret = page.locator("#staff-secret-value")
    secret.wait_for()
    password = secret.inner_text().strip()
    assert "veilige weg" in page.locator("#staff-secret").inner_text()
    assert len(password) >= 12
    assert httpx.post(server.base + "/v1/staff/login", json={"email": email, "password": password}).status_code == 200
    row = staff.locator("tbody tr", has_text=email)
    row.wait_for()
    assert "actief" in row.inner_text()
    web.screenshot("dashboard-admin")

    # Replace its second factor, after confirming: an otpauth:// URI, shown once.
    row.get_by_role("button", name=f"Tweede factor vervangen: {email}").click()
    assert "De oude code werkt dan niet meer" in row.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Ja, doorgaan"
    row.get_by_role("button", name="Ja, doorgaan").click()
    page.wait_for_function("() => document.querySelector('#staff-secret-value')?.textContent.startsWith('otpauth://')")
    assert email.replace("@", "%40") in secret.inner_text() or email in secret.inner_text()

    # Cancelling a disable does nothing; confirming disables, and the password stops working.
    row.get_by_role("button", name=f"Uitschakelen: {email}").click()
    row.get_by_role("button", name="Annuleren").click()
    assert "actief" in row.inner_text()
    row.get_by_role("button", name=f"Uitschakelen: {email}").click()
    row.get_by_role("button", name="Ja, doorgaan").click()
    row.get_by_text("uitgeschakeld").wait_for()
    assert f"{email} is uitgeschakeld" in page.locator("#staff-status").inner_text()
    assert httpx.post(server.base + "/v1/staff/login", json={"email": email, "password": password}).status_code == 401
    listed = staff_get(server, token(server, ADMIN), f"{BASE}/staff")["staff"]
    account = next(a for a in listed if a["email"] == email)
    assert account["disabled"] is True and account["second_factor"] is True
    # The audit log shows what the admin did.
    audit.locator("tbody tr", has_text=email).first.wait_for()

    assert web.script_errors(401) == []
    page.locator("#staff-secret button").click()
    assert page.locator("#staff-secret").is_hidden()
    assert web.axe() == []
    web.screenshot("dashboard-admin-sections")

    # Logging out removes the admin sections from the page.
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_selector("#login-form")
    assert page.locator("#audit").count() == 0 and page.locator("#staff").count() == 0


def test_english_and_a_phone_sized_screen(web_factory: Any) -> None:
    session: Session = web_factory(viewport={"width": 375, "height": 800})
    page = session.page
    login_and_wait(session, ANALYST)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Switch to English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Staff dashboard"
    assert page.title() == "straatstem: staff dashboard"
    assert page.get_by_label("Period", exact=True).is_visible()
    assert "analyst" in page.locator("#whoami").inner_text()
    assert "Hidden to protect reporters: fewer than 5 reports, possibly none" in page.locator("#legend").inner_text()
    assert "Verbal comments / catcalling" in page.locator("#category").inner_text()
    assert page.locator("#hotspots thead th").first.inner_text() == "Rank"
    assert "reports, 90% interval" in (page.locator("path.hex-cell").first.get_attribute("aria-label") or "")
    assert (page.locator("#trend-table caption").text_content() or "").startswith("Reports per month")
    assert "Staff dashboard" not in page.locator("#trend-chart").get_attribute("aria-label")
    assert "Line chart" in (page.locator("#trend-chart").get_attribute("aria-label") or "")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("dashboard-375px-en")
    assert session.script_errors(401) == []

    # The browser's language decides on a first visit; the login form follows it.
    english: Session = web_factory(locale="en-GB")
    english.page.goto(english.url("/dashboard"))
    english.page.wait_for_selector("#login-form")
    assert english.page.get_by_label("Password", exact=True).get_attribute("id") == "login-password"
    assert english.page.get_by_label("E-mail").get_attribute("type") == "email"
    assert english.page.get_by_label("Code from your authenticator app (if set up)").is_visible()
