"""The reporting client (/report) in a real browser against a real demo server: the cell is
computed in the browser and only the cell is sent; the receipt is shown once and works with
the API; the offline queue keeps the submission id and receipt across retries; the service
worker opens the page offline; Dutch and English; accessible and 375 px wide."""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import h3
import httpx
from playwright.sync_api import expect

from tests.web.conftest import Session, WebServer

DEN_HAAG = (52.0799, 4.3247)  # near Den Haag Centraal, inside the demo coverage
GRONINGEN = (53.2, 6.56)  # not served by the demo
PHONE = {"width": 375, "height": 800}
# The coordinates as any request could carry them (JSON numbers, Dutch decimals, query strings).
COORDINATE_TEXTS = ("52.0799", "4.3247", "52,0799", "4,3247")
BODY_FIELDS = {"submission_id", "receipt", "category", "role", "band", "language", "cell", "felt_safety", "description"}

Factory = Callable[..., Session]


# --- helpers ----------------------------------------------------------------------------------


def _phone(web_factory: Factory, where: tuple[float, float] = DEN_HAAG, **options: Any) -> Session:
    return web_factory(
        viewport=PHONE,
        geolocation={"latitude": where[0], "longitude": where[1]},
        permissions=["geolocation"],
        **options,
    )


def _open(session: Session) -> Any:
    page = session.page
    page.goto(session.url("/report"))
    page.wait_for_selector("body[data-ready='true']")
    return page


def _record(page: Any) -> list[Any]:
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    return requests


def _posts(requests: list[Any]) -> list[Any]:
    return [r for r in requests if r.method == "POST" and r.url.endswith("/v1/reports")]


def _refuse_first(status: int, slug: str, headers: dict[str, str] | None = None) -> Callable[[Any], None]:
    """A route handler that answers the first request with this problem and lets the rest
    through to the real server."""
    calls: list[int] = []

    def handle(route: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            route.continue_()
            return
        problem = {"type": f"/problems/{slug}", "title": slug, "status": status}
        route.fulfill(
            status=status,
            headers={"Content-Type": "application/problem+json", **(headers or {})},
            body=json.dumps(problem),
        )

    return handle


def _fill(page: Any) -> None:
    """Category, role, band, felt safety and a description, in Dutch (the default language)."""
    page.get_by_label("Verbale opmerkingen / nafluiten").check()
    page.get_by_label("Het overkwam mij").check()
    page.get_by_label("Avond (18-24 uur)").check()
    page.get_by_label("Onveilig", exact=True).check()
    page.get_by_label("Wil je iets toelichten? (niet verplicht)").fill("Hij riep me na bij de tramhalte.")


def _use_location(page: Any) -> str:
    page.get_by_role("button", name="Gebruik mijn locatie").click()
    page.wait_for_selector("path.report-hexagon")
    return str(page.locator("path.report-hexagon").get_attribute("data-cell"))


def _receipt(page: Any) -> tuple[str, str]:
    page.wait_for_selector("#receipt-view:not([hidden])", timeout=30_000)
    return page.locator(".receipt").first.inner_text().strip(), page.locator(".report-id").first.inner_text().strip()


def _status(server: WebServer, report_id: str, receipt: str) -> httpx.Response:
    return httpx.get(f"{server.base}/v1/reports/{report_id}", headers={"Authorization": f"Receipt {receipt}"})


def _stored_queue(page: Any) -> list[dict[str, Any]]:
    """The page's offline queue, read from IndexedDB."""
    return list(
        page.evaluate(
            """() => new Promise((resolve, reject) => {
                const open = indexedDB.open('straatstem-report');
                open.onerror = () => reject(open.error);
                open.onsuccess = () => {
                    const request = open.result.transaction('queue').objectStore('queue').getAll();
                    request.onsuccess = () => resolve(request.result);
                    request.onerror = () => reject(request.error);
                };
            })"""
        )
    )


def _device_storage(page: Any) -> str:
    """Everything the page keeps on the device (localStorage and every IndexedDB store), as text."""
    return str(
        page.evaluate(
            """async () => {
                const out = {local: {...localStorage}};
                for (const info of await indexedDB.databases()) {
                    const db = await new Promise((resolve) => {
                        const r = indexedDB.open(info.name);
                        r.onsuccess = () => resolve(r.result);
                    });
                    for (const name of db.objectStoreNames) {
                        out[`${info.name}/${name}`] = await new Promise((resolve) => {
                            const r = db.transaction(name).objectStore(name).getAll();
                            r.onsuccess = () => resolve(r.result);
                        });
                    }
                    db.close();
                }
                return JSON.stringify(out);
            }"""
        )
    )


def _assert_no_coordinates(requests: list[Any]) -> None:
    for request in requests:
        carried = [request.url, request.post_data or "", json.dumps(request.headers)]
        for text in COORDINATE_TEXTS:
            assert not any(text in part for part in carried), f"{request.method} {request.url} carried {text}"


def _project(lat: float, lng: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixels at `zoom`, as Leaflet's EPSG:3857."""
    scale = 256 * 2**zoom
    x = (lng + 180) / 360 * scale
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * scale
    return x, y


def _unproject(x: float, y: float, zoom: float) -> tuple[float, float]:
    scale = 256 * 2**zoom
    lng = x / scale * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / scale))))
    return lat, lng


