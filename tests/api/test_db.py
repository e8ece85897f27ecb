from __future__ import annotations

import asyncpg
import pytest

from api import db


async def test_migrations_apply_once_and_refuse_edited_history(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await db.migrate(conn) == []
        original = await conn.fetchval("select checksum from schema_migration where version = 1")
        await conn.execute("update schema_migration set checksum = 'edited' where version = 1")
        try:
            with pytest.raises(db.DatabaseError, match="changed after it was applied"):
                await db.migrate(conn)
        finally:
            await conn.execute("update schema_migration set checksum = $1 where version = 1", original)


def test_migration_files_are_numbered_without_gaps() -> None:
    found = db.migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert all(m.sql.strip() for m in found)


def test_with_database_keeps_socket_hosts_and_credentials() -> None:
    assert (
        db.with_database("postgresql://postgres@/postgres?host=/tmp/a/b", "x_1")
        == "postgresql://postgres@/x_1?host=/tmp/a/b"
    )
    assert (
        db.with_database("postgresql://u:p@db.example:5433/app?sslmode=require", "t")
        == "postgresql://u:p@db.example:5433/t?sslmode=require"
    )
    assert db.with_database("postgresql://u@h", "t") == "postgresql://u@h/t"
