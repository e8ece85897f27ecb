"""Differencing attack: an insider knows every report except whether one target report exists.
They read every period (months, the quarter), every filter (category, band, both), both
resolutions (staff res 9/8/7 and the public res 8/7 map) and derive what they can (differences
of views, quarter minus months). No released or derived number may be exact: each must vary
with the noise, so no single value tells the two worlds apart.

The geometry is decided on true counts (DESIGN.md section 3); the scenarios put the target where
the k rule gives both worlds the same geometry (a dense cell, and a cell alone in an otherwise
empty region, which is suppressed with or without it), and the test checks that it does.
A control run with the noise switched off must be caught, so the test can fail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import h3.api.basic_int as h3i
import pytest

from aggregation import releases, views
from aggregation.releases import compose_public, compose_staff
from api.settings import DEFAULT_STAFF_EPSILON
from privacy import noise
from tests.aggregation import seed

REGIONS, COVERAGE = seed.patch(3)
LAYERS = DEFAULT_STAFF_EPSILON
MONTHS = ["2026-07", "2026-08", "2026-09"]
REPEATS = 10
Row = seed.Row


def _others() -> list[Row]:
    # Dense, even data in the first six regions (every cell >= k in every part used, so the
    # geometry is res 9 with breakdowns shown); the last region stays empty.
    rows: list[Row] = []
    dense = [c for c in COVERAGE if h3i.cell_to_parent(c, 7) != REGIONS[-1]]
    for month in MONTHS:
        for cell in dense:
            rows += [(cell, month, "verbal", "night", 2)] * 6
            rows += [(cell, month, "physical", "evening", None)] * 5
    return rows


OTHERS = _others()
DENSE_CELL = next(c for c in COVERAGE if h3i.cell_to_parent(c, 7) != REGIONS[-1])
DENSE_TARGET: Row = (DENSE_CELL, "2026-08", "verbal", "night", 2)
LONELY_CELL = next(c for c in COVERAGE if h3i.cell_to_parent(c, 7) == REGIONS[-1])
LONELY_TARGET: Row = (LONELY_CELL, "2026-08", "verbal", "night", 2)


def _numbers(rows: list[Row]) -> tuple[dict[str, float], frozenset[str]]:
    """Every number an insider can read or derive, by name, and the shown geometry."""
    monthly = []
    for month in MONTHS:
        counted = [(c, cat, band, felt or 0, 1) for c, m, cat, band, felt in rows if m == month]
        monthly.append(compose_staff("x", month, 5, LAYERS, COVERAGE, counted))
    counted_q = [(c, cat, band, felt or 0, 1) for c, _, cat, band, felt in rows]
    public = compose_public("x", "2026-Q3", 5, {"total": Fraction(1)}, 10, COVERAGE, counted_q)

    out: dict[str, float] = {}
    shape: set[str] = set()
    selections = {
        "all": views.select(None, None, list(LAYERS)),
        "cat": views.select("verbal", None, list(LAYERS)),
        "band": views.select(None, "night", list(LAYERS)),
        "both": views.select("verbal", "night", list(LAYERS)),
    }
    quarter_totals: dict[str, float] = {}
    for name, selection in selections.items():
        month_totals = 0.0
        for i, month in enumerate(MONTHS):
            view = views.heatmap([monthly[i]], month, selection)
            _collect(out, shape, f"{month}/{name}", view)
            month_totals += view.totals.count
        quarter = views.heatmap(monthly, "2026-Q3", selection)
        _collect(out, shape, f"Q3/{name}", quarter)
        quarter_totals[name] = quarter.totals.count
        out[f"derived/{name}/quarter-minus-months"] = quarter.totals.count - month_totals
    # filtered minus unfiltered, a classic differencing attempt
    out["derived/cat-minus-all"] = quarter_totals["cat"] - quarter_totals["all"]
    out["derived/both-minus-band"] = quarter_totals["both"] - quarter_totals["band"]
    for cell in public.cells:
        out[f"public/{cell.cell}"] = releases.PUBLIC_BANDS.index(
            next(b for b in releases.PUBLIC_BANDS if releases.band_label(*b) == cell.band)
        )
        shape.add(f"public/{cell.cell}")
    return out, frozenset(shape)


def _collect(out: dict[str, float], shape: set[str], prefix: str, view: views.HeatmapView) -> None:
    out[f"{prefix}/total"] = view.totals.count
    for cell in view.cells:
        key = f"{prefix}/{cell.cell}/{cell.resolution}"
        shape.add(key + ("/withheld" if cell.withheld else ""))
        if cell.count is not None:
            out[key] = cell.count
        for layer, parts in (cell.breakdowns or {}).items():
            for part, value in parts.items():
                out[f"{key}/{layer}/{part}"] = value
    shape.update(f"{prefix}/suppressed/{s}" for s in view.suppressed)


def exact_recoveries(build: Callable[[list[Row]], tuple[dict[str, float], frozenset[str]]], target: Row) -> list[str]:
    """Names of numbers that are constant within each world and differ between them, i.e. that
    reveal the target with certainty."""
    samples: dict[str, dict[str, set[float]]] = {"without": defaultdict(set), "with": defaultdict(set)}
    shapes: dict[str, set[frozenset[str]]] = {"without": set(), "with": set()}
    for _ in range(REPEATS):
        for world, rows in (("without", OTHERS), ("with", [*OTHERS, target])):
            numbers, shape = build(rows)
            shapes[world].add(shape)
            for name, value in numbers.items():
                samples[world][name].add(value)
    assert shapes["without"] == shapes["with"], "the scenario must give both worlds the same geometry"
    revealing = []
    for name in samples["without"].keys() & samples["with"].keys():
        a, b = samples["without"][name], samples["with"][name]
        if len(a) == 1 and len(b) == 1 and a != b:
            revealing.append(name)
    return sorted(revealing)


@pytest.mark.parametrize("target", [DENSE_TARGET, LONELY_TARGET], ids=["dense-cell", "alone-in-a-region"])
def test_no_view_filter_period_or_resolution_reveals_the_target(target: Row) -> None:
    assert exact_recoveries(_numbers, target) == []


def test_the_attack_succeeds_without_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    # Control: with noise switched off, the same attacker recovers the target exactly.
    def exact(counts: Any, epsilon: Any, sensitivity: int = 1) -> list[int]:
        return [int(c) for c in counts]

    monkeypatch.setattr(noise, "noisy_counts", exact)
    found = exact_recoveries(_numbers, DENSE_TARGET)
    assert any(name.startswith("2026-08/all/") for name in found)
    assert "Q3/all/total" in found