def _cell_at_offset(origin: tuple[float, float], zoom: float, dx: float, dy: float) -> str:
    x, y = _project(*origin, zoom)
    return str(h3.latlng_to_cell(*_unproject(x + dx, y + dy, zoom), 9))


def _stable_offset(origin: tuple[float, float], zoom: float, candidates: list[tuple[int, int]]) -> tuple[int, int, str]:
    """The first offset whose cell is the same for every point within 2 px (so that rounding of
    Leaflet's pixel origin cannot move it into the next hexagon), with that cell."""
    for dx, dy in candidates:
        cells = {_cell_at_offset(origin, zoom, dx + ex, dy + ey) for ex in range(-2, 3) for ey in range(-2, 3)}
        if len(cells) == 1:
            return dx, dy, cells.pop()
    raise AssertionError("no stable offset among the candidates")


# --- tests ------------------------------------------------------------------------------------


def test_report_end_to_end_sends_only_the_cell(web_factory: Factory, web_server: WebServer) -> None:
    session = _phone(web_factory)
    page = session.page
    requests = _record(page)
    _open(session)
    # The 8 categories of the taxonomy with their descriptions, the current band preselected.
    taxonomy = httpx.get(web_server.base + "/v1/taxonomy").json()
    assert page.locator("input[name=category]").count() == len(taxonomy["categories"]) == 8
    for category in taxonomy["categories"]:
        assert page.get_by_label(category["nl"], exact=True).count() == 1
        assert category["description_nl"] in page.locator("#categories").inner_text()
    assert page.locator("input[name=band]:checked").count() == 1
    assert page.locator("path.municipality-outline").count() == 3
    assert page.locator("#place-status").inner_text() == "Nog geen plek gekozen."
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("report-form")

    _fill(page)
    cell = _use_location(page)
    expected = h3.latlng_to_cell(*DEN_HAAG, 9)
    assert cell == expected
    assert "Den Haag" in page.locator("#place-status").inner_text()
    session.screenshot("report-form-filled")
    page.get_by_role("button", name="Melding versturen").click()
    receipt, report_id = _receipt(page)
    assert len(receipt.replace("-", "")) >= 26
    assert page.locator("#receipt-heading").inner_text() == "Bedankt, je melding is ontvangen"
    assert "maar één keer" in page.locator("#receipt-view").inner_text()
    assert page.locator("#form-view").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("report-receipt")

    # The report exists, with the cell computed in the browser, and the receipt proves it.
    answer = _status(web_server, report_id, receipt)
    assert answer.status_code == 200, answer.text
    status = answer.json()
    assert (status["cell"], status["municipality"], status["category"]) == (expected, "den-haag", "verbal")
    assert (status["role"], status["band"], status["felt_safety"]) == ("victim", "evening", 2)
    assert status["has_description"] is True
    other = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")
    assert _status(web_server, report_id, other).status_code == 404

    # Exactly one POST: the contract's body with the cell and never coordinates, and the
    # X-Altcha header as base64(JSON{algorithm, challenge, number, salt, signature}).
    posts = _posts(requests)
    assert len(posts) == 1
    body = json.loads(posts[0].post_data)
    assert set(body) == BODY_FIELDS
    assert body["cell"] == expected and "lat" not in body and "lng" not in body
    assert str(uuid.UUID(body["submission_id"])) == body["submission_id"]
    assert body["receipt"] == receipt.replace("-", "") and len(body["receipt"]) == 26
    assert body["language"] == "nl"
    altcha = json.loads(base64.b64decode(posts[0].headers["x-altcha"]))
    assert list(altcha) == ["algorithm", "challenge", "number", "salt", "signature"]
    _assert_no_coordinates(requests)
    # Nothing about the report stays on the device once it is sent.
    assert _stored_queue(page) == []
    stored = _device_storage(page)
    assert receipt.replace("-", "") not in stored
    assert not any(text in stored for text in COORDINATE_TEXTS)
    assert session.console_errors == []

    # "Done" clears the receipt from the page and brings back an empty form.
    page.get_by_role("button", name="Klaar, nog een melding doen").click()
    assert page.locator("#receipt-view").is_hidden()
    assert page.locator(".receipt").count() == 0
    assert page.locator("path.report-hexagon").count() == 0
    assert page.locator("input[name=category]:checked").count() == 0


