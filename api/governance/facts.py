"""What the governance documents are generated from: the effective settings, the live database
(schema, municipalities, releases, the epsilon ledger, discussions) and the language models the
deliberation engine actually loads. Collected once, so every document states the same facts.

Nothing secret enters here: the settings are copied field by field without the secret key (or
any field that looks like a secret), and DATABASE_URL is reduced to its host and database name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib import metadata
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from aggregation import releases
from api.governance.inventory import Column, check_annotated, live_columns
from api.governance.texts import GovernanceError, Text
from api.settings import Settings

# Fields never copied into a document or the fingerprint, whatever their repr says.
_SECRET_NAME = re.compile(r"secret|password|passwd|token|credential|(^|_)key($|_)")


@dataclass(frozen=True)
class Bucket:
    """One bucket of the epsilon ledger: what a report in this month (staff) or quarter (public)
    has spent, per layer, against the cap that bucket was charged under."""

    audience: str
    period: str
    layers: dict[str, str]
    spent: str
    cap: str


@dataclass(frozen=True)
class Municipality:
    slug: str
    name: str
    cells: int
    releases: dict[str, int]  # audience -> number of frozen releases
    discussions: dict[str, int]  # state -> number of discussions
    ledger: list[Bucket]
    staff: dict[str, int]  # role -> active accounts
    staff_without_second_factor: int


@dataclass(frozen=True)
class SubProcessor:
    name: str
    role: Text
    sees: Text
    to_fill: Text


@dataclass(frozen=True)
class Facts:
    settings: Settings
    generated_on: dt.date
    version: str
    licence: str
    migrations: list[str]
    municipalities: list[Municipality]
    columns: list[Column]
    models: dict[str, str]  # nlp, toxicity, names: what each check uses (as /readyz says)
    semantic_model: bool
    published_settings: dict[str, object]
    fingerprint: str
    subprocessors: list[SubProcessor]


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {
            spec.name: getattr(value, spec.name)
            for spec in dataclasses.fields(value)
            if spec.repr and not _SECRET_NAME.search(spec.name)
        }
    if isinstance(value, Fraction):
        return releases.decimal_text(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items()) if not _SECRET_NAME.search(str(k))}
    if isinstance(value, tuple | list | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return None  # raw bytes are key material or nothing a reader needs
    return str(value)


def database_location(url: str | None) -> str:
    """Where the database is, without user, password or query parameters: "embedded",
    "host:port/db" or "unix socket DIR/db"."""
    if url is None:
        return "embedded"
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/")) or "(default)"
    if parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname}{port}/{database}"
    socket = parse_qs(parts.query).get("host", [""])[0]
    return f"unix socket {socket}/{database}" if socket else f"local default socket/{database}"


def published_settings(settings: Settings) -> dict[str, object]:
    """Every setting except secrets, as plain JSON values."""
    result: dict[str, object] = {}
    for spec in dataclasses.fields(settings):
        value = getattr(settings, spec.name)
        if not spec.repr or _SECRET_NAME.search(spec.name) or isinstance(value, bytes | bytearray):
            continue
        result[spec.name] = database_location(value) if spec.name == "database_url" else _plain(value)
    return result


def fingerprint(settings: Settings) -> str:
    """SHA-256 of the published settings in canonical JSON: equal configurations, equal prints."""
    canonical = json.dumps(published_settings(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _local_database(url: str) -> bool:
    """A Unix socket or loopback address: the database runs on the same machine as the server."""
    host = urlsplit(url).hostname
    return host is None or host in ("localhost", "127.0.0.1", "::1")


def subprocessors(settings: Settings) -> list[SubProcessor]:
    """Third parties that receive data because of the configuration. None by default."""
    from api.web.routes import tile_origin

    found: list[SubProcessor] = []
    if settings.tile_url:
        origin = tile_origin(settings.tile_url)
        found.append(
            SubProcessor(
                name=origin,
                role=Text(
                    "kaartondergrond (STRAATSTEM_TILE_URL): de browser van elke bezoeker haalt kaarttegels bij deze "
                    "server op",
                    "base map tiles (STRAATSTEM_TILE_URL): every visitor's browser fetches map tiles from this server",
                ),
                sees=Text(
                    "het IP-adres en de browser van bezoekers van de kaarten, en welk kaartgebied zij bekijken; op "
                    "/report is dat het gebied rond de plek die een melder kiest",
                    "visitors' IP addresses and browsers, and which map area they look at; on /report that is the "
                    "area around the place a reporter chooses",
                ),
                to_fill=Text(
                    "wie deze dienst levert, verwerkersovereenkomst of grondslag, bewaartermijn van hun logbestanden",
                    "who provides this service, processing agreement or legal basis, retention of their logs",
                ),
            )
        )
    if settings.database_url and not _local_database(settings.database_url):
        found.append(
            SubProcessor(
                name=f"PostgreSQL: {database_location(settings.database_url)}",
                role=Text(
                    "de database (DATABASE_URL) met alle tabellen van de gegevensinventaris",
                    "the database (DATABASE_URL) holding every table of the data inventory",
                ),
                sees=Text(
                    "alle opgeslagen gegevens, ook de toelichtingen bij meldingen en de stellingen",
                    "everything stored, including report descriptions and statements",
                ),
                to_fill=Text(
                    "wie deze server beheert; alleen een verwerker als dat een andere partij is dan de gemeente",
                    "who operates this server; a processor only if that is another party than the municipality",
                ),
            )
        )
    for origin in settings.cors_origins:
        found.append(
            SubProcessor(
                name=origin,
                role=Text(
                    "website die de API vanuit de browser van bezoekers mag aanroepen (STRAATSTEM_CORS_ORIGINS)",
                    "website allowed to call the API from visitors' browsers (STRAATSTEM_CORS_ORIGINS)",
                ),
                sees=Text(
                    "alles wat een bewoner op die website invult en terugkrijgt, ook bewijscodes en stellingen",
                    "everything a resident enters on that website and gets back, including receipts and statements",
                ),
                to_fill=Text(
                    "wie deze website beheert, en of zij gegevens van bezoekers bewaart of deelt",
                    "who runs this website, and whether it keeps or shares visitors' data",
                ),
            )
        )
    if settings.trusted_proxies:
        networks = ", ".join(str(n) for n in settings.trusted_proxies)
        found.append(
            SubProcessor(
                name=f"reverse proxy ({networks})",
                role=Text(
                    "proxy of load balancer vóór de server (STRAATSTEM_TRUSTED_PROXIES)",
                    "proxy or load balancer in front of the server (STRAATSTEM_TRUSTED_PROXIES)",
                ),
                sees=Text(
                    "de IP-adressen van alle bezoekers en alle verzoeken (ook de inhoud, als TLS daar eindigt)",
                    "every visitor's IP address and every request (also its content, if TLS ends there)",
                ),
                to_fill=Text(
                    "wie deze proxy beheert, en of die IP-adressen of verzoeken logt (en hoe lang)",
                    "who operates this proxy, and whether (and how long) it logs IP addresses or requests",
                ),
            )
        )
    return found


def _version() -> tuple[str, str]:
    try:
        meta = metadata.metadata("straatstem")
    except metadata.PackageNotFoundError:
        return "unknown", ""
    licence = (meta.get_all("License-Expression") or meta.get_all("License") or [""])[0]
    return (meta.get_all("Version") or ["unknown"])[0], licence


def language_models(settings: Settings) -> tuple[dict[str, str], bool]:
    """What each language check uses, loaded exactly as the server loads it (so a missing or broken
    model shows as the fallback it really is)."""
    from api.deliberation.engine import build_engine

    engine = build_engine(settings)
    return dict(engine.model_checks), bool(engine.embedder.semantic)


MIGRATIONS = "select name from schema_migration order by version"
RELEASE_COUNTS = "select audience, count(*)::int as n from release where municipality = $1 group by audience"
DISCUSSION_COUNTS = "select state, count(*)::int as n from discussion where municipality = $1 group by state"
STAFF_COUNTS = """
select role, count(*)::int as n, count(*) filter (where totp_sealed is null)::int as without_totp
  from staff where municipality = $1 and not disabled group by role
