"""The log store's tables and statements (see frontdesk/stores/cql/__init__.py for the design)."""

from __future__ import annotations

from typing import cast

from frontdesk.clock import ts_from_ms
from frontdesk.stores.base import (
    split_conversation_token,
)
from frontdesk_pb.common.v1 import common_pb2 as common

LOG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.conversations (
        tenant_id text, id text,
        visitor_id text, channel int, created_ms bigint, attributes map<text, text>,
        status int, updated_ms bigint, last_preview text, assigned_operator_id text, handoff_reason text,
        rating int, message_count int, snoozed_until_ms bigint, labels set<text>,
        handoff_ms bigint, first_response_ms bigint,
        PRIMARY KEY ((tenant_id, id)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.conversation_index (
        tenant_id text, scope text, bucket bigint, updated_ms bigint, conversation_id text,
        PRIMARY KEY ((tenant_id, scope, bucket), updated_ms, conversation_id))
        WITH CLUSTERING ORDER BY (updated_ms DESC, conversation_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.conversation_index_buckets (
        tenant_id text, scope text, bucket bigint,
        PRIMARY KEY ((tenant_id, scope), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.messages (
        tenant_id text, conversation_id text, bucket bigint, id text, dedupe_key text, body blob,
        PRIMARY KEY ((tenant_id, conversation_id, bucket), id)) WITH CLUSTERING ORDER BY (id ASC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_buckets (
        tenant_id text, conversation_id text, bucket bigint,
        PRIMARY KEY ((tenant_id, conversation_id), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_dedupe (
        tenant_id text, conversation_id text, dedupe_key text,
        message_id text, body blob, enqueue boolean, claimed_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id, dedupe_key)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox (
        bucket bigint, shard int, created_ms bigint, tenant_id text, conversation_id text, message_id text,
        PRIMARY KEY ((bucket, shard), created_ms, tenant_id, conversation_id, message_id))
        WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox_buckets (
        shard int, bucket bigint, PRIMARY KEY ((shard), bucket)) WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox_lookup (
        tenant_id text, conversation_id text, message_id text, bucket bigint, shard int, created_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id), message_id)) WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.feedback (
        tenant_id text, conversation_id text, message_id text, helpful boolean, comment text, at_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id), message_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.tool_calls (
        tenant_id text, conversation_id text, job_id text, call_id text, body text,
        PRIMARY KEY ((tenant_id, conversation_id), job_id, call_id))
        WITH CLUSTERING ORDER BY (job_id DESC, call_id ASC)""",
    # the conversation search: one posting per (tenant, word, month) and message, newest
    # first (message ids are time-ordered), with a signature of the message's other words;
    # a search reads only the postings of one of its words (frontdesk/stores/cql/search.py)
    """CREATE TABLE IF NOT EXISTS {ks}.message_terms (
        tenant_id text, term text, bucket bigint, message_id text, conversation_id text, sig blob,
        PRIMARY KEY ((tenant_id, term, bucket), message_id)) WITH CLUSTERING ORDER BY (message_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_term_buckets (
        tenant_id text, bucket bigint, PRIMARY KEY ((tenant_id), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)""",
    # the team's private notes, apart from the messages (ids are time-ordered: newest first)
    """CREATE TABLE IF NOT EXISTS {ks}.notes (
        tenant_id text, conversation_id text, id text, body blob,
        PRIMARY KEY ((tenant_id, conversation_id), id)) WITH CLUSTERING ORDER BY (id DESC)""",
)

_CONV_MUTABLE = "status, updated_ms, last_preview, assigned_operator_id, handoff_reason, rating, message_count"

LOG_STATEMENTS = {
    "conv_get": "SELECT * FROM {ks}.conversations WHERE tenant_id = ? AND id = ?",
    "conv_create": (
        "INSERT INTO {ks}.conversations (tenant_id, id, visitor_id, channel, created_ms, attributes, "
        + _CONV_MUTABLE
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    ),
    "conv_cas": (
        "UPDATE {ks}.conversations SET status = ?, updated_ms = ?, last_preview = ?, assigned_operator_id = ?, "
        "handoff_reason = ?, rating = ?, message_count = ?, snoozed_until_ms = ?, labels = ?, "
        "handoff_ms = ?, first_response_ms = ? "
        "WHERE tenant_id = ? AND id = ? IF updated_ms = ?"
    ),
    "index_put": (
        "INSERT INTO {ks}.conversation_index (tenant_id, scope, bucket, updated_ms, conversation_id) "
        "VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"
    ),
    "index_drop": (
        "DELETE FROM {ks}.conversation_index USING TIMESTAMP ? "
        "WHERE tenant_id = ? AND scope = ? AND bucket = ? AND updated_ms = ? AND conversation_id = ?"
    ),
    "index_scan": (
        "SELECT updated_ms, conversation_id FROM {ks}.conversation_index "
        "WHERE tenant_id = ? AND scope = ? AND bucket = ? AND (updated_ms, conversation_id) < (?, ?) LIMIT ?"
    ),
    "index_bucket_put": (
        "INSERT INTO {ks}.conversation_index_buckets (tenant_id, scope, bucket) VALUES (?, ?, ?) USING TIMESTAMP ?"
    ),
    "index_bucket_drop": (
        "DELETE FROM {ks}.conversation_index_buckets USING TIMESTAMP ? WHERE tenant_id = ? AND scope = ? AND bucket = ?"
    ),
    "index_buckets_desc": (
        "SELECT bucket FROM {ks}.conversation_index_buckets WHERE tenant_id = ? AND scope = ? AND bucket <= ? LIMIT ?"
    ),
    "msg_put": (
        "INSERT INTO {ks}.messages (tenant_id, conversation_id, bucket, id, dedupe_key, body) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "msg_get": "SELECT body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id = ?",
    "msg_get_many": (
        "SELECT id, body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id IN ?"
    ),
    "msg_before": (
        "SELECT id, body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id < ? "
        "ORDER BY id DESC LIMIT ?"
    ),
    "msg_newest": (
        "SELECT id, body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? "
        "ORDER BY id DESC LIMIT ?"
    ),
    "msg_after": (
        "SELECT body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id > ? "
        "ORDER BY id ASC LIMIT ?"
    ),
    "msg_bucket_put": "INSERT INTO {ks}.message_buckets (tenant_id, conversation_id, bucket) VALUES (?, ?, ?)",
    "msg_buckets_desc": (
        "SELECT bucket FROM {ks}.message_buckets WHERE tenant_id = ? AND conversation_id = ? AND bucket <= ? LIMIT ?"
    ),
    "msg_buckets_asc": (
        "SELECT bucket FROM {ks}.message_buckets WHERE tenant_id = ? AND conversation_id = ? AND bucket >= ? "
        "ORDER BY bucket ASC LIMIT ?"
    ),
    "dedupe_claim": (
        "INSERT INTO {ks}.message_dedupe (tenant_id, conversation_id, dedupe_key, message_id, body, enqueue, claimed_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    ),
    "dedupe_get": (
        "SELECT message_id, body, enqueue, claimed_ms FROM {ks}.message_dedupe "
        "WHERE tenant_id = ? AND conversation_id = ? AND dedupe_key = ?"
    ),
    "outbox_put": (
        "INSERT INTO {ks}.outbox (bucket, shard, created_ms, tenant_id, conversation_id, message_id) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "outbox_drop": (
        "DELETE FROM {ks}.outbox WHERE bucket = ? AND shard = ? AND created_ms = ? AND tenant_id = ? "
        "AND conversation_id = ? AND message_id = ?"
    ),
    "outbox_scan": (
        "SELECT created_ms, tenant_id, conversation_id, message_id FROM {ks}.outbox "
        "WHERE bucket = ? AND shard = ? AND created_ms < ? LIMIT ?"
    ),
    "outbox_lookup_put": (
        "INSERT INTO {ks}.outbox_lookup (tenant_id, conversation_id, message_id, bucket, shard, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "outbox_lookup_get": (
        "SELECT bucket, shard, created_ms FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ? "
        "AND message_id = ?"
    ),
    "outbox_lookup_drop": "DELETE FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ? AND message_id = ?",
    "outbox_bucket_put": "INSERT INTO {ks}.outbox_buckets (shard, bucket) VALUES (?, ?) USING TIMESTAMP ?",
    "outbox_bucket_drop": "DELETE FROM {ks}.outbox_buckets USING TIMESTAMP ? WHERE shard = ? AND bucket = ?",
    "outbox_buckets": "SELECT bucket FROM {ks}.outbox_buckets WHERE shard = ? AND bucket <= ?",
    "feedback_put": (
        "INSERT INTO {ks}.feedback (tenant_id, conversation_id, message_id, helpful, comment, at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "tool_call_put": (
        "INSERT INTO {ks}.tool_calls (tenant_id, conversation_id, job_id, call_id, body) VALUES (?, ?, ?, ?, ?)"
    ),
    # job ids are message ids, which are time-ordered: the newest jobs come first
    "tool_calls": "SELECT body FROM {ks}.tool_calls WHERE tenant_id = ? AND conversation_id = ? LIMIT ?",
    "feedback_list": "SELECT message_id, helpful, at_ms FROM {ks}.feedback WHERE tenant_id = ? AND conversation_id = ?",
    "term_put": (
        "INSERT INTO {ks}.message_terms (tenant_id, term, bucket, message_id, conversation_id, sig) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "term_bucket_put": "INSERT INTO {ks}.message_term_buckets (tenant_id, bucket) VALUES (?, ?)",
    "term_buckets": "SELECT bucket FROM {ks}.message_term_buckets WHERE tenant_id = ?",
    "term_below": (
        "SELECT message_id, conversation_id, sig FROM {ks}.message_terms "
        "WHERE tenant_id = ? AND term = ? AND bucket = ? AND message_id < ? LIMIT ?"
    ),
    "note_put": "INSERT INTO {ks}.notes (tenant_id, conversation_id, id, body) VALUES (?, ?, ?, ?)",
    "notes": "SELECT body FROM {ks}.notes WHERE tenant_id = ? AND conversation_id = ? LIMIT ?",
    # erasure (frontdesk/stores/cql/erase.py)
    "conv_drop": "DELETE FROM {ks}.conversations WHERE tenant_id = ? AND id = ?",
    "index_entries": (
        "SELECT updated_ms, conversation_id FROM {ks}.conversation_index WHERE tenant_id = ? AND scope = ? "
        "AND bucket = ?"
    ),
    "msg_keys": "SELECT dedupe_key FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ?",
    "msg_partition_drop": "DELETE FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ?",
    "msg_buckets_drop": "DELETE FROM {ks}.message_buckets WHERE tenant_id = ? AND conversation_id = ?",
    "dedupe_drop": "DELETE FROM {ks}.message_dedupe WHERE tenant_id = ? AND conversation_id = ? AND dedupe_key = ?",
    "outbox_lookups": (
        "SELECT message_id, bucket, shard, created_ms FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ?"
    ),
    "outbox_lookups_drop": "DELETE FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ?",
    "feedback_drop": "DELETE FROM {ks}.feedback WHERE tenant_id = ? AND conversation_id = ?",
    "tool_calls_drop": "DELETE FROM {ks}.tool_calls WHERE tenant_id = ? AND conversation_id = ?",
    "notes_drop": "DELETE FROM {ks}.notes WHERE tenant_id = ? AND conversation_id = ?",
    "term_drop": ("DELETE FROM {ks}.message_terms WHERE tenant_id = ? AND term = ? AND bucket = ? AND message_id = ?"),
}

# columns newer than the first version of a table: added to a keyspace made by an older version
LOG_ADDED_COLUMNS = (
    ("conversations", "snoozed_until_ms", "bigint"),
    ("conversations", "labels", "set<text>"),
    ("conversations", "handoff_ms", "bigint"),
    ("conversations", "first_response_ms", "bigint"),
)


def conversation_of(row: dict) -> common.Conversation:
    conv = common.Conversation(
        id=row["id"],
        visitor_id=row["visitor_id"] or "",
        status=cast(common.ConversationStatus, row["status"] or 0),
        channel=cast(common.Channel, row["channel"] or 0),
        created_at=ts_from_ms(row["created_ms"] or 0),
        updated_at=ts_from_ms(row["updated_ms"] or 0),
        last_message_preview=row["last_preview"] or "",
        assigned_operator_id=row["assigned_operator_id"] or "",
        handoff_reason=row["handoff_reason"] or "",
        rating=row["rating"] or 0,
        message_count=row["message_count"] or 0,
        attributes=dict(row["attributes"] or {}),
        labels=sorted(row.get("labels") or ()),
    )
    if row.get("snoozed_until_ms"):
        conv.snoozed_until.CopyFrom(ts_from_ms(row["snoozed_until_ms"]))
    if row.get("handoff_ms"):
        conv.handed_off_at.CopyFrom(ts_from_ms(row["handoff_ms"]))
    if row.get("first_response_ms"):
        conv.first_response_at.CopyFrom(ts_from_ms(row["first_response_ms"]))
    return conv


split_token = split_conversation_token


def scopes(visitor_id: str, status: int, assignee: str = "", labels=()) -> list[str]:
    """The index partitions a conversation is listed in: all of the tenant's, its visitor's,
    its status's, its assignee's while it has one, and each of its labels'."""
    return [
        "all",
        f"v:{visitor_id}",
        f"s:{status}",
        *([f"a:{assignee}"] if assignee else []),
        *(f"l:{label}" for label in sorted(labels or ())),
    ]
