"""`straatstem governance`: the documents follow the configuration and the live database, the
inventory covers every column, nothing secret is written, and bad input is one line, exit 2."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from aggregation import releases
from api.governance import documents, facts, inventory, notice, register
from api.governance.texts import GovernanceError
from api.releases.service import release_config
from api.settings import Settings
from chatbot.phrases import PHRASES
from privacy.coarsen import AMSTERDAM
from privacy.periods import parse_period
from tests.aggregation import seed
from tests.api.test_cli import run
from tests.conftest import make_settings

TODAY = dt.date(2026, 11, 24)
PDOK = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
REPO = Path(__file__).resolve().parents[2]
# The required fields of the Algoritmeregister publication standard 1.0 ("required": true in
# github.com/MinBZK/Algoritmeregister backend/app/schemas/config/v1_0.json).
STANDARD_REQUIRED = {
    "name",
    "description_short",
    "organization",
    "status",
    "contact_email",
    "publication_category",
    "lang",
}


def lexical(tmp: Path, **overrides: object) -> Settings:
    """Settings without the sentence model: the documents then name the lexical fallback, and no
    test waits for torch."""
    values: dict[str, object] = {"nlp_model": "lexical", "trusted_proxies": ()}
    values.update(overrides)
    return make_settings(tmp, **values)


async def build(pool: asyncpg.Pool, settings: Settings, **options: object) -> dict[str, str]:
    async with pool.acquire() as conn:
        collected = await facts.collect(conn, settings, None, TODAY)
    return documents.build(collected, documents.Options(output=Path("unused"), **options))


async def test_documents_follow_the_configuration(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    default = await build(clean, lexical(tmp_path))
    strict = await build(
        clean,
        lexical(
            tmp_path,
            release_k=7,
            staff_epsilon={"total": Fraction(1, 2), "band": Fraction(1, 4)},
            staff_epsilon_cap=Fraction(3, 2),
            public_threshold=15,
            raw_horizon_days=150,
            tile_url=PDOK,
        ),
        language="en",
    )
    heatmap = json.loads(default["algoritmeregister/den-haag/heatmap.json"])
    changed = json.loads(strict["algoritmeregister/den-haag/heatmap.json"])
    assert "k = 5" in heatmap["methods_and_models"] and "totaal 0,8" in heatmap["methods_and_models"]
    assert "k = 7" in changed["methods_and_models"] and "totaal 0,5, dagdeel 0,25" in changed["methods_and_models"]
    assert "plafond 1,5 per maand" in changed["methods_and_models"] and "minstens 15" in changed["methods_and_models"]
    assert "| k | 5 |" in default["dpia.md"] and "| k | 7 |" in strict["dpia.md"]
    assert "| epsilon staff: time of day | 0.25 |" in strict["dpia.md"]
    assert "120 dagen na de eerste dag" in default["dpia.md"] and "150 days after the first day" in strict["dpia.md"]
    assert "at the latest 150 days" in strict["privacy-notice.en.md"]
    # A base map is the only sub-processor of an otherwise embedded installation.
    assert json.loads(default["sub-processors.json"])["subprocessors"] == []
    assert "load nothing from other servers" in default["privacy-notice.en.md"]
    tiles = json.loads(strict["sub-processors.json"])["subprocessors"]
    assert [p["name"] for p in tiles] == ["https://service.pdok.nl"]
    assert "https://service.pdok.nl" in strict["privacy-notice.nl.md"] and "IP-adres" in strict["privacy-notice.nl.md"]
    assert "https://service.pdok.nl" in strict["dpia.md"]
    manifests = [json.loads(d["manifest.json"]) for d in (default, strict)]
    assert manifests[0]["settings_fingerprint"] != manifests[1]["settings_fingerprint"]
    assert manifests[1]["settings"]["release_k"] == 7 and manifests[1]["settings"]["tile_url"] == PDOK


async def test_the_ledger_appears_once_releases_are_built(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    settings = lexical(tmp_path)
    before = await build(clean, settings)
    assert "Nog geen publicaties: het grootboek is leeg." in before["dpia.md"]
    assert json.loads(before["algoritmeregister/den-haag/heatmap.json"])["status"] == "In ontwikkeling"
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-09"], 200))
        config = release_config(settings)
        await releases.build(conn, config, "den-haag", "staff", parse_period("2026-09"), TODAY)
        await releases.build(conn, config, "den-haag", "public", parse_period("2026-Q3"), TODAY)
    after = await build(clean, settings)
    dpia = after["dpia.md"]
    staff_row = (
        "| den-haag | medewerkers | 2026-09 | totaal 0,8, categorie 0,3, dagdeel 0,3, gevoel van veiligheid 0,3, "
        "categorie per dagdeel 0,3 | 2 | 2 | 0 |"
    )
    assert staff_row in dpia, dpia
    assert "| den-haag | publiek | 2026-Q3 | totaal 1 | 1 | 1 | 0 |" in dpia
    assert "het grootboek is leeg" not in dpia
    assert json.loads(after["algoritmeregister/den-haag/heatmap.json"])["status"] == "In gebruik"


async def test_every_column_is_in_the_inventory(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    async with clean.acquire() as conn:
        columns = await inventory.live_columns(conn)
    inventory.check_annotated(columns)
    live = {(c.table, c.name) for c in columns}
    assert {"report", "report_text", "staff_audit", "epsilon_ledger", "chat_state"} <= {t for t, _ in live}
    assert not set(inventory.COLUMNS) - live, "annotations of columns that no longer exist"
    assert not set(inventory.TABLES) - {t for t, _ in live}, "annotations of tables that no longer exist"
    rules = inventory.retention_rules(lexical(tmp_path), "en")
    assert {note.retention for note in inventory.TABLES.values()} <= set(rules)
    assert {own for _, own in inventory.COLUMNS.values() if own} <= set(rules)
    dpia = (await build(clean, lexical(tmp_path)))["dpia.md"]
    for table, column in live:
        section = dpia.split(f"#### `{table}`", 1)[1].split("####", 1)[0]
        assert f"| `{column}` |" in section, f"{table}.{column} missing from the DPIA"


class _Rollback(Exception):
    pass


@pytest.mark.parametrize(
    ("ddl", "named"),
    [
        ("alter table report add column gossip text", "column report.gossip"),
        ("create table mystery (id integer)", "table mystery"),
    ],
)
async def test_an_unannotated_column_stops_generation(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path, ddl: str, named: str
) -> None:
    async with clean.acquire() as conn:
        with pytest.raises(_Rollback):
            async with conn.transaction():
                await conn.execute(ddl)
                with pytest.raises(inventory.InventoryError, match=named):
                    await facts.collect(conn, lexical(tmp_path), None, TODAY)
                raise _Rollback
        # The schema change was rolled back: generation works again.
        await facts.collect(conn, lexical(tmp_path), None, TODAY)


async def test_register_entries_have_every_field_of_the_standard(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    assert {f.key for f in register.FIELDS if f.required} == STANDARD_REQUIRED
    contact = "privacy@den-haag.example"
    written = await build(clean, lexical(tmp_path), contact=contact)
    for kind in ("heatmap", "chatbot"):
        entry = json.loads(written[f"algoritmeregister/den-haag/{kind}.json"])
        assert list(entry) == [f.key for f in register.FIELDS]
        assert entry["contact_email"] == contact and entry["organization"] == "Gemeente Den Haag"
        assert entry["lang"] == "nld" and entry["standard_version"] == register.STANDARD_VERSION
        for spec in register.FIELDS:
            value = entry[spec.key]
            if spec.required:
                assert value, f"{kind}.{spec.key} is required"
            if spec.max_length is not None:
                assert len(value) <= spec.max_length, f"{kind}.{spec.key}: {len(value)} > {spec.max_length}"
            if spec.permitted and value:
                values = value if isinstance(value, list) else [value]
                assert set(values) <= set(spec.permitted), f"{kind}.{spec.key}: {values}"
            if spec.max_items is not None:
                assert len(value) <= spec.max_items
            if spec.grouping:
                assert all(set(item) == {"title", "link"} and all(item.values()) for item in value)
        rendered = written[f"algoritmeregister/den-haag/{kind}.md"]
        assert all(f"## {spec.title.nl}" in rendered for spec in register.FIELDS)
    placeholder = json.loads((await build(clean, lexical(tmp_path)))["algoritmeregister/den-haag/chatbot.json"])
    assert placeholder["contact_email"].startswith("[IN TE VULLEN:")


async def test_language_models_are_the_ones_actually_loaded(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-model"
    written = await build(clean, lexical(tmp_path, nlp_model=str(missing)), language="en")
    assert f"lexical fallback (no model at {missing})" in written["dpia.md"]
    chatbot = json.loads(written["algoritmeregister/den-haag/chatbot.json"])
    assert "alleen een stelling met dezelfde genormaliseerde tekst" in chatbot["methods_and_models"]
    assert "lexicon only (no model configured)" in written["sub-processors.md"]


def test_fingerprint_ignores_secrets_and_follows_settings(tmp_path: Path) -> None:
    base = lexical(tmp_path)
    other_key = lexical(tmp_path, secret_key=secrets.token_bytes(32))
    assert facts.fingerprint(base) == facts.fingerprint(other_key)
    assert facts.fingerprint(base) != facts.fingerprint(lexical(tmp_path, release_k=6))
    remote = lexical(tmp_path, database_url="postgresql://app:hunter2-pw@db.example.org:6432/straatstem?password=x2")
    published = facts.published_settings(remote)
    assert "secret_key" not in published
    assert published["database_url"] == "db.example.org:6432/straatstem"
    assert "hunter2" not in json.dumps(published)
    names = [p.name for p in facts.subprocessors(remote)]
    assert names == ["PostgreSQL: db.example.org:6432/straatstem"]
    # The same machine (socket or loopback) is no other party.
    assert facts.subprocessors(lexical(tmp_path, database_url="postgresql://app:pw@localhost/straatstem")) == []
    assert facts.subprocessors(lexical(tmp_path, database_url="postgresql://app@/straatstem?host=/run/pg")) == []
    # A website allowed to call the API from residents' browsers sees what they enter.
    cors = facts.subprocessors(lexical(tmp_path, cors_origins=("https://kaart.example.nl",)))
    assert [p.name for p in cors] == ["https://kaart.example.nl"] and "receipts" in cors[0].sees.en


def _web_texts() -> dict[str, dict[str, str]]:
    """`'report.key': 'text'` pairs of the reporting page, per language block."""
    source = (REPO / "api/web/src/report/texts.js").read_text(encoding="utf-8")
    nl, en = source.split("\n  en: {", 1)
    pattern = re.compile(r"'(report\.[A-Za-z0-9]+)':\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")")
    return {
        language: {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in pattern.finditer(text)}
        for language, text in (("nl", nl), ("en", en))
    }


async def test_privacy_notice_says_what_residents_are_told(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    web = _web_texts()
    written = await build(clean, lexical(tmp_path))
    for language in ("nl", "en"):
        keys = web[language]
        assert notice.WEB_STORED[language] == tuple(keys[f"report.stored{i}"] for i in range(1, 7))
        assert notice.WEB_NEVER[language] == tuple(keys[f"report.never{i}"] for i in range(1, 6))
        assert notice.WEB_DEVICE[language] == keys["report.storedDevice"]
        text = written[f"privacy-notice.{language}.md"]
        assert all(f"- {item}" in text for item in notice.WEB_STORED[language])
        assert all(f"- {item}" in text for item in notice.WEB_NEVER[language])
        assert PHRASES["privacy"][language] in text
        assert "Gemeente Den Haag" in text and ("[IN TE VULLEN:" in text or "[TO FILL IN:" in text)
    # The page states the text retention in words; it must be the retention the code applies.
    from aggregation.retention import TEXT_RETENTION_DAYS

    assert f"{TEXT_RETENTION_DAYS} dagen" in web["nl"]["report.stored6"]
    assert f"{TEXT_RETENTION_DAYS} days" in web["en"]["report.stored6"]


def _with_password(dsn: str, password: str) -> str:
    parts = urlsplit(dsn)
    user = (parts.username or "postgres") + ":" + password
    host = parts.netloc.split("@", 1)[1] if "@" in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


async def test_cli_writes_everything_and_no_secret(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    key = secrets.token_hex(32)
    password = "pw-" + secrets.token_hex(8)  # the test servers trust local connections and ignore it
    out = tmp_path / "gov"
    result = run(
        ["governance", "--output", str(out), "--language", "en"],
        _with_password(dsn, password),
        tmp_path,
        STRAATSTEM_SECRET_KEY=key,
        STRAATSTEM_NLP_MODEL="lexical",
        STRAATSTEM_TILE_URL=PDOK,
    )
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        [
            "algoritmeregister/den-haag/chatbot.json",
            "algoritmeregister/den-haag/chatbot.md",
            "algoritmeregister/den-haag/heatmap.json",
            "algoritmeregister/den-haag/heatmap.md",
            "dpia.md",
            "manifest.json",
            "privacy-notice.en.md",
            "privacy-notice.nl.md",
            "sub-processors.json",
            "sub-processors.md",
        ]
    )
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert key not in text and key.upper() not in text and password not in text, path
    manifest = json.loads((out / "manifest.json").read_text())
    today = dt.datetime.now(AMSTERDAM).date()
    assert manifest["generated_on"] in {(today - dt.timedelta(days=d)).isoformat() for d in (0, 1)}
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["settings_fingerprint"]) and manifest["version"]
    assert manifest["settings"]["tile_url"] == PDOK and "secret_key" not in manifest["settings"]
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert "# DPIA straatstem — Gemeente Den Haag" in (out / "dpia.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--municipality", "atlantis"], "no municipality 'atlantis'"),
        (["--output", "{file}/inside"], "cannot write to --output"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    dsn: str, hague: list[int], tmp_path: Path, args: list[str], message: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = [a.replace("{file}", str(blocker)) for a in args]
    result = run(["governance", *args], dsn, tmp_path, STRAATSTEM_NLP_MODEL="lexical")
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


def test_bad_options_are_refused_before_any_work(tmp_path: Path) -> None:
    """The same GovernanceError the command turns into one line and exit 2 (shown above)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GovernanceError, match="is a file"):
        documents.prepare_output(blocker)
    for bad in ("call me maybe", "http://insecure.example", "mailto:x@y.nl", "x" * 490 + "@example.org"):
        with pytest.raises(GovernanceError, match="--contact must be an e-mail address"):
            documents.check_contact(bad)
    assert documents.check_contact(" privacy@den-haag.nl ") == "privacy@den-haag.nl"
    assert documents.check_contact("https://www.denhaag.nl/privacy") == "https://www.denhaag.nl/privacy"
    documents.prepare_output(tmp_path / "new" / "folder")
    assert (tmp_path / "new" / "folder").is_dir() and not any((tmp_path / "new" / "folder").iterdir())


async def test_no_municipality_yet_is_an_error(clean: asyncpg.Pool, tmp_path: Path) -> None:
    async with clean.acquire() as conn:
        with pytest.raises(GovernanceError, match="no municipalities yet"):
            await facts.collect(conn, lexical(tmp_path), None, TODAY)