"""


async def _ledger(conn: asyncpg.Connection, slug: str) -> list[Bucket]:
    grouped: dict[tuple[str, str], list[releases.LedgerEntry]] = defaultdict(list)
    for entry in await releases.ledger(conn, slug):
        grouped[(entry.audience, entry.period)].append(entry)
    buckets = []
    for (audience, period), entries in sorted(grouped.items()):
        spent = sum((Fraction(Decimal(e.epsilon)) for e in entries), Fraction(0))
        buckets.append(
            Bucket(
                audience=audience,
                period=period,
                layers={e.layer: e.epsilon for e in entries},
                spent=releases.decimal_text(spent),
                cap=max((e.cap for e in entries), key=lambda text: Fraction(Decimal(text))),
            )
        )
    return buckets


async def collect(conn: asyncpg.Connection, settings: Settings, municipality: str | None, today: dt.date) -> Facts:
    from api.municipalities import repository

    columns = await live_columns(conn)
    check_annotated(columns)
    rows = await repository.list_all(conn)
    if municipality is not None:
        rows = [r for r in rows if r["slug"] == municipality]
        if not rows:
            raise GovernanceError(f"no municipality {municipality!r}; see `straatstem municipality list`")
    elif not rows:
        raise GovernanceError("no municipalities yet; add one with `straatstem municipality add` first")
    municipalities = []
    for row in rows:
        slug = row["slug"]
        staff = await conn.fetch(STAFF_COUNTS, slug)
        municipalities.append(
            Municipality(
                slug=slug,
                name=row["name"],
                cells=int(row["cells"]),
                releases={r["audience"]: r["n"] for r in await conn.fetch(RELEASE_COUNTS, slug)},
                discussions={r["state"]: r["n"] for r in await conn.fetch(DISCUSSION_COUNTS, slug)},
                ledger=await _ledger(conn, slug),
                staff={r["role"]: r["n"] for r in staff},
                staff_without_second_factor=sum(r["without_totp"] for r in staff),
            )
        )
    models, semantic = language_models(settings)
    version, licence = _version()
    return Facts(
        settings=settings,
        generated_on=today,
        version=version,
        licence=licence,
        migrations=[r["name"] for r in await conn.fetch(MIGRATIONS)],
        municipalities=municipalities,
        columns=columns,
        models=models,
        semantic_model=semantic,
        published_settings=published_settings(settings),
        fingerprint=fingerprint(settings),
        subprocessors=subprocessors(settings),
    )