def test_place_by_map_click_keyboard_and_map_centre(web_factory: Factory) -> None:
    session = _phone(web_factory)
    page = _open(session)
    start = _use_location(page)
    assert start == h3.latlng_to_cell(*DEN_HAAG, 9)
    zoom = 15  # where "use my location" brings the map, centred on the position
    # The pin moves 10 px per arrow key (keyboard users need no pointer).
    marker = page.locator(".leaflet-marker-icon.report-marker")
    assert marker.get_attribute("role") == "button" and marker.get_attribute("aria-label")
    marker.focus()
    for _ in range(15):
        page.keyboard.press("ArrowDown")
    moved = _cell_at_offset(DEN_HAAG, zoom, 0, 150)
    assert moved != start
    assert page.locator("path.report-hexagon").get_attribute("data-cell") == moved
    assert page.locator("path.report-hexagon").count() == 1
    # "Use the centre of the map" puts it back where the map is centred.
    page.get_by_role("button", name="Gebruik het midden van de kaart").click()
    assert page.locator("path.report-hexagon").get_attribute("data-cell") == start
    # A tap on the map places it there: pick a point well inside one hexagon.
    box = page.locator("#report-map").evaluate("e => [e.clientWidth, e.clientHeight]")
    candidates = [(dx, dy) for dx in (-110, 100, -60, 70) for dy in (-90, 110, -40, 60)]
    dx, dy, tapped = _stable_offset(DEN_HAAG, zoom, candidates)
    page.locator("#report-map").click(position={"x": box[0] / 2 + dx, "y": box[1] / 2 + dy})
    page.wait_for_function(
        "cell => document.querySelector('path.report-hexagon')?.dataset.cell === cell", arg=tapped, timeout=5000
    )
    assert "Den Haag" in page.locator("#place-status").inner_text()
    assert session.console_errors == []


