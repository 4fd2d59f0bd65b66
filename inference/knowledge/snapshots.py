"""A knowledge base as one file and back (inference/kbshare.py ships these between workers):
export, load, an independent copy, and which shared version a local cache holds. A part of
KnowledgeBase (index.py), kept apart because it is about moving the whole, not its entries."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Self

from . import embedding
from .documents import KnowledgeError
from .records import ATTACHMENTS, DB_NAME, SCHEMA_VERSION


class Snapshots:
    directory: Path
    refresh_interval: float
    _lock: threading.RLock
    _db: sqlite3.Connection
    _generation: int

    @classmethod
    def open(cls, directory: Path | str, refresh_interval: float = 1.0) -> Self:
        raise NotImplementedError

    def _db_generation(self) -> int:
        raise NotImplementedError

    def _reembed_all(self) -> None:
        raise NotImplementedError

    def _reload(self) -> None:
        raise NotImplementedError

    @property
    def shared_version(self) -> int:
        """The version of the shared knowledge base this cache holds (meta 'shared_version'):
        0 = never loaded, -1 = changed locally and not (yet) published."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='shared_version'").fetchone()
            return int(row[0]) if row else 0

    def set_shared_version(self, version: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('shared_version', ?)", (str(version),))

    def export_snapshot(self, path: Path | str, attachments: dict[str, bytes] | None = None) -> None:
        """Write the whole knowledge base (entries, rows and their embeddings) to one SQLite
        file at ``path``: what another worker loads instead of embedding everything again.
        ``attachments`` (the trained router, ``name -> bytes``) travel inside the file,
        stamped with the generation they were made for: the one exported."""
        with self._lock:
            target = sqlite3.connect(path)
            try:
                self._db.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                target.execute("DELETE FROM meta WHERE key='shared_version'")
                target.execute(ATTACHMENTS)
                generation = self._db_generation()
                target.executemany(
                    "INSERT OR REPLACE INTO attachments VALUES (?,?,?)",
                    [(name, generation, data) for name, data in (attachments or {}).items()],
                )
                target.commit()
            finally:
                target.close()

    def load_snapshot(self, path: Path | str, version: int) -> tuple[int, dict[str, bytes]]:
        """Replace this knowledge base with a snapshot written by :meth:`export_snapshot`
        and mark it as holding shared ``version``. The generation only ever grows, so an
        answer policy trained on the old content retrains. Returns the snapshot's own
        generation and its attachments made for exactly that generation."""
        with self._lock:
            source = sqlite3.connect(path)
            try:
                schema = source.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if schema is None or int(schema[0]) != SCHEMA_VERSION:
                    raise KnowledgeError("invalid", f"snapshot schema {schema and schema[0]} is not {SCHEMA_VERSION}")
                snapshot_generation = int(source.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
                attachments: dict[str, bytes] = {}
                if source.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='attachments'").fetchone():
                    attachments = {
                        name: bytes(data)
                        for name, generation, data in source.execute("SELECT name, generation, data FROM attachments")
                        if generation == snapshot_generation
                    }
                before = max(self._generation, self._db_generation())
                source.backup(self._db)
            finally:
                source.close()
            self._db.execute("DROP TABLE IF EXISTS attachments")  # kept beside the cache, not in it
            loaded = self._db_generation()
            self._db.execute("UPDATE meta SET value=? WHERE key='generation'", (str(max(before, loaded) + 1),))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('shared_version', ?)", (str(version),))
            model = self._db.execute("SELECT value FROM meta WHERE key='embedder'").fetchone()
            if model and model[0] != embedding.MODEL_NAME:
                self._reembed_all()
            self._reload()
            return snapshot_generation, attachments

    def copy_to(self, directory: Path | str, refresh_interval: float | None = None) -> Self:
        """An independent copy of this knowledge base (same content, generation and shared
        version) in ``directory``: what a change is applied to while this one serves."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # a connection of its own reads the committed state (WAL: a consistent snapshot), so
        # readers of this knowledge base are not held up meanwhile
        source = sqlite3.connect(self.directory / DB_NAME, timeout=30)
        target = sqlite3.connect(directory / DB_NAME)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return type(self).open(directory, self.refresh_interval if refresh_interval is None else refresh_interval)
