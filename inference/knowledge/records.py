"""What a knowledge base stores: its SQLite tables, the rows of its index, and what a search
and a listing return (inference/knowledge/index.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DB_NAME = "knowledge.sqlite3"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Hit:
    entry_id: str
    chunk_id: str  # "<entry id>#<chunk number>"
    title: str  # FAQ: the question; document: title (and section heading)
    text: str  # FAQ: the answer; document: the chunk
    score: float  # hybrid score of the best row of this entry, 0..1
    kind: str = "faq"  # "faq" | "document"
    url: str = ""
    matched: str = ""  # the row that matched best (an example phrasing, or the chunk)


@dataclass(frozen=True)
class EntryInfo:
    id: str
    kind: str
    title: str
    chunks: int
    examples: int
    url: str
    updated_at: float


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
    examples TEXT NOT NULL, url TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    entry_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL, heading TEXT NOT NULL,
    text TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS rows_entry ON rows (entry_id);
CREATE TABLE IF NOT EXISTS vector_cache (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, text_hash));
"""
ATTACHMENTS = (
    "CREATE TABLE IF NOT EXISTS attachments (name TEXT PRIMARY KEY, generation INTEGER NOT NULL, data BLOB NOT NULL)"
)


@dataclass
class Row:
    entry_id: str
    seq: int
    role: str  # "chunk" | "alias"
    heading: str
    text: str


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
