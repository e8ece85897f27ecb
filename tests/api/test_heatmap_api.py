"""Staff and public release endpoints on real PostgreSQL: periods, filters, formats, caching
validators, audit entries and tenant isolation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest

from aggregation import releases
from api.municipalities import service as municipalities
from api.releases.service import release_config
from api.settings import Settings
from privacy.periods import parse_period
from tests.aggregation import seed

TODAY = dt.date(2026, 11, 24)
MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10"]
StaffHeaders = Callable[..., Awaitable[dict[str, str]]]
BASE = "/v1/staff/municipalities"


@pytest.fixture
async def released(clean: asyncpg.Pool, hague: list[int], settings: Settings) -> list[int]:
    """Den Haag with four released months and a released Q3; Amsterdam with one month."""
    config = release_config(settings)
    amsterdam = municipalities.cells_from_circle("52.3731,4.8926", 0.6)
    async with clean.acquire() as conn:
        await municipalities.add(conn, "amsterdam", "Amsterdam", amsterdam)
        await seed.insert(conn, "den-haag", seed.clustered(hague, MONTHS, 6000, rare=0.05))
        await seed.insert(conn, "amsterdam", seed.clustered(amsterdam, ["2026-10"], 800))
        for month in MONTHS:
            await releases.build(conn, config, "den-haag", "staff", parse_period(month), TODAY)
        await releases.build(conn, config, "den-haag", "public", parse_period("2026-Q3"), TODAY)
        await releases.build(conn, config, "amsterdam", "staff", parse_period("2026-10"), TODAY)
    return hague


async def _audit(pool: asyncpg.Pool) -> list[tuple[str, str, str | None, str | None]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("select action, municipality, period, detail from staff_audit order by id")
    return [(r["action"], r["municipality"], r["period"], r["detail"]) for r in rows]


async def test_month_heatmap_is_byte_identical_cached_and_audited(
    client: httpx.AsyncClient, clean: asyncpg.Pool, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("analyst")
    first = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026-10"}, headers=headers)
    assert first.status_code == 200, first.text
    view = first.json()
    assert view["period"] == "2026-10" and view["months"] == ["2026-10"] and view["layer"] == "total"
    assert view["cells"] and all({"cell", "resolution", "count", "interval"} <= set(c) for c in view["cells"])
    assert view["epsilon_per_report"]["total"] == "0.8"
    assert first.headers["cache-control"] == "private, no-cache"
    # New reports for the month change nothing: the release is frozen.
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(released, ["2026-10"], 500, seed=3))
    again = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026-10"}, headers=headers)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    conditional = await client.get(
        f"{BASE}/den-haag/heatmap",
        params={"period": "2026-10"},
        headers={**headers, "If-None-Match": first.headers["etag"]},
    )
    assert conditional.status_code == 304 and conditional.content == b""
    reads = [a for a in await _audit(clean) if a[0] == "heatmap.read"]
    assert reads == [("heatmap.read", "den-haag", "2026-10", None)] * 3


async def test_quarter_is_a_sum_of_months_and_an_unreleased_year_is_404(
    client: httpx.AsyncClient, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("moderator")
    quarter = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026-Q3"}, headers=headers)
    assert quarter.status_code == 200
    assert quarter.json()["months"] == ["2026-07", "2026-08", "2026-09"]
    months = [
        (await client.get(f"{BASE}/den-haag/heatmap", params={"period": m}, headers=headers)).json()
        for m in ["2026-07", "2026-08", "2026-09"]
    ]
    assert quarter.json()["totals"]["count"] == sum(m["totals"]["count"] for m in months) or any(
        m["totals"]["suppressed_regions"] for m in months
    )
    year = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026"}, headers=headers)
    assert year.status_code == 404
    assert year.headers["content-type"].startswith("application/problem+json")
    assert "2026-01" in year.json()["detail"] and "2026-11" in year.json()["detail"]


@pytest.mark.parametrize(
    "period", ["2026-W40", "2026-10-01", "2026-10..2026-11", "last-month", "2026-13", "2026-q3", "", "0" * 17]
)
async def test_only_calendar_periods_exist(
    client: httpx.AsyncClient, released: list[int], staff_headers: StaffHeaders, period: str
) -> None:
    headers = await staff_headers("analyst")
    for path in ("heatmap", "heatmap.geojson", "hotspots", "exports/heatmap.csv"):
        response = await client.get(f"{BASE}/den-haag/{path}", params={"period": period}, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await client.get(f"{BASE}/den-haag/heatmap", headers=headers)
    assert missing.status_code == 400 and "period is required" in missing.json()["detail"]


async def test_filters_pick_a_breakdown_layer(
    client: httpx.AsyncClient, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("analyst")
    for params, layer in (
        ({"category": "verbal"}, "category"),
        ({"band": "night"}, "band"),
        ({"category": "verbal", "band": "night"}, "category_band"),
    ):
        response = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026-10", **params}, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["layer"] == layer and body["filter"] == params
        assert all(c["count"] is None if c.get("withheld") else isinstance(c["count"], int) for c in body["cells"])
    bad = await client.get(f"{BASE}/den-haag/heatmap", params={"period": "2026-10", "category": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid-filter"


async def test_geojson_hotspots_trends_and_ledger(
    client: httpx.AsyncClient, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("analyst")
    geo = await client.get(f"{BASE}/den-haag/heatmap.geojson", params={"period": "2026-Q3"}, headers=headers)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    doc = geo.json()
    assert doc["type"] == "FeatureCollection" and doc["features"]
    assert all(f["geometry"]["type"] == "Polygon" for f in doc["features"])

    spots = await client.get(f"{BASE}/den-haag/hotspots", params={"period": "2026-10"}, headers=headers)
    assert spots.status_code == 200, spots.text
    assert spots.json()["previous_period"] == "2026-09" and spots.json()["resolution"] == 8

    trends = await client.get(f"{BASE}/den-haag/trends", params={"from": "2026-06", "to": "2026-10"}, headers=headers)
    assert trends.status_code == 200
    t = trends.json()
    assert [p["month"] for p in t["series"]] == MONTHS and t["missing"] == ["2026-06"]
    assert set(t["series"][0]["category"]) >= {"verbal", "other"}
    backwards = await client.get(
        f"{BASE}/den-haag/trends", params={"from": "2026-10", "to": "2026-06"}, headers=headers
    )
    assert backwards.status_code == 400

    ledger = await client.get(f"{BASE}/den-haag/ledger", headers=headers)
    assert ledger.status_code == 200
    entries = ledger.json()["entries"]
    assert {(e["audience"], e["period"]) for e in entries} == {("staff", m) for m in MONTHS} | {("public", "2026-Q3")}


async def test_hotspots_find_a_planted_cluster(
    client: httpx.AsyncClient, clean: asyncpg.Pool, settings: Settings, staff_headers: StaffHeaders
) -> None:
    import h3.api.basic_int as h3i

    cells = sorted(municipalities.cells_from_circle("51.9225,4.4792", 3.0))  # Rotterdam, ~40 res-8 cells
    centre = h3i.latlng_to_cell(51.9225, 4.4792, 8)
    hot = [c for c in cells if h3i.grid_distance(h3i.cell_to_parent(c, 8), centre) <= 1]
    rows = seed.clustered(cells, ["2026-09"], 1500, seed=5)
    # October: an even background of k reports per cell (so the k rule keeps res 9) and a
    # cluster on the centre res-8 cell and its ring.
    rows += [(c, "2026-10", "other", "night", None) for c in cells for _ in range(5)]
    rows += [(hot[i % len(hot)], "2026-10", "verbal", "evening", None) for i in range(3000)]
    async with clean.acquire() as conn:
        await municipalities.add(conn, "rotterdam", "Rotterdam", cells)
        await seed.insert(conn, "rotterdam", rows)
        for month in ("2026-09", "2026-10"):
            await releases.build(conn, release_config(settings), "rotterdam", "staff", parse_period(month), TODAY)
    headers = await staff_headers("analyst", "rotterdam")
    spots = await client.get(f"{BASE}/rotterdam/hotspots", params={"period": "2026-10"}, headers=headers)
    assert spots.status_code == 200, spots.text
    body = spots.json()
    assert body["hot"], "the planted cluster must be a hot spot"
    assert body["hot"][0]["cell"] == h3i.int_to_str(centre)
    assert body["hot"][0]["trend"] == "up"  # it was not there in September
    assert all(h["q"] <= 0.05 and h["z"] > 0 for h in body["hot"])
    zs = [h["z"] for h in body["hot"]]
    assert zs == sorted(zs, reverse=True)
    csv_export = await client.get(
        f"{BASE}/rotterdam/exports/hotspots.csv", params={"period": "2026-10"}, headers=headers
    )
    assert csv_export.text.splitlines()[1].startswith(f"hot,1,{h3i.int_to_str(centre)},")


async def test_exports_are_downloads_and_audited(
    client: httpx.AsyncClient, clean: asyncpg.Pool, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("analyst")
    exported = await client.get(
        f"{BASE}/den-haag/exports/heatmap.csv", params={"period": "2026-10", "band": "night"}, headers=headers
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == (
        'attachment; filename="straatstem-den-haag-2026-10-heatmap-night.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and set(rows[0]) >= {"cell", "resolution", "count", "interval_low", "interval_high"}
    for name in ("heatmap.geojson", "hotspots.csv"):
        response = await client.get(f"{BASE}/den-haag/exports/{name}", params={"period": "2026-10"}, headers=headers)
        assert response.status_code == 200
    trends = await client.get(
        f"{BASE}/den-haag/exports/trends.csv", params={"from": "2026-07", "to": "2026-10"}, headers=headers
    )
    assert trends.status_code == 200 and trends.text.startswith("month,total,")
    unknown = await client.get(f"{BASE}/den-haag/exports/raw.csv", params={"period": "2026-10"}, headers=headers)
    assert unknown.status_code == 404
    actions = [a for a in await _audit(clean) if a[0].startswith("export.")]
    assert actions == [
        ("export.heatmap.csv", "den-haag", "2026-10", "band=night"),
        ("export.heatmap.geojson", "den-haag", "2026-10", None),
        ("export.hotspots.csv", "den-haag", "2026-10", None),
        ("export.trends.csv", "den-haag", "2026-07..2026-10", None),
    ]


STAFF_READS = [
    ("heatmap", {"period": "2026-10"}),
    ("heatmap.geojson", {"period": "2026-10"}),
    ("hotspots", {"period": "2026-10"}),
    ("trends", {"from": "2026-10", "to": "2026-10"}),
    ("ledger", {}),
    ("exports/heatmap.csv", {"period": "2026-10"}),
    ("exports/heatmap.geojson", {"period": "2026-10"}),
    ("exports/hotspots.csv", {"period": "2026-10"}),
    ("exports/trends.csv", {"from": "2026-10", "to": "2026-10"}),
]


@pytest.mark.parametrize("role", ["analyst", "moderator", "admin"])
async def test_tenant_isolation_every_endpoint_every_role(
    client: httpx.AsyncClient, clean: asyncpg.Pool, released: list[int], staff_headers: StaffHeaders, role: str
) -> None:
    headers = await staff_headers(role, "den-haag")
    # Amsterdam's own analyst reads first, so Amsterdam's views are cached: the fast path
    # (access check and audit in one statement) must refuse just the same.
    amsterdam = await staff_headers("analyst", "amsterdam")
    for path, params in STAFF_READS:
        assert (await client.get(f"{BASE}/amsterdam/{path}", params=params, headers=amsterdam)).status_code == 200
    unknown = await client.get(f"{BASE}/atlantis/heatmap", params={"period": "2026-10"}, headers=headers)
    assert unknown.status_code == 404
    before = await _audit(clean)
    for path, params in STAFF_READS:
        own = await client.get(f"{BASE}/den-haag/{path}", params=params, headers=headers)
        assert own.status_code == 200, (path, own.text)
        other = await client.get(f"{BASE}/amsterdam/{path}", params=params, headers=headers)
        assert other.status_code == 404, path
        assert other.content == unknown.content, path  # indistinguishable from a municipality that does not exist
        anonymous = await client.get(f"{BASE}/den-haag/{path}", params=params)
        assert anonymous.status_code == 401, path
    after = await _audit(clean)
    assert all(entry[1] == "den-haag" for entry in after[len(before) :])
    assert len(after) - len(before) == len(STAFF_READS)  # one entry per granted read, none for refusals


async def test_views_are_served_gzipped_when_accepted(
    client: httpx.AsyncClient, released: list[int], staff_headers: StaffHeaders
) -> None:
    headers = await staff_headers("analyst")
    url = f"{BASE}/den-haag/heatmap"
    plain = await client.get(url, params={"period": "2026-Q3"}, headers={**headers, "Accept-Encoding": "identity"})
    packed = await client.get(url, params={"period": "2026-Q3"}, headers={**headers, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and "Accept-Encoding" in packed.headers["vary"]
    assert packed.content == plain.content  # httpx decodes: the same view
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.headers["etag"] != plain.headers["etag"]
    refused = await client.get(
        url, params={"period": "2026-Q3"}, headers={**headers, "Accept-Encoding": "gzip;q=0, identity"}
    )
    assert "content-encoding" not in refused.headers


async def test_public_map_is_quarterly_and_transparent(client: httpx.AsyncClient, released: list[int]) -> None:
    response = await client.get("/v1/public/municipalities/den-haag/heatmap", params={"period": "2026-Q3"})
    assert response.status_code == 200 and response.headers["cache-control"].startswith("public")
    body = response.json()
    assert body["cells"] and all(c["resolution"] in (7, 8) for c in body["cells"])
    assert all(c["band"] in body["bands"] for c in body["cells"])
    month = await client.get("/v1/public/municipalities/den-haag/heatmap", params={"period": "2026-08"})
    assert month.status_code == 400
    later = await client.get("/v1/public/municipalities/den-haag/heatmap", params={"period": "2026-Q2"})
    assert later.status_code == 404 and later.json()["type"] == "/problems/not-released"
    nowhere = await client.get("/v1/public/municipalities/atlantis/heatmap", params={"period": "2026-Q3"})
    assert nowhere.status_code == 404
    info = await client.get("/v1/public/municipalities/den-haag/transparency")
    assert info.status_code == 200
    t = info.json()
    assert t["k"] == 5 and t["public_threshold"] == 10 and t["lifetime_epsilon_per_report"] == "3"
    assert {e["period"] for e in t["ledger"]["entries"]} == set(MONTHS) | {"2026-Q3"}
