"""The web pages' server side without a browser: assets missing, security headers, the tile
setting's CSP entry, conditional requests and path safety."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.settings import SettingsError, load_settings
from api.web import routes as web
from tests.conftest import make_settings

TILES = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"


def _built(root: Path) -> Path:
    for name in web.REQUIRED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("<!--straatstem:head--><p>page</p>" if name.endswith(".html") else "x")
    return root


async def test_unbuilt_front_end_answers_with_what_to_run(client: httpx.AsyncClient, tmp_path: Path) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    runtime = app.state.runtime
    runtime.web = web.WebAssets(runtime.settings, tmp_path / "empty")
    for path in ("/", "/dashboard", "/report", "/assets/public.js"):
        response = await client.get(path)
        assert response.status_code == 503, path
        assert "npm run build" in response.text and "ops/dev.sh demo" in response.text
    # The API itself still works.
    assert (await client.get("/v1/taxonomy")).status_code == 200


async def test_pages_get_security_headers_and_revalidate(client: httpx.AsyncClient, tmp_path: Path) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    runtime = app.state.runtime
    runtime.web = web.WebAssets(runtime.settings, _built(tmp_path / "dist"))
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text == "<p>page</p>"  # no tile URL configured: nothing added to the head
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["referrer-policy"] == "no-referrer"
    again = await client.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    script = await client.get("/assets/public.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for bad in ("/assets/..%2Fpages%2Findex.html", "/assets/index.html", "/assets/.straatstem-x", "/assets/nope.js"):
        assert (await client.get(bad)).status_code == 404, bad


def test_tile_url_goes_into_the_page_and_the_policy(tmp_path: Path) -> None:
    tiles = TILES.replace("service.", "{s}.service.")
    settings = make_settings(tmp_path, tile_url=tiles, tile_attribution="Kaart <PDOK>")
    assets = web.WebAssets(settings, _built(tmp_path / "dist"))
    page = assets.files["pages/index.html"].body.decode()
    assert 'name="straatstem-tiles"' in page and "Kaart &lt;PDOK&gt;" in page
    policy = web.content_security_policy(settings)
    assert "img-src 'self' data: https://*.service.pdok.nl;" in policy
    assert "connect-src 'self';" in policy
    assert "pdok" not in web.content_security_policy(make_settings(tmp_path))


@pytest.mark.parametrize(
    "value", ["http://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/tiles.png", "https://a b/{z}/{x}/{y}"]
)
def test_tile_url_must_be_an_https_template(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TILE_URL"):
        load_settings({"STRAATSTEM_TILE_URL": value, "STRAATSTEM_DATA_DIR": str(tmp_path)})
    assert load_settings({"STRAATSTEM_TILE_URL": TILES, "STRAATSTEM_DATA_DIR": str(tmp_path)}).tile_url == TILES
