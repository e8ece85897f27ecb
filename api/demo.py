"""Demo data: three municipalities (Den Haag, Amsterdam, Almere) with plausible, clustered
synthetic reports over the last six closed months and the current one.

Reports cluster around places where street harassment is commonly reported (stations,
nightlife squares, parks), with category and time-of-day mixes that fit the place, plus a
thin background everywhere. Deterministic (fixed seed) so demos and screenshots repeat.
Inserted straight into the tables: demo rows skip proof-of-work and rate caps, but obey
every storage rule (res-9 cell in coverage, month only, no receipt anyone holds).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from api.intake.repository import REPORT_COLUMNS
from api.logging import get_logger
from api.municipalities import service as municipalities
from api.settings import Settings
from privacy import coarsen, location

log = get_logger("straatstem.demo")


@dataclass(frozen=True)
class Hotspot:
    lat: float
    lng: float
    weight: float
    spread_m: float
    kind: str  # station | nightlife | park | street


@dataclass(frozen=True)
class DemoCity:
    slug: str
    name: str
    lat: float
    lng: float
    radius_km: float
    reports: int
    hotspots: tuple[Hotspot, ...]


CITIES = (
    DemoCity(
        "den-haag",
        "Den Haag",
        52.0705,
        4.3007,
        6.0,
        2600,
        (
            Hotspot(52.0809, 4.3250, 3.0, 250, "station"),  # Den Haag Centraal
            Hotspot(52.0694, 4.3225, 2.0, 220, "station"),  # Hollands Spoor
            Hotspot(52.0766, 4.3090, 2.5, 200, "nightlife"),  # Plein / Grote Markt
            Hotspot(52.1117, 4.2797, 2.0, 350, "nightlife"),  # Scheveningen boulevard
            Hotspot(52.0577, 4.2923, 1.2, 300, "park"),  # Zuiderpark
            Hotspot(52.0680, 4.3100, 1.5, 300, "street"),  # Schilderswijk
        ),
    ),
    DemoCity(
        "amsterdam",
        "Amsterdam",
        52.3676,
        4.9041,
        8.0,
        3600,
        (
            Hotspot(52.3791, 4.9003, 3.0, 250, "station"),  # Centraal
            Hotspot(52.3641, 4.8828, 2.5, 180, "nightlife"),  # Leidseplein
            Hotspot(52.3663, 4.8964, 2.0, 160, "nightlife"),  # Rembrandtplein
            Hotspot(52.3737, 4.8983, 2.5, 200, "nightlife"),  # Wallen
            Hotspot(52.3121, 4.9470, 1.5, 350, "station"),  # Bijlmer ArenA
            Hotspot(52.3580, 4.8686, 1.2, 300, "park"),  # Vondelpark
            Hotspot(52.3889, 4.8378, 1.0, 250, "station"),  # Sloterdijk
        ),
    ),
    DemoCity(
        "almere",
        "Almere",
        52.3705,
        5.2150,
        5.0,
        1200,
        (
            Hotspot(52.3748, 5.2176, 2.5, 220, "station"),  # Almere Centrum
            Hotspot(52.3700, 5.2180, 1.5, 180, "nightlife"),  # Stadhuisplein
            Hotspot(52.3936, 5.2766, 1.2, 250, "station"),  # Almere Buiten
            Hotspot(52.3634, 5.1865, 1.0, 250, "station"),  # Muziekwijk
            Hotspot(52.3644, 5.2115, 1.0, 350, "park"),  # Weerwater
        ),
    ),
)

CATEGORY_MIX = {
    "station": {
        "verbal": 30,
        "nonverbal": 20,
        "following": 12,
        "physical": 10,
        "exposure": 4,
        "filming": 10,
        "threat": 9,
        "other": 5,
    },
    "nightlife": {
        "verbal": 35,
        "nonverbal": 15,
        "following": 10,
        "physical": 22,
        "exposure": 2,
        "filming": 4,
        "threat": 9,
        "other": 3,
    },
    "park": {
        "verbal": 15,
        "nonverbal": 15,
        "following": 22,
        "physical": 8,
        "exposure": 18,
        "filming": 5,
        "threat": 12,
        "other": 5,
    },
    "street": {
        "verbal": 38,
        "nonverbal": 22,
        "following": 12,
        "physical": 6,
        "exposure": 4,
        "filming": 4,
        "threat": 10,
        "other": 4,
    },
}
BAND_MIX = {
    "station": {"night": 10, "morning": 25, "afternoon": 30, "evening": 35},
    "nightlife": {"night": 45, "morning": 2, "afternoon": 13, "evening": 40},
    "park": {"night": 15, "morning": 15, "afternoon": 30, "evening": 40},
    "street": {"night": 12, "morning": 20, "afternoon": 33, "evening": 35},
}
FELT_BY_CATEGORY = {"physical": 1.6, "following": 1.8, "threat": 1.7, "exposure": 2.0}


def _pick(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _months(today: dt.date, count: int = 6) -> list[str]:
    first = today.replace(day=1)
    months: list[str] = []
    for back in range(count, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        months.append(f"{year:04d}-{month + 1:02d}")
    return months


def generate(city: DemoCity, coverage: set[int], today: dt.date, seed: int = 2026) -> list[tuple[object, ...]]:
    """Synthetic report rows for one city, all inside its coverage."""
    rng = random.Random(f"{seed}:{city.slug}")
    months = _months(today)
    # Older months a little quieter, the current (partial) month at about a third.
    month_weights = [0.8 + 0.05 * i for i in range(len(months) - 1)] + [0.35]
    total_weight = sum(h.weight for h in city.hotspots)
    rows: list[tuple[object, ...]] = []
    while len(rows) < city.reports:
        if rng.random() < 0.25:
            kind = "street"
            angle, dist = rng.uniform(0, 2 * math.pi), city.radius_km * 1000 * math.sqrt(rng.random())
            lat0, lng0, north, east = city.lat, city.lng, dist * math.cos(angle), dist * math.sin(angle)
        else:
            spot = rng.choices(city.hotspots, weights=[h.weight / total_weight for h in city.hotspots])[0]
            kind = spot.kind
            lat0, lng0 = spot.lat, spot.lng
            north, east = rng.gauss(0, spot.spread_m), rng.gauss(0, spot.spread_m)
        lat = lat0 + north / 111_320
        lng = lng0 + east / (111_320 * math.cos(math.radians(lat0)))
        cell = location.snap(lat, lng)
        if cell not in coverage:
            continue
        category = _pick(rng, CATEGORY_MIX[kind])
        felt_mean = FELT_BY_CATEGORY.get(category, 2.6)
        felt = None if rng.random() < 0.3 else min(5, max(1, round(rng.gauss(felt_mean, 0.8))))
        rows.append(
            (
                city.slug,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                cell,
                rng.choices(months, weights=month_weights)[0],
                _pick(rng, BAND_MIX[kind]),
                category,
                "victim" if rng.random() < 0.75 else "witness",
                felt,
                "nl" if rng.random() < 0.85 else "en",
                None,
                None,
                rng.randbytes(32),
            )
        )
    return rows


DEMO_LOGIN_FILE = "demo-staff-password"


def demo_password(settings: Settings) -> str:
    """The demo staff password: random, made on first start and kept in the data directory
    (mode 0600), so a demo is never reachable with a password printed in a README."""
    path = settings.data_dir / DEMO_LOGIN_FILE
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = "demo-" + secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    return password


def demo_staff(slug: str) -> list[tuple[str, str]]:
    return [(f"analyst@{slug}.example", "analyst"), (f"admin@{slug}.example", "admin")]


async def ensure_demo_data(pool: asyncpg.Pool, settings: Settings) -> list[str]:
    """Add the demo municipalities, reports, staff accounts and the releases of closed periods
    on first start; later starts change nothing. Returns lines that tell how to log in."""
    from aggregation import releases
    from api.releases.service import release_config
    from api.staff import service as staff

    async with pool.acquire() as conn:
        if await conn.fetchval("select exists (select 1 from municipality)"):
            path = settings.data_dir / DEMO_LOGIN_FILE
            return _login_lines(path.read_text().strip()) if path.exists() else []
        password = demo_password(settings)
        today = dt.datetime.now(coarsen.AMSTERDAM).date()
        for city in CITIES:
            cells = municipalities.cells_from_circle(f"{city.lat},{city.lng}", city.radius_km)
            async with conn.transaction():
                await municipalities.add(conn, city.slug, city.name, cells)
                rows = generate(city, cells, today)
                await conn.copy_records_to_table("report", records=rows, columns=REPORT_COLUMNS)
            log.info("demo municipality added", municipality=city.slug, cells=len(cells), count=len(rows))
            for email, role in demo_staff(city.slug):
                await staff.add_staff(conn, email, city.slug, role, password)
        built = await releases.build_due(conn, release_config(settings), today)
        log.info("demo releases built", count=sum(1 for b in built if b.built is not None))
        await _demo_discussions(conn, pool, settings)
    return _login_lines(password)


DEMO_QUESTION = "Wat moet er veranderen zodat iedereen zich veilig voelt op straat?"
DEMO_DESCRIPTION = "Deel je standpunt en stem op dat van anderen. Anoniem, en elke groep komt evenredig aan bod."
DEMO_SEEDS = (
    "Er moet meer en betere straatverlichting komen op fietsroutes.",
    "Handhavers moeten 's avonds vaker rondlopen bij stations.",
    "Scholen moeten lessen geven over straatintimidatie.",
    "Omstanders moeten leren hoe ze veilig kunnen ingrijpen.",
    "Camera's op straat maken het niet veiliger.",
)


async def _demo_discussions(conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings) -> None:
    """One open discussion per demo city, with seed statements, so the public page and the
    chatbot have something to show."""
    from api.deliberation.engine import build_engine
    from chatbot.engine import DiscussionSpec

    engine = build_engine(settings, pool)
    for city in CITIES:
        spec = DiscussionSpec(
            question=DEMO_QUESTION,
            description=DEMO_DESCRIPTION,
            languages=("nl", "en"),
            moderation="post",
            seed_statements=DEMO_SEEDS,
        )
        discussion = await engine.create(conn, city.slug, spec)
        await engine.set_state(conn, discussion, "open")
    log.info("demo discussions opened", count=len(CITIES))


def _login_lines(password: str) -> list[str]:
    emails = ", ".join(email for city in CITIES for email, _ in demo_staff(city.slug)[:1])
    return [
        f"  staff logins:   {emails} (and admin@<slug>.example)",
        f"  demo password:  {password}",
    ]
