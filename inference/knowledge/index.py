"""A tenant's knowledge base: entries persisted in SQLite under the tenant's directory, and a
hybrid in-memory index (WordLlama embeddings + BM25) rebuilt from it at open and updated
incrementally on every upsert and delete.

Rows of the index:
- an FAQ entry has one *chunk* row (question + answer, what a hit shows) and one *alias*
  row per phrasing (its question and each example), all pointing at the entry;
- a document has one chunk row per chunk (see ``documents.chunk_text``).

A search scores every row, ``W_DENSE * cosine + W_SPARSE * normalised BM25``, and keeps
each entry's best row, so a hit is one entry with the passage that matched best.

Several processes may open the same directory (one per inference worker): every write
bumps a generation counter in the database, and a reader whose generation is behind
reloads before answering (checked at most every ``refresh_interval`` seconds).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import embedding
from .bm25 import BM25Index, term_counts
from .documents import (
    DocumentRecord,
    FaqEntry,
    KnowledgeError,
    check_id,
    chunk_text,
    extract_text,
    record_from_object,
)
from .records import DB_NAME, SCHEMA, SCHEMA_VERSION, EntryInfo, Hit, Row, text_hash
from .snapshots import Snapshots

W_DENSE = 0.5
W_SPARSE = 0.5


class KnowledgeBase(Snapshots):
    """One tenant's knowledge base.  Use :meth:`open`; the object is thread-safe."""

    def __init__(self, directory: Path, refresh_interval: float = 1.0):
        self.directory = Path(directory)
        self.refresh_interval = refresh_interval
        self._lock = threading.RLock()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.directory / DB_NAME, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._check_schema()
        self._generation = -1
        self._checked_at = 0.0
        self._reload()

    @classmethod
    def open(cls, directory: Path | str, refresh_interval: float = 1.0) -> KnowledgeBase:
        return cls(Path(directory), refresh_interval)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ state

    def _check_schema(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('embedder', ?)", (embedding.MODEL_NAME,))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
        elif int(row[0]) != SCHEMA_VERSION:
            raise KnowledgeError("invalid", f"knowledge base schema {row[0]} is not {SCHEMA_VERSION}")
        model = self._db.execute("SELECT value FROM meta WHERE key='embedder'").fetchone()
        if model and model[0] != embedding.MODEL_NAME:
            self._reembed_all()

    def _db_generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])

    @property
    def generation(self) -> int:
        """Changes whenever the knowledge base changes (any process)."""
        self.refresh()
        return self._generation

    def refresh(self, force: bool = False) -> bool:
        """Reload if another process changed the knowledge base; True when it reloaded."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_interval:
            return False
        with self._lock:
            self._checked_at = now
            if self._db_generation() != self._generation:
                self._reload()
                return True
        return False

    def _reload(self) -> None:
        with self._lock:
            gen = self._db_generation()
            self._rows: list[Row | None] = []
            self._by_entry: dict[str, list[int]] = {}
            self._ord_of: dict[str, int] = {}
            self._ord_entry: list[str] = []
            self._entries: dict[str, dict] = {}
            self._bm25 = BM25Index()
            vectors: list[bytes] = []
            for eid, kind, title, body, examples, url, updated in self._db.execute(
                "SELECT id, kind, title, body, examples, url, updated_at FROM entries"
            ):
                self._entries[eid] = {
                    "kind": kind,
                    "title": title,
                    "body": body,
                    "examples": json.loads(examples),
                    "url": url,
                    "updated_at": updated,
                }
            for eid, seq, role, heading, text, blob in self._db.execute(
                "SELECT entry_id, seq, role, heading, text, embedding FROM rows ORDER BY rowid"
            ):
                if eid not in self._entries:
                    continue
                idx = len(self._rows)
                loaded = Row(eid, seq, role, heading, text)
                self._rows.append(loaded)
                self._by_entry.setdefault(eid, []).append(idx)
                self._bm25.add(idx, self._index_text(loaded))
                vectors.append(blob)
            self._bm25.compile()
            dim = embedding.MODEL_DIM
            cap = max(len(vectors), 64)
            self._emb = np.zeros((cap, dim), dtype=np.float32)
            if vectors:
                self._emb[: len(vectors)] = np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(-1, dim)
            self._alive = np.zeros(cap, dtype=bool)
            self._alive[: len(vectors)] = True
            self._row_ord = np.zeros(cap, dtype=np.int64)
            self._row_doc = np.zeros(cap, dtype=bool)
            for idx, row in enumerate(self._rows):
                if row is not None:  # just loaded: every row is alive
                    self._set_row_meta(idx, row)
            self._generation = gen
            self._checked_at = time.monotonic()

    def _set_row_meta(self, idx: int, row: Row) -> None:
        ordinal = self._ord_of.get(row.entry_id)
        if ordinal is None:
            ordinal = self._ord_of[row.entry_id] = len(self._ord_entry)
            self._ord_entry.append(row.entry_id)
        self._row_ord[idx] = ordinal
        self._row_doc[idx] = self._entries[row.entry_id]["kind"] == "document"

    def _index_text(self, row: Row) -> str:
        if row.role == "chunk":
            entry = self._entries[row.entry_id]
            prefix = entry["title"] if entry["kind"] == "document" else ""
            return " ".join(p for p in (prefix, row.heading, row.text) if p)
        return row.text

    def _reembed_all(self) -> None:
        rows = self._db.execute("SELECT rowid, entry_id, role, heading, text FROM rows").fetchall()
        titles = dict(self._db.execute("SELECT id, title FROM entries").fetchall())
        texts = [
            " ".join(p for p in ((titles.get(e, "") if role == "chunk" else ""), h, t) if p)
            for _, e, role, h, t in rows
        ]
        vecs = embedding.embed(texts)
        self._db.execute("BEGIN IMMEDIATE")
        for (rowid, *_), vec in zip(rows, vecs, strict=False):
            self._db.execute("UPDATE rows SET embedding=? WHERE rowid=?", (vec.tobytes(), rowid))
        self._db.execute("UPDATE meta SET value=? WHERE key='embedder'", (embedding.MODEL_NAME,))
        self._db.execute("UPDATE meta SET value=CAST(value AS INTEGER)+1 WHERE key='generation'")
        self._db.execute("COMMIT")

    # ------------------------------------------------------------ writes

    def _write(
        self, entries: list[tuple[str, str, str, str, list[str], str]], rows_by_entry: dict[str, list[Row]]
    ) -> None:
        """Replace the given entries (and their rows) in one transaction, then update the
        in-memory index (or reload it when another process wrote in between)."""
        all_rows = [r for eid, _, _, _, _, _ in entries for r in rows_by_entry[eid]]
        index_texts = []
        titles = {e[0]: (e[1], e[2]) for e in entries}
        for r in all_rows:
            kind, title = titles[r.entry_id]
            prefix = title if (r.role == "chunk" and kind == "document") else ""
            index_texts.append(" ".join(p for p in (prefix, r.heading, r.text) if p))
        # Embedding runs in native code without the GIL: count BM25 terms meanwhile.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(embedding.embed, index_texts)
            counts = [term_counts(t) for t in index_texts]
            vectors = pending.result()
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db_generation()
                for eid, kind, title, body, examples, url in entries:
                    db.execute("DELETE FROM rows WHERE entry_id=?", (eid,))
                    db.execute(
                        "INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?,?)",
                        (eid, kind, title, body, json.dumps(examples), url, now),
                    )
                db.executemany(
                    "INSERT INTO rows VALUES (?,?,?,?,?,?)",
                    [
                        (r.entry_id, r.seq, r.role, r.heading, r.text, v.tobytes())
                        for r, v in zip(all_rows, vectors, strict=False)
                    ],
                )
                db.execute("UPDATE meta SET value=? WHERE key='generation'", (str(before + 1),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if before != self._generation:
                self._reload()
                return
            for eid, kind, title, body, examples, url in entries:
                self._drop_rows(eid)
                self._entries[eid] = {
                    "kind": kind,
                    "title": title,
                    "body": body,
                    "examples": examples,
                    "url": url,
                    "updated_at": now,
                }
            self._append_rows(all_rows, vectors, counts)
            self._bm25.compile()
            self._generation = before + 1

    def _drop_rows(self, entry_id: str) -> None:
        for idx in self._by_entry.pop(entry_id, []):
            self._bm25.remove(idx)
            self._alive[idx] = False
            self._rows[idx] = None

    def _append_rows(self, rows: list[Row], vectors: np.ndarray, counts: list | None = None) -> None:
        start = len(self._rows)
        need = start + len(rows)
        dead = len(self._rows) - int(self._alive[: len(self._rows)].sum())
        if dead > 1024 and dead > len(self._rows) // 2:
            self._compact()
            start = len(self._rows)
            need = start + len(rows)
        if need > len(self._emb):
            cap = max(need, 2 * len(self._emb))
            grown = np.zeros((cap, self._emb.shape[1]), dtype=np.float32)
            grown[: len(self._emb)] = self._emb
            alive = np.zeros(cap, dtype=bool)
            alive[: len(self._alive)] = self._alive
            row_ord = np.zeros(cap, dtype=np.int64)
            row_ord[: len(self._row_ord)] = self._row_ord
            row_doc = np.zeros(cap, dtype=bool)
            row_doc[: len(self._row_doc)] = self._row_doc
            self._emb, self._alive, self._row_ord, self._row_doc = grown, alive, row_ord, row_doc
        self._emb[start:need] = vectors
        for i, row in enumerate(rows):
            idx = start + i
            self._rows.append(row)
            self._alive[idx] = True
            self._set_row_meta(idx, row)
            self._by_entry.setdefault(row.entry_id, []).append(idx)
            self._bm25.add(idx, self._index_text(row), counts[i] if counts is not None else None)

    def _compact(self) -> None:
        keep = [i for i, r in enumerate(self._rows) if r is not None]
        rows = [self._rows[i] for i in keep]
        vecs = self._emb[keep].copy() if keep else np.zeros((0, self._emb.shape[1]), np.float32)
        self._rows, self._by_entry, self._bm25 = [], {}, BM25Index()
        self._ord_of, self._ord_entry = {}, []
        self._emb = np.zeros((max(64, len(rows)), vecs.shape[1]), dtype=np.float32)
        self._alive = np.zeros(len(self._emb), dtype=bool)
        self._row_ord = np.zeros(len(self._emb), dtype=np.int64)
        self._row_doc = np.zeros(len(self._emb), dtype=bool)
        self._append_rows(rows, vecs)  # type: ignore[arg-type]

    def upsert_faq(self, entries: Sequence[FaqEntry | dict]) -> int:
        """Insert or replace FAQ entries (by id); returns how many were written."""
        records: list[FaqEntry] = []
        for e in entries:
            record = e if isinstance(e, FaqEntry) else record_from_object(e)
            if not isinstance(record, FaqEntry):
                raise KnowledgeError("invalid", "upsert_faq takes FAQ entries (question and answer)")
            records.append(record)
        batch, rows = [], {}
        for e in dict((r.id, r) for r in records).values():  # last one wins within a batch
            examples = [x for x in dict.fromkeys(e.examples) if x != e.question]
            batch.append((e.id, "faq", e.question, e.answer, examples, e.url))
            rows[e.id] = [Row(e.id, 0, "chunk", "", f"{e.question}\n{e.answer}")] + [
                Row(e.id, 0, "alias", "", t) for t in [e.question, *examples]
            ]
        for start in range(0, len(batch), 2000):
            part = batch[start : start + 2000]
            self._write(part, {b[0]: rows[b[0]] for b in part})
        return len(batch)

    def upsert_document(self, doc_id: str, title: str, text: str, url: str = "") -> int:
        """Insert or replace a document (plain text or Markdown); returns its chunk count."""
        doc_id = check_id(doc_id)
        if not text.strip():
            raise KnowledgeError("empty", "the document has no text")
        chunks = chunk_text(text)
        title = (title or doc_id).strip()
        rows = {doc_id: [Row(doc_id, c.seq, "chunk", c.heading, c.text) for c in chunks]}
        self._write([(doc_id, "document", title, text, [], url)], rows)
        return len(chunks)

    def upsert_documents(self, documents: Iterable[DocumentRecord]) -> int:
        """Many documents in few transactions; returns the total chunk count."""
        batch: list[tuple] = []
        rows: dict[str, list[Row]] = {}
        total = 0
        for d in documents:
            chunks = chunk_text(d.text)
            batch.append((d.id, "document", d.title or d.id, d.text, [], d.url))
            rows[d.id] = [Row(d.id, c.seq, "chunk", c.heading, c.text) for c in chunks]
            total += len(chunks)
            if len(batch) >= 500:
                self._write(batch, rows)
                batch, rows = [], {}
        if batch:
            self._write(batch, rows)
        return total

    def upsert_file(
        self, doc_id: str, data: bytes, filename: str = "", content_type: str = "", title: str = "", url: str = ""
    ) -> int:
        """Extract a Markdown/HTML/PDF/text file and upsert it as a document."""
        found_title, text = extract_text(data, filename, content_type)
        return self.upsert_document(doc_id, title or found_title or filename or doc_id, text, url)

    def delete(self, entry_id: str) -> bool:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db_generation()
                gone = db.execute("DELETE FROM entries WHERE id=?", (entry_id,)).rowcount
                db.execute("DELETE FROM rows WHERE entry_id=?", (entry_id,))
                if gone:
                    db.execute("UPDATE meta SET value=? WHERE key='generation'", (str(before + 1),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if not gone:
                return False
            if before != self._generation:
                self._reload()
            else:
                self._drop_rows(entry_id)
                self._bm25.compile()
                self._entries.pop(entry_id, None)
                self._generation = before + 1
            return True

    # ------------------------------------------------------------ reads

    def entries(self) -> list[EntryInfo]:
        self.refresh()
        with self._lock:
            return [
                EntryInfo(
                    eid,
                    e["kind"],
                    e["title"],
                    sum(
                        1 for i in self._by_entry.get(eid, []) if (r := self._rows[i]) is not None and r.role == "chunk"
                    ),
                    len(e["examples"]),
                    e["url"],
                    e["updated_at"],
                )
                for eid, e in sorted(self._entries.items())
            ]

    def get(self, entry_id: str) -> FaqEntry | DocumentRecord | None:
        self.refresh()
        e = self._entries.get(entry_id)
        if e is None:
            return None
        if e["kind"] == "faq":
            return FaqEntry(entry_id, e["title"], e["body"], tuple(e["examples"]), e["url"])
        return DocumentRecord(entry_id, e["title"], e["body"], e["url"])

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def row_count(self) -> int:
        return int(self._alive[: len(self._rows)].sum())

    def faq_phrasings(self) -> dict[str, list[str]]:
        """{FAQ entry id: [question, *examples]}: the router's training data."""
        self.refresh()
        with self._lock:
            return {eid: [e["title"], *e["examples"]] for eid, e in sorted(self._entries.items()) if e["kind"] == "faq"}

    def faq_answers(self) -> dict[str, str]:
        """{FAQ entry id: answer}."""
        self.refresh()
        with self._lock:
            return {eid: e["body"] for eid, e in self._entries.items() if e["kind"] == "faq"}

    def faq_row_vectors(self) -> dict[str, np.ndarray]:
        """{text: stored embedding} of the FAQ rows (phrasings, question + answer), so the
        router reuses what ingestion embedded."""
        self.refresh()
        with self._lock:
            return {
                r.text: self._emb[i]
                for i, r in enumerate(self._rows)
                if r is not None and self._entries[r.entry_id]["kind"] == "faq"
            }

    def cached_vectors(self, model: str, texts: Sequence[str], embed) -> dict[str, np.ndarray]:
        """{text: vector} of ``model`` for ``texts``, from this knowledge base's vector cache
        (keyed by model and a hash of the text); the missing ones are embedded with
        ``embed(list) -> array`` now and stored, so a text is embedded once per model
        however often the router is rebuilt (an edited entry costs only its own texts)."""
        unique = list(dict.fromkeys(texts))
        hashes = {text_hash(t): t for t in unique}
        out: dict[str, np.ndarray] = {}
        with self._lock:
            keys = list(hashes)
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                for h, blob in self._db.execute(
                    f"SELECT text_hash, vector FROM vector_cache WHERE model=? AND text_hash IN ({marks})",
                    [model, *part],
                ):
                    out[hashes[h]] = np.frombuffer(blob, dtype=np.float32)
        missing = [t for t in unique if t not in out]
        if missing:
            vectors = embed(missing)
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vector_cache VALUES (?,?,?)",
                    [
                        (model, text_hash(t), v.astype(np.float32).tobytes())
                        for t, v in zip(missing, vectors, strict=True)
                    ],
                )
            out.update(zip(missing, vectors, strict=True))
        return out

    def document_passages(self) -> list[tuple[str, str]]:
        """[(document id, chunk text)] for every document chunk."""
        self.refresh()
        with self._lock:
            return [
                (r.entry_id, r.text)
                for r in self._rows
                if r is not None and r.role == "chunk" and self._entries[r.entry_id]["kind"] == "document"
            ]

    def entry_kind(self, entry_id: str) -> str | None:
        e = self._entries.get(entry_id)
        return e["kind"] if e else None

    def search(
        self, query: str, limit: int = 5, kind: str | None = None, query_vector: np.ndarray | None = None
    ) -> list[Hit]:
        """The ``limit`` best entries for ``query`` (each with its best passage)."""
        self.refresh()
        with self._lock:
            n = len(self._rows)
            if not n or not query.strip():
                return []
            q = embedding.embed_one(query) if query_vector is None else query_vector
            # einsum, not BLAS: a multi-threaded sgemv stalls for milliseconds on a busy machine.
            dense = np.einsum("ij,j->i", self._emb[:n], q)
            sparse = self._bm25.scores(query, n)
            score = W_DENSE * dense + W_SPARSE * sparse
            dead = ~self._alive[:n]
            if kind == "document":
                dead |= ~self._row_doc[:n]
            elif kind:
                dead |= self._row_doc[:n]
            score[dead] = -np.inf
            # Best row per entry, then the best entries.
            best = np.full(len(self._ord_entry), -np.inf, dtype=np.float32)
            np.maximum.at(best, self._row_ord[:n], score)
            k = min(limit, int(np.isfinite(best).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-best, k - 1)[:k] if k < len(best) else np.arange(len(best))
            top = top[np.argsort(-best[top], kind="stable")][:k]
            hits: list[Hit] = []
            for ordinal in top:
                rows = self._by_entry.get(self._ord_entry[ordinal])
                if not rows or not np.isfinite(best[ordinal]):
                    continue
                idx = rows[int(np.argmax(score[rows]))]
                row = self._rows[idx]
                if row is not None:  # rows of _by_entry are alive
                    hits.append(self._hit(row, float(score[idx])))
            return hits

    def _hit(self, row: Row, score: float) -> Hit:
        entry = self._entries[row.entry_id]
        if entry["kind"] == "faq":
            return Hit(
                row.entry_id, f"{row.entry_id}#0", entry["title"], entry["body"], score, "faq", entry["url"], row.text
            )
        title = entry["title"] + (f" — {row.heading}" if row.heading else "")
        return Hit(
            row.entry_id, f"{row.entry_id}#{row.seq}", title, row.text, score, "document", entry["url"], row.text
        )
