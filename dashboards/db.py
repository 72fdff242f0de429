"""TimescaleDB access for the reference system (asyncpg)."""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)


class Database:
    """A connection pool plus the schema; ``healthy()`` answers /healthz."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None

    async def open(self, timeout: float = 30.0) -> None:
        """Connect and apply the schema, retrying until ``timeout``: start order is free."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=4,
                                                       command_timeout=10)
                break
            except (OSError, asyncpg.PostgresError) as error:
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"database unreachable: {error}") from error
                log.warning("database not ready (%s); retrying", error)
                await asyncio.sleep(0.5)
        schema = resources.files("dashboards").joinpath("schema.sql").read_text()
        async with self._pool.acquire() as conn:
            await conn.execute(schema)
        log.info("database ready, schema applied")

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open")
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def healthy(self, timeout: float = 1.0) -> bool:
        """True when a trivial query answers within ``timeout`` seconds."""
        if self._pool is None:
            return False
        try:
            async with asyncio.timeout(timeout):
                async with self._pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
            return True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
