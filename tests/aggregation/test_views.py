"""Views derived from monthly releases: common geometry, sums, filters, GeoJSON and CSV."""

from __future__ import annotations

import csv
import io
import itertools

import h3.api.basic_int as h3i
import msgspec
import pytest

from aggregation import views
from aggregation.releases import LAYER_PARTS, StaffRelease, compose_staff
from api.settings import DEFAULT_STAFF_EPSILON
from tests.aggregation import seed

_, COVERAGE = seed.patch(7)
LAYERS = DEFAULT_STAFF_EPSILON
MONTHS = ["2026-07", "2026-08", "2026-09"]


def _release(month: str, n: int, rng_seed: int) -> StaffRelease:
    rows = seed.clustered(COVERAGE, [month], n, seed=rng_seed, rare=0.0)
    counted = [(cell, category, band, felt or 0, 1) for cell, _, category, band, felt in rows]
    return compose_staff("den-haag", month, 5, LAYERS, COVERAGE, counted)


@pytest.fixture(scope="module")
def quarter() -> list[StaffRelease]:
    # Different volumes per month, so the months' geometries differ.
    return [_release(m, n, i) for i, (m, n) in enumerate(zip(MONTHS, [3000, 2000, 2500], strict=True))]


def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    (cell, res), (icell, ires) = outer, inner
    return ires >= res and (icell if ires == res else h3i.cell_to_parent(icell, res)) == cell


def test_quarter_view_adds_months_on_a_common_geometry(quarter: list[StaffRelease]) -> None:
    view = views.heatmap(quarter, "2026-Q3", views.select(None, None, list(LAYERS)))
    cells = [(h3i.str_to_int(c.cell), c.resolution) for c in view.cells]
    # the months differ, so the common geometry must have merged something
    assert len({tuple((u.cell, u.resolution) for u in r.units) for r in quarter}) > 1
    # no view cell is an ancestor of another
    as_set = {c for c, _ in cells}
    for cell, res in cells:
        assert all(h3i.cell_to_parent(cell, r) not in as_set for r in range(7, res))
    # each view value is the sum of the month values inside it, and every shown month unit
    # lies in exactly one view cell or a suppressed region
    suppressed = {h3i.str_to_int(s) for s in view.suppressed}
    for release in quarter:
        for unit in release.units:
            key = (h3i.str_to_int(unit.cell), unit.resolution)
            holders = [c for c in cells if _contains(c, key)]
            region = key[0] if key[1] == 7 else h3i.cell_to_parent(key[0], 7)
            assert len(holders) + (region in suppressed) == 1
    for view_cell, key in zip(view.cells, cells, strict=True):
        expected = sum(
            u.count for r in quarter for u in r.units if _contains(key, (h3i.str_to_int(u.cell), u.resolution))
        )
        assert view_cell.count == expected
        assert view_cell.interval is not None and view_cell.interval.low < expected < view_cell.interval.high
    assert view.totals.count == sum(c.count or 0 for c in view.cells)
    assert view.months == MONTHS
    assert view.epsilon_per_report["total"] == "0.8"  # a report lies in one month only


def test_combined_breakdowns_only_where_every_month_showed_them(quarter: list[StaffRelease]) -> None:
    view = views.heatmap(quarter, "2026-Q3", views.select(None, None, list(LAYERS)))
    shown = [c for c in view.cells if c.breakdowns and "category" in c.breakdowns]
    assert shown, "clustered data should pass the category rule somewhere"
    for c in shown:
        key = (h3i.str_to_int(c.cell), c.resolution)
        members = [u for r in quarter for u in r.units if _contains(key, (h3i.str_to_int(u.cell), u.resolution))]
        assert all("category" in u.layers for u in members)
        assert c.breakdowns is not None
        assert list(c.breakdowns["category"].values()) == [
            sum(u.layers["category"][i] for u in members) for i in range(len(LAYER_PARTS["category"]))
        ]


