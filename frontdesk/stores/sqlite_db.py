"""The SQLite connection every embedded store uses: one connection on one thread, so the
asyncio loop never blocks on a disk write or on another process holding the write lock; WAL
with synchronous=NORMAL survives any process crash (kill -9)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from frontdesk.stores.base import StoreUnavailable


def _wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """WAL mode (it stays set in the file). Switching needs a moment's exclusive lock, and
    SQLite answers "database is locked" at once instead of waiting for it when another process
    opens the same file at the same instant: so wait and try again, for up to 10 s."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


class Database:
    """One SQLite file on one thread: `run(fn)` calls fn(connection) there."""

    def __init__(
        self,
        path: Path,
        schema: str,
        columns: tuple[tuple[str, str, str], ...] = (),
        upgrade: Callable[[sqlite3.Connection], None] | None = None,
    ):
        """`columns`: (table, column, definition) added to a file made by an older version;
        `upgrade(connection)`: what else such a file needs, run once the schema is there."""
        self._upgrade = upgrade
        path.parent.mkdir(parents=True, exist_ok=True)
        self._columns = columns
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{path.stem}")
        self._path = path
        self._schema = schema
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None, check_same_thread=False)
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(self._schema)
            for table, column, definition in self._columns:
                present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            if self._upgrade is not None:
                self._upgrade(conn)
            self._conn = conn
        return self._conn

    async def run(self, fn, *args):
        def call():
            conn = self._connect()
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as err:
                raise StoreUnavailable(f"embedded store: {err}") from err

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def erase(self, fn, *args):
        """fn(connection, *args) in one transaction whose deleted rows are overwritten on disk
        (secure_delete), then the WAL folded into the file and emptied: what an erasure deletes
        keeps no copy in free pages or in the log. (A checkpoint another process's open read
        holds back leaves the log to be overwritten by later writes.)"""

        def op(conn):
            conn.execute("PRAGMA secure_delete=ON")
            try:
                with transaction(conn):
                    out = fn(conn, *args)
            finally:
                conn.execute("PRAGMA secure_delete=OFF")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return out

        return await self.run(op)

    async def close(self) -> None:
        """Close the file (again: nothing)."""
        if self._closed:
            return
        self._closed = True

        def shut():
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=True)


def transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    class _Tx:
        def __enter__(self):
            conn.execute("BEGIN IMMEDIATE")
            return conn

        def __exit__(self, exc_type, exc, tb):
            conn.execute("ROLLBACK" if exc_type else "COMMIT")
            return False

    return _Tx()
