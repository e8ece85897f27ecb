"""`straatstem reports import`: historical reports from CSV/JSONL on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import pytest

from api import importer
from api.importer import ImportFileError, ImportSummary
from privacy import coarsen, location
from tests.conftest import HAGUE

HEADER = "category,role,band,date,cell"


def this_month() -> str:
    return coarsen.month_of(dt.datetime.now(coarsen.AMSTERDAM))


def next_month() -> str:
    first = coarsen.parse_month(this_month())
    return coarsen.month_of_date(first + dt.timedelta(days=32))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def run(pool: asyncpg.Pool, path: Path, *, accept_valid: bool = False, progress: bool = False) -> ImportSummary:
    async with pool.acquire() as conn:
        return await importer.import_reports(conn, path, accept_valid=accept_valid, progress=progress)


async def reports(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch("select * from report order by month, category"))


async def texts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch("select * from report_text"))


async def dump(pool: asyncpg.Pool) -> str:
    """Every stored value of the report tables as text."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "select row_to_json(t)::text as j from report t union all select row_to_json(t)::text from report_text t"
        )
    return "\n".join(r["j"] for r in rows)


async def test_csv_comma_delimited_with_cells(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    c0, c1 = location.cell_hex(hague[0]), location.cell_hex(hague[1]).upper()
    path = write(
        tmp_path,
        "export.csv",
        "Category, Role ,band,date,cell,felt_safety,language\n"
        f"verbal,victim,evening,2024-03,{c0},2,\n"
        f"Threat,witness,night,2024-04-17,{c1},,en\n",
    )
    summary = await run(clean, path)
    assert summary.committed and summary.total == 2 and summary.accepted == 2 and summary.rejected == []
    assert "Accepted 2 of 2 rows" in summary.render()
    assert "cannot be withdrawn by receipt" in summary.render()
    stored = await reports(clean)
    assert [(r["category"], r["role"], r["band"], r["month"], r["language"], r["felt_safety"]) for r in stored] == [
        ("verbal", "victim", "evening", "2024-03", "nl", 2),
        ("threat", "witness", "night", "2024-04", "en", None),
    ]
    assert [r["cell"] for r in stored] == [hague[0], hague[1]]
    for r in stored:
        assert r["municipality"] == "den-haag" and uuid.UUID(str(r["id"])).version == 4
        assert r["submission_id"] is None and r["submission_mac"] is None and len(r["receipt_hash"]) == 32
    assert stored[0]["receipt_hash"] != stored[1]["receipt_hash"]
    assert await texts(clean) == []


async def test_semicolon_csv_with_bom_comma_decimals_and_ignored_columns(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    lat, lng = "52,07991234", "4,32471234"
    path = write(
        tmp_path,
        "excel.csv",
        "id;external_id;category;role;band;date;lat;lng;source;\r\n"
        f"SIG-0042-secret;ext-991;physical;victim;morning;2024-05-02;{lat};{lng};signalen;\r\n"
        ";;;;;;;;;\r\n"
        f'SIG-0043-secret;ext-992;"following";witness;afternoon;2024-05;"52.0799";"4.3247";signalen;\r\n',
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    summary = await run(clean, path)
    assert summary.committed and summary.total == 2 and summary.accepted == 2, summary.render()
    stored = await reports(clean)
    assert {r["cell"] for r in stored} == {location.snap(*HAGUE)}
    assert {r["month"] for r in stored} == {"2024-05"}
    assert "Ignored columns (never stored): external_id, id, source." in summary.render()
    stored_text = await dump(clean)
    for secret in ("52.0799", "52,0799", "4.3247", "4,3247", "SIG-00", "ext-99", "signalen"):
        assert secret not in stored_text
        assert secret not in summary.render()


async def test_jsonl_with_numbers_datetimes_and_blank_lines(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    lines = [
        # 23:30 UTC on 31 January is 00:30 on 1 February in Amsterdam: the Dutch month is kept.
        {"category": "filming", "role": "victim", "band": "night", "date": "2024-01-31T23:30:00Z", "lat": HAGUE[0],
         "lng": HAGUE[1], "felt_safety": 1, "id": 77},
        {"category": "exposure", "role": "witness", "band": "evening", "date": "2024-03-31T23:30:00+00:00",
         "cell": location.cell_hex(hague[2]), "felt_safety": None, "language": "en", "description": ""},
        {"category": "other", "role": "victim", "band": "afternoon", "date": "2023-12-31 23:59:59+01:00",
         "cell": location.cell_hex(hague[3]), "felt_safety": "4"},
    ]  # fmt: skip
    text = "\n".join(json.dumps(line) for line in lines[:2]) + "\n\n   \n" + json.dumps(lines[2]) + "\n"
    summary = await run(clean, write(tmp_path, "reports.ndjson", text))
    assert summary.committed and summary.accepted == 3, summary.render()
    by_category = {r["category"]: r for r in await reports(clean)}
    assert by_category["filming"]["month"] == "2024-02" and by_category["filming"]["cell"] == location.snap(*HAGUE)
    assert by_category["exposure"]["month"] == "2024-04" and by_category["exposure"]["language"] == "en"
    assert by_category["other"]["month"] == "2023-12" and by_category["other"]["felt_safety"] == 4
    assert await texts(clean) == []
    stored_text = await dump(clean)
    assert "52.0799" not in stored_text and "23:30" not in stored_text and "-31" not in stored_text


def good(cell: str, **overrides: str) -> dict[str, str]:
    row = {"category": "verbal", "role": "victim", "band": "evening", "date": "2024-03", "cell": cell}
    row.update(overrides)
    return row


def as_csv(rows: list[dict[str, str]], columns: Sequence[str]) -> str:
    def quote(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value

    return ",".join(columns) + "\n" + "".join(",".join(quote(r.get(c, "")) for c in columns) + "\n" for r in rows)


async def test_one_bad_row_stores_nothing_and_accept_valid_stores_the_rest(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    cell = location.cell_hex(hague[0])
    rows = [good(cell), good(cell, band="night"), good(cell, category="robbery"), good(cell, role="witness")]
    path = write(tmp_path, "mixed.csv", as_csv(rows, ("category", "role", "band", "date", "cell")))

    summary = await run(clean, path)
    assert not summary.committed
    assert summary.total == 4 and summary.accepted == 3 and summary.rejected == [(4, "unknown category")]
    rendered = summary.render()
    assert "unknown category: 1 (row 4)" in rendered
    assert "1 row was rejected" in rendered and "store only the 3 valid rows" in rendered
    assert "Nothing was stored" in rendered and "robbery" not in rendered
    assert await reports(clean) == []

    summary = await run(clean, path, accept_valid=True)
    assert summary.committed and summary.accepted == 3 and summary.rejected == [(4, "unknown category")]
    assert (
        "Stored 3 reports" in summary.render() and "Rejected rows not stored (--accept-valid): 1." in summary.render()
    )
    assert len(await reports(clean)) == 3


async def test_every_rejection_reason_names_the_row_and_never_a_value(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    cell = location.cell_hex(hague[0])
    res8 = location.cell_hex(location.parent(hague[0], 8))
    amsterdam = location.cell_hex(location.snap(52.3676, 4.9041))
    future = next_month()
    tomorrow = (dt.datetime.now(coarsen.AMSTERDAM) + dt.timedelta(days=2)).isoformat()
    cases: list[tuple[dict[str, str], str]] = [
        (good(cell), ""),
        (good(cell, category=""), "category missing"),
        (good(cell, category="robbery"), "unknown category"),
        (good(cell, role="bystander"), "unknown role (use victim or witness)"),
        (good(cell, band="noon"), "unknown band (use night, morning, afternoon or evening)"),
        (good(cell, language="de"), "unknown language (use nl or en)"),
        (good(cell, felt_safety="6"), "felt_safety is not a whole number from 1 to 5"),
        (good(cell, felt_safety="2.5"), "felt_safety is not a whole number from 1 to 5"),
        (good(res8), "cell is not a valid resolution-9 H3 cell"),
        (good("8f1234567890abc"), "cell is not a valid resolution-9 H3 cell"),
        (good(""), "needs either cell or lat and lng"),
        (good(cell, lat="52.0801"), "both cell and lat/lng given; give one"),
        (good("", lat="52.0802"), "lat and lng must be given together"),
        (good("", lat="95.25", lng="4.3"), "lat/lng out of range"),
        (good("", lat="52.08N", lng="4.3"), "lat/lng is not a decimal number"),
        (good("", lat="1,234.5", lng="4.3"), "lat/lng is not a decimal number"),
        (good(amsterdam), "outside coverage"),
        (good("", lat="52.3676", lng="4.9041"), "outside coverage"),
        (good(cell, date=future), "date in the future"),
        (good(cell, date=tomorrow), "date in the future"),
        (good(cell, date=""), "date missing or not YYYY-MM[-DD] or an ISO 8601 date-time"),
        (good(cell, date="05-03-2024"), "date missing or not YYYY-MM[-DD] or an ISO 8601 date-time"),
        (good(cell, date="2024-02-30"), "date is not a real calendar date"),
        (good(cell, date="2024-13"), "date is not a real calendar date"),
        (good(cell, date="2024-03-05T10:00:00"), "date-time without UTC offset (add Z or +01:00)"),
        (good(cell, description="x" * 1001), "description longer than 1000 characters"),
        (good(cell, description="hallo\x00daar"), "description contains the NUL character (U+0000)"),
    ]
    columns = ("category", "role", "band", "date", "cell", "lat", "lng", "language", "felt_safety", "description")
    text = as_csv([row for row, _ in cases], columns) + f"verbal,victim,evening,2024-03,{cell},,,,,,extra\n"
    summary = await run(clean, write(tmp_path, "bad.csv", text))
    expected = [(number, reason) for number, (_, reason) in enumerate(cases, start=2) if reason]
    expected.append((len(cases) + 2, "more cells than header columns"))
    assert summary.rejected == expected
    assert summary.accepted == 1 and not summary.committed
    rendered = summary.render()
    for value in ("robbery", "bystander", res8, "8f1234567890abc", amsterdam, "52.08", "95.25", "52.3676", future):
        assert value not in rendered
    assert "outside coverage: 2 (rows 18, 19)" in rendered

    summary = await run(clean, write(tmp_path, "bad.csv", text), accept_valid=True)
    assert summary.committed and summary.accepted == 1
    assert len(await reports(clean)) == 1


async def test_all_rows_rejected_with_accept_valid_stores_nothing(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    rows = [good(location.cell_hex(hague[0]), band="noon")] * 12
    summary = await run(clean, write(tmp_path, "bad.csv", as_csv(rows, ("category", "role", "band", "date", "cell"))))
    assert not summary.committed and summary.accepted == 0
    rendered = summary.render()
    assert "(rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more)" in rendered
    summary = await run(clean, write(tmp_path, "bad.csv", as_csv(rows, HEADER.split(","))), accept_valid=True)
    assert not summary.committed and "no row was valid" in summary.render()
    assert await reports(clean) == []


async def test_description_is_scrubbed_and_stored_apart(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    cell = location.cell_hex(hague[0])
    month = this_month()
    rows = [
        good(cell, date=month, description="  Hij riep me na, bel me op 06-12345678  "),
        good(cell, date=month, description="\u200b"),
        good(cell, date="2020-01", description="Oud verhaal met 06-87654321"),
    ]
    columns = ("category", "role", "band", "date", "cell", "description")
    summary = await run(clean, write(tmp_path, "text.csv", as_csv(rows, columns)))
    assert summary.committed and summary.accepted == 3
    assert summary.texts_stored == 1 and summary.texts_dropped_expired == 1
    assert "past the 90-day text retention: 1." in summary.render()
    stored = await texts(clean)
    assert len(stored) == 1
    body = stored[0]
    assert body["body"] == "Hij riep me na, bel me op [phone]" and body["pii_removed"] == ["phone"]
    assert body["month"] == month and body["language"] == "nl" and body["municipality"] == "den-haag"
    everything = await dump(clean)
    assert "12345678" not in everything and "87654321" not in everything and "Oud verhaal" not in everything
    async with clean.acquire() as conn:
        report_only = "\n".join(r["j"] for r in await conn.fetch("select row_to_json(t)::text as j from report t"))
    assert "riep" not in report_only


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.xlsx", "x", "unsupported file type .xlsx: use .csv or .jsonl"),
        ("r", "x", "unsupported file type (none)"),
        ("r.csv", HEADER + ",postcode\n", "unknown column(s) 'postcode'"),
        ("r.csv", "category;role;band;cell\n", "missing column(s): date"),
        ("r.csv", "category,role,band,date,lat\n", "missing column(s): lng"),
        ("r.csv", "category,role,band,date\n", "missing column(s): cell (or lat and lng)"),
        ("r.csv", HEADER + ",Band\n", "column(s) 'band' appear more than once"),
        ("r.csv", 'category,role,band,date,cell\n"verbal,victim\n', "is not valid CSV"),
        ("r.jsonl", '{"category": "verbal"}\n\n{"category": \n', "line 3 is not valid JSON"),
        ("r.jsonl", "[1, 2]\n", "line 1 is not a JSON object"),
        ("r.jsonl", '{"category": "verbal", "role": "victim", "band": "night", "date": "2024-01", "gps": 1}\n',
         "unknown column(s) 'gps'"),
        ("r.jsonl", '{"category": "verbal", "role": "victim", "band": "night", "cell": "89"}\n',
         "missing column(s): date"),
    ],
)  # fmt: skip
async def test_file_level_errors_say_what_to_fix(
    clean: asyncpg.Pool, tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(ImportFileError) as raised:
        await run(clean, write(tmp_path, name, text))
    assert message in str(raised.value)
    assert await reports(clean) == []


async def test_unreadable_files_and_headerless_files(clean: asyncpg.Pool, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="not UTF-8 text"):
        await run(clean, write(tmp_path, "latin1.csv", HEADER + "\nverbal,victim,evening,2024-03,caf\xe9\n", "latin-1"))
    with pytest.raises(ImportFileError, match="cannot read"):
        await run(clean, tmp_path / "missing.csv")
    # Without a header the first data row would be read as column names: never echo it.
    headerless = "verbal;victim;evening;2024-03;52,0799;4,3247\n"
    with pytest.raises(ImportFileError) as raised:
        await run(clean, write(tmp_path, "noheader.csv", headerless))
    assert "no known column name" in str(raised.value) and "52" not in str(raised.value)
    with pytest.raises(ImportFileError) as raised:
        await run(clean, write(tmp_path, "half.csv", HEADER + ",52.0799,Hij riep\n"))
    assert "52.0799" not in str(raised.value) and "'hij riep'" in str(raised.value)
    assert "1 whose names do not look like column names" in str(raised.value)


@pytest.mark.parametrize(
    ("name", "text"), [("e.csv", ""), ("h.csv", "\ufeff" + HEADER + "\n,,,,\n"), ("e.jsonl", "\n \n")]
)
async def test_empty_files_store_nothing_and_say_so(clean: asyncpg.Pool, tmp_path: Path, name: str, text: str) -> None:
    summary = await run(clean, write(tmp_path, name, text))
    assert summary.total == 0 and not summary.committed
    assert summary.render() == "No data rows found in the file: nothing was stored."


async def test_many_rows_are_fast_shuffled_and_show_progress(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = ("verbal", "nonverbal", "following", "physical", "exposure", "filming", "threat", "other")
    months = [f"2023-{m:02d}" for m in range(1, 13)]
    rows = [(categories[i % 8], months[(i // 8) % 12], location.cell_hex(hague[i % len(hague)])) for i in range(20_000)]
    text = HEADER + "\n" + "".join(f"{c},victim,evening,{m},{cell}\n" for c, m, cell in rows)
    started = time.perf_counter()
    summary = await run(clean, write(tmp_path, "big.csv", text), progress=True)
    elapsed = time.perf_counter() - started
    assert summary.committed and summary.accepted == 20_000
    assert elapsed < 8, f"importing 20k rows took {elapsed:.1f} s"
    async with clean.acquire() as conn:
        physical = [
            (r["category"], r["month"], location.cell_hex(r["cell"]))
            for r in await conn.fetch("select category, month, cell from report order by ctid")
        ]
    assert sorted(physical) == sorted(rows)
    assert physical != rows  # the file's order is not the table's order
    err = capsys.readouterr().err
    assert "\rchecking: 1000/20000 rows" in err and "storing: 20000/20000 reports" in err and err.endswith("\n")


async def test_progress_is_silent_when_disabled(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "one.csv", HEADER + f"\nverbal,victim,evening,2024-03,{location.cell_hex(hague[0])}\n")
    summary = await run(clean, path)
    assert summary.committed
    assert capsys.readouterr().err == ""


def test_summary_render_groups_reasons_without_a_database() -> None:
    summary = ImportSummary(
        total=5, accepted=2, rejected=[(3, "outside coverage"), (2, "unknown category"), (5, "outside coverage")]
    )
    lines = summary.render().splitlines()
    assert lines[0] == "Accepted 2 of 5 rows; rejected 3."
    assert lines[2] == "  outside coverage: 2 (rows 3, 5)"
    assert lines[3] == "  unknown category: 1 (row 2)"
