from __future__ import annotations

import h3.api.basic_int as h3i
import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import location

lat = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
lng = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)
res = st.integers(min_value=0, max_value=15)


@given(lat, lng, res)
def test_parse_cell_accepts_exactly_valid_res9_cells(a: float, b: float, r: int) -> None:
    cell = h3i.latlng_to_cell(a, b, r)
    text = h3i.int_to_str(cell)
    if r == location.REPORT_RESOLUTION:
        assert location.parse_cell(text) == cell
        assert location.parse_cell(text.upper()) == cell
    else:
        with pytest.raises(location.CellError, match=f"resolution {r}"):
            location.parse_cell(text)


@given(st.text(max_size=20))
def test_parse_cell_never_accepts_garbage(text: str) -> None:
    try:
        cell = location.parse_cell(text)
    except location.CellError:
        return
    assert h3i.is_valid_cell(cell) and h3i.get_resolution(cell) == 9


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_parse_cell_rejects_invalid_indexes(n: int) -> None:
    text = format(n, "x")
    if h3i.is_valid_cell(n) and h3i.get_resolution(n) == 9:
        assert location.parse_cell(text) == n
    else:
        with pytest.raises(location.CellError):
            location.parse_cell(text)


@given(lat, lng, st.integers(min_value=0, max_value=9))
def test_parents_come_from_the_hierarchy(a: float, b: float, r: int) -> None:
    cell = location.snap(a, b)
    assert h3i.get_resolution(cell) == 9
    p = location.parent(cell, r)
    assert h3i.get_resolution(p) == r
    if r < 9:
        # The chain is consistent: the parent of the next-finer ancestor is this ancestor.
        assert location.parent(location.parent(cell, r + 1), r) == p
    if r >= 7:
        assert cell in set(h3i.cell_to_children(p, 9))


def test_reindexing_a_point_can_disagree_with_the_hierarchy() -> None:
    # Why parents must come from cell_to_parent: some points' res-7 cell is not the res-7
    # ancestor of their res-9 cell. Find one near Den Haag to keep the reason demonstrated.
    mismatches = 0
    for i in range(400):
        a, b = 52.0 + i * 0.0007, 4.25 + i * 0.0011
        if h3i.latlng_to_cell(a, b, 7) != location.parent(location.snap(a, b), 7):
            mismatches += 1
    assert mismatches > 0


@pytest.mark.parametrize("a,b", [(float("nan"), 4.0), (52.0, float("inf")), (91.0, 4.0), (52.0, 181.0)])
def test_snap_refuses_bad_points_without_echoing_them(a: float, b: float) -> None:
    with pytest.raises(location.CoordinateError) as info:
        location.snap(a, b)
    assert "52" not in str(info.value) and "91" not in str(info.value)


def test_circle_coverage_is_res9_and_contains_centre() -> None:
    cells = location.cells_for_circle(52.08, 4.32, 1.0)
    assert all(h3i.get_resolution(c) == 9 for c in cells)
    assert location.snap(52.08, 4.32) in cells
    assert 20 < len(cells) < 50  # about pi km2 / 0.105 km2


def test_adjacent_polygons_split_cells_without_overlap() -> None:
    west = {
        "type": "Polygon",
        "coordinates": [[[4.30, 52.07], [4.32, 52.07], [4.32, 52.09], [4.30, 52.09], [4.30, 52.07]]],
    }
    east = {
        "type": "Polygon",
        "coordinates": [[[4.32, 52.07], [4.34, 52.07], [4.34, 52.09], [4.32, 52.09], [4.32, 52.07]]],
    }
    both = {
        "type": "Polygon",
        "coordinates": [[[4.30, 52.07], [4.34, 52.07], [4.34, 52.09], [4.30, 52.09], [4.30, 52.07]]],
    }
    a, b = location.cells_for_geojson(west), location.cells_for_geojson(east)
    assert a and b and not (a & b)
    assert a | b == location.cells_for_geojson(both)


def test_geojson_feature_collection_and_errors() -> None:
    poly = {"type": "Polygon", "coordinates": [[[4.30, 52.07], [4.32, 52.07], [4.32, 52.09], [4.30, 52.07]]]}
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": poly}]}
    assert location.cells_for_geojson(fc) == location.cells_for_geojson(poly)
    with pytest.raises(ValueError, match="no Polygon"):
        location.cells_for_geojson({"type": "Point", "coordinates": [4.3, 52.0]})