def test_offline_report_is_queued_and_sent_when_back_online(web_factory: Factory, web_server: WebServer) -> None:
    session = _phone(web_factory)
    page = session.page
    requests = _record(page)
    _open(session)
    _fill(page)
    cell = _use_location(page)
    session.context.set_offline(True)
    page.get_by_role("button", name="Melding versturen").click()
    expect(page.locator("#send-status")).to_contain_text("offline")
    assert "vanzelf verstuurd" in page.locator("#send-status").inner_text()
    assert page.locator("#queue-count").inner_text().startswith("1 melding wacht")
    # The form is emptied (the report is saved), and the queue holds the cell, never coordinates.
    assert page.locator("path.report-hexagon").count() == 0
    queued = _stored_queue(page)
    assert len(queued) == 1
    item = queued[0]
    assert item["body"]["cell"] == cell and "lat" not in item["body"] and "lng" not in item["body"]
    assert item["body"]["submission_id"] == item["submission_id"] and item["body"]["receipt"] == item["receipt"]
    stored = _device_storage(page)
    assert not any(text in stored for text in COORDINATE_TEXTS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("report-queued")

    session.context.set_offline(False)
    receipt, report_id = _receipt(page)
    assert receipt.replace("-", "") == item["receipt"]
    assert page.locator("#queue-panel").is_hidden()
    assert _stored_queue(page) == []
    answer = _status(web_server, report_id, receipt)
    assert answer.status_code == 200
    assert answer.json()["cell"] == cell
    posts = _posts(requests)
    assert posts, "the queued report was never posted"
    assert {json.loads(p.post_data)["submission_id"] for p in posts} == {item["submission_id"]}
    _assert_no_coordinates(requests)


def test_queued_report_is_sent_when_the_app_is_opened_again(web_factory: Factory, web_server: WebServer) -> None:
    session = _phone(web_factory)
    page = _open(session)
    _fill(page)
    _use_location(page)
    session.context.set_offline(True)
    page.get_by_role("button", name="Melding versturen").click()
    expect(page.locator("#queue-count")).to_contain_text("1 melding wacht")
    [item] = _stored_queue(page)
    page.close()
    session.context.set_offline(False)
    # A new page of the same browser profile finds the queue and sends it on load.
    page = session.context.new_page()
    requests = _record(page)
    page.goto(session.url("/report"))
    receipt, report_id = _receipt(page)
    assert receipt.replace("-", "") == item["receipt"]
    assert _status(web_server, report_id, receipt).json()["cell"] == item["body"]["cell"]
    assert [json.loads(p.post_data)["submission_id"] for p in _posts(requests)] == [item["submission_id"]]
    assert _stored_queue(page) == []


def test_server_error_keeps_the_report_queued_with_the_same_body(web_factory: Factory, web_server: WebServer) -> None:
    """503: queued and retried by itself (backoff), with the same body and a fresh proof-of-work."""
    session = _phone(web_factory, service_workers="block")
    page = session.page
    requests = _record(page)
    page.route("**/v1/reports", _refuse_first(503, "unavailable", {"Retry-After": "1"}))
    _open(session)
    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    expect(page.locator("#send-status")).to_contain_text("niet bereikbaar")
    assert page.locator("#queue-count").inner_text().startswith("1 melding wacht")
    receipt, report_id = _receipt(page)
    assert _status(web_server, report_id, receipt).status_code == 200
    posts = _posts(requests)
    assert len(posts) == 2
    bodies = [json.loads(p.post_data) for p in posts]
    assert bodies[0] == bodies[1]
    assert posts[0].headers["x-altcha"] != posts[1].headers["x-altcha"]


def test_a_refused_proof_of_work_is_solved_again_not_dropped(web_factory: Factory, web_server: WebServer) -> None:
    """400 invalid-proof-of-work (a challenge that expired while solving, or signed with a
    rotated key): the contract says fetch a new challenge and retry, so the report is sent."""
    session = _phone(web_factory, service_workers="block")
    page = session.page
    requests = _record(page)
    page.route("**/v1/reports", _refuse_first(400, "invalid-proof-of-work"))
    _open(session)
    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    receipt, report_id = _receipt(page)
    assert _status(web_server, report_id, receipt).status_code == 200
    posts = _posts(requests)
    assert len(posts) == 2 and posts[0].headers["x-altcha"] != posts[1].headers["x-altcha"]
    assert json.loads(posts[0].post_data) == json.loads(posts[1].post_data)


def test_refusals_are_explained_in_plain_language(web_factory: Factory) -> None:
    """410 drops the report with a message; 429 keeps it queued until the next day."""
    session = _phone(web_factory, service_workers="block")
    page = session.page
    answers = [
        (410, "submission-withdrawn", None),
        (429, "rate-limited", "86400"),
    ]

    def refuse(route: Any) -> None:
        status, slug, retry = answers.pop(0)
        headers = {"Content-Type": "application/problem+json"} | ({"Retry-After": retry} if retry else {})
        route.fulfill(status=status, headers=headers, body=json.dumps({"type": f"/problems/{slug}", "status": status}))

    page.route("**/v1/reports", refuse)
    _open(session)
    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    expect(page.locator("#send-alert")).to_contain_text("ingetrokken")
    assert page.locator("#queue-panel").is_hidden()
    assert _stored_queue(page) == []

    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    expect(page.locator("#send-status")).to_contain_text("maximum aantal")
    assert page.locator("#queue-count").inner_text().startswith("1 melding wacht")
    assert len(_stored_queue(page)) == 1
    assert answers == []


def test_outside_coverage_disables_sending(web_factory: Factory) -> None:
    session = _phone(web_factory, where=GRONINGEN)
    page = session.page
    requests = _record(page)
    _open(session)
    _fill(page)
    cell = _use_location(page)
    assert cell == h3.latlng_to_cell(*GRONINGEN, 9)
    status = page.locator("#place-status").inner_text()
    assert "buiten de gebieden" in status and "Den Haag" in status
    send = page.get_by_role("button", name="Melding versturen")
    assert send.is_disabled()
    assert "Versturen kan niet" in page.locator("#send-blocked").inner_text()
    session.screenshot("report-outside")
    # The map is centred on that point: its centre is just as far outside.
    page.get_by_role("button", name="Gebruik het midden van de kaart").click()
    assert send.is_disabled()
    assert _posts(requests) == []
    assert session.console_errors == []


def test_language_switch_and_keyboard_validation(web_factory: Factory) -> None:
    session = web_factory(viewport=PHONE)
    page = _open(session)
    page.get_by_role("button", name="Switch to English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Report street harassment"
    assert page.title() == "straatstem: report street harassment"
    assert page.get_by_label("Verbal comments / catcalling", exact=True).count() == 1
    assert "Sexual comments, hissing" in page.locator("#categories").inner_text()
    assert page.locator("#category-group legend").inner_text() == "What happened? *"
    assert page.locator("#place-status").inner_text() == "No place chosen yet."
    assert "Call 112" in page.locator("#emergency").inner_text()
    assert page.locator("#emergency a[href='tel:112']").count() == 1
    assert "0900-0101" in page.locator("#emergency").inner_text()
    # Sending an empty form names what is missing and puts the focus on the first question.
    page.get_by_role("button", name="Send report").press("Enter")
    alert = page.locator("#form-error").inner_text()
    assert "Choose what happened." in alert and "Choose where it happened" in alert
    assert page.evaluate("document.activeElement.name") == "category"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert session.axe() == []
    session.screenshot("report-en")
    page.get_by_role("button", name="Schakel naar Nederlands").click()
    assert page.locator("h1").inner_text() == "Straatintimidatie melden"
    assert page.get_by_label("Verbale opmerkingen / nafluiten", exact=True).count() == 1
    assert session.console_errors == []


def test_check_and_withdraw_with_the_receipt(web_factory: Factory, web_server: WebServer) -> None:
    session = _phone(web_factory)
    page = _open(session)
    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    receipt, report_id = _receipt(page)
    page.get_by_role("button", name="Klaar, nog een melding doen").click()
    page.get_by_text("Meldingsnummer en bewijscode invullen").click()
    page.get_by_label("Meldingsnummer", exact=True).fill(report_id)
    page.get_by_label("Bewijscode", exact=True).fill(receipt)
    page.get_by_role("button", name="Bekijken").click()
    expect(page.locator("#check-status")).to_contain_text("Den Haag")
    assert "Verbale opmerkingen" in page.locator("#check-status").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Intrekken").click()
    expect(page.locator("#check-status")).to_contain_text("ingetrokken")
    assert _status(web_server, report_id, receipt).status_code == 404
    page.get_by_role("button", name="Bekijken").click()
    expect(page.locator("#check-status")).to_contain_text("Geen melding")
    # The browser logs the 404 answers as failed loads; nothing else may appear.
    assert [e for e in session.console_errors if "status of 404" not in e] == []


def test_service_worker_opens_the_page_offline(web_factory: Factory) -> None:
    session = _phone(web_factory)
    page = _open(session)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/report-sw.js")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => new URL(r.scope).pathname)") == "/report"
    # Send a report through the controlled page: the API never lands in the cache.
    _fill(page)
    _use_location(page)
    page.get_by_role("button", name="Melding versturen").click()
    _receipt(page)
    cached = page.evaluate(
        """async () => {
            const names = await caches.keys();
            const out = {};
            for (const name of names) {
                const keys = await (await caches.open(name)).keys();
                out[name] = keys.map(r => r.method + ' ' + new URL(r.url).pathname);
            }
            return out;
        }"""
    )
    assert len(cached) == 1
    [(name, keys)] = cached.items()
    assert re.fullmatch(r"straatstem-report-shell-v\d+", name)
    for path in ("/report", "/assets/report.js", "/assets/report.css", "/assets/icon.svg", "/report.webmanifest"):
        assert f"GET {path}" in keys
    assert any(re.fullmatch(r"GET /assets/marker-icon-\w+\.png", key) for key in keys)
    assert not any("/v1/" in key or not key.startswith("GET ") for key in keys)

    session.context.set_offline(True)
    # The worker's own network is cut too: a shell path it never cached fails instead of 404.
    probe = "() => fetch('/assets/never-cached.png').then(r => 'status ' + r.status, () => 'failed')"
    assert page.evaluate(probe) == "failed"
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("h1").inner_text() == "Straatintimidatie melden"
    assert page.locator("input[name=category]").count() == 8
    assert page.locator("path.municipality-outline").count() == 3
    session.context.set_offline(False)


def test_manifest_is_served_and_linked(web_server: WebServer) -> None:
    response = httpx.get(web_server.base + "/report.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] and manifest["short_name"]
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/report", "/report", "standalone")
    assert any(icon["src"] == "/assets/icon.svg" for icon in manifest["icons"])
    assert httpx.get(web_server.base + "/assets/icon.svg").status_code == 200
    page = httpx.get(web_server.base + "/report").text
    assert '<link rel="manifest" href="/report.webmanifest">' in page
    worker = httpx.get(web_server.base + "/report-sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")


def test_chromium_finds_the_report_page_installable(web: Session) -> None:
    """Chromium's own installability check (the one behind "Install app"), asked through the
    DevTools protocol once the service worker controls the page."""
    page = web.page
    page.goto(web.url("/report"))
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    cdp = web.context.new_cdp_session(page)
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    # Playwright's contexts are incognito, which alone blocks installing; every check about the
    # page itself (manifest, icons, start URL, service worker) must pass.
    assert [e for e in errors if e != "in-incognito"] == [], errors
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/report.webmanifest") and not manifest.get("errors")