@pytest.mark.parametrize(
    ("category", "band", "layer"),
    [("verbal", None, "category"), (None, "night", "band"), ("verbal", "night", "category_band")],
)
def test_filters_read_their_layer_and_mark_withheld_cells(
    quarter: list[StaffRelease], category: str | None, band: str | None, layer: str
) -> None:
    selection = views.select(category, band, list(LAYERS))
    view = views.heatmap(quarter[:1], "2026-07", selection)
    assert view.layer == layer and selection.part is not None
    release = quarter[0]
    for cell, unit in zip(view.cells, release.units, strict=True):
        if layer in unit.layers:
            assert cell.count == unit.layers[layer][selection.part] and not cell.withheld
        else:
            assert cell.count is None and cell.withheld and cell.interval is None
    assert view.totals.withheld_cells == sum(1 for u in release.units if layer not in u.layers)


def test_filters_are_validated() -> None:
    with pytest.raises(views.FilterError, match="category must be one of"):
        views.select("shouting", None, list(LAYERS))
    with pytest.raises(views.FilterError, match="band must be one of"):
        views.select(None, "noon", list(LAYERS))
    with pytest.raises(views.FilterError, match="does not release"):
        views.select("verbal", "night", ["total", "category", "band"])


def test_views_are_deterministic(quarter: list[StaffRelease]) -> None:
    selection = views.select(None, None, list(LAYERS))
    first = msgspec.json.encode(views.heatmap(quarter, "2026-Q3", selection))
    again = [msgspec.json.decode(msgspec.json.encode(r), type=StaffRelease) for r in quarter]
    assert msgspec.json.encode(views.heatmap(again, "2026-Q3", selection)) == first


def test_geojson_is_rfc7946(quarter: list[StaffRelease]) -> None:
    view = views.heatmap(quarter[:1], "2026-07", views.select(None, None, list(LAYERS)))
    doc = views.geojson(view)
    assert doc["type"] == "FeatureCollection"
    features = doc["features"]
    assert isinstance(features, list) and len(features) == len(view.cells) + len(view.suppressed)
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 7
        assert all(4.0 < lng < 4.7 and 51.9 < lat < 52.2 for lng, lat in ring)  # [lng, lat] order
        area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
        assert area > 0  # exterior ring counterclockwise


def test_csv_has_one_row_per_cell_and_breakdown_columns(quarter: list[StaffRelease]) -> None:
    view = views.heatmap(quarter[:1], "2026-07", views.select(None, None, list(LAYERS)))
    rows = list(csv.DictReader(io.StringIO(views.csv_text(view))))
    assert len(rows) == len(view.cells) + len(view.suppressed)
    assert "category_verbal" in rows[0] and "band_night" in rows[0] and "felt_safety_none" in rows[0]
    assert {r["withheld"] for r in rows} <= {"true", "false", "suppressed"}


def test_res8_values_conserve_the_released_total(quarter: list[StaffRelease]) -> None:
    view = views.heatmap(quarter[:1], "2026-07", views.select(None, None, list(LAYERS)))
    coverage8 = sorted({h3i.cell_to_parent(c, 8) for c in COVERAGE})
    values, eligible = views.res8_values(view, coverage8)
    assert set(values) == set(coverage8)
    assert sum(values.values()) == pytest.approx(view.totals.count)
    suppressed = {h3i.str_to_int(s) for s in view.suppressed}
    assert not any(h3i.cell_to_parent(c, 7) in suppressed for c in eligible)


def test_trend_point_sums_shown_breakdowns(quarter: list[StaffRelease]) -> None:
    point = views.trend_point(quarter[0])
    assert point.total == sum(u.count for u in quarter[0].units)
    assert point.interval.low < point.total < point.interval.high
    assert point.breakdown_cells["category"] == sum(1 for u in quarter[0].units if "category" in u.layers)
