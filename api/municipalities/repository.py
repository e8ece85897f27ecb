"""SQL of the municipality capability."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

LIST = """
select m.slug, m.name, count(c.cell) as cells
  from municipality m left join coverage c on c.municipality = m.slug
 group by m.slug, m.name order by m.slug
"""
EXISTS = "select 1 from municipality where slug = $1"
INSERT = "insert into municipality (slug, name) values ($1, $2)"
COVERAGE = "select cell from coverage where municipality = $1 order by cell"
CLAIM = """
insert into coverage (cell, municipality)
select cell, $2 from unnest($1::bigint[]) as cell
on conflict (cell) do nothing
"""


async def list_all(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(LIST))


async def exists(conn: asyncpg.Connection, slug: str) -> bool:
    return bool(await conn.fetchval(EXISTS, slug))


async def coverage(conn: asyncpg.Connection, slug: str) -> list[int]:
    return [r["cell"] for r in await conn.fetch(COVERAGE, slug)]


async def add(conn: asyncpg.Connection, slug: str, name: str, cells: Iterable[int]) -> int:
    """Insert a municipality and claim the cells no other municipality holds yet.
    Returns how many cells it got. Caller owns the transaction."""
    await conn.execute(INSERT, slug, name)
    result = await conn.execute(CLAIM, sorted(cells), slug)
    return int(result.split()[-1])
