"""Erasing one conversation from the CQL log store for good (LogStore.erase_conversation).

Every table keyed by the conversation loses its partition or rows; the search loses the
postings of each message's words (recomputed from the messages, read first); the listing
index loses the conversation's entries under its current scopes, and under the customer's
scope every entry of it, stale ones of a lost compare-and-set race included, with the
customer's bucket registry rows once their partitions are empty (the scope names the
customer). Deletes are tombstones: the data is unreadable at once and gone from disk at the
next compaction after the table's gc_grace_seconds (docs/deploy.md).
"""

from __future__ import annotations

import asyncio

from frontdesk.clock import now_ms
from frontdesk.stores.cql.log_schema import scopes
from frontdesk.stores.cql.search import bucket_of
from frontdesk.stores.search import message_terms

_AT_ONCE = 32  # deletes in flight at a time


async def _run_all(store, statements: list[tuple[str, tuple]]) -> None:
    for start in range(0, len(statements), _AT_ONCE):
        await asyncio.gather(*(store._q(name, *params) for name, params in statements[start : start + _AT_ONCE]))


async def erase_conversation(store, tenant_id: str, conversation_id: str) -> int:
    row = await store._row(tenant_id, conversation_id)
    messages = await store.all_messages(tenant_id, conversation_id)
    drops: list[tuple[str, tuple]] = []
    for message in messages:
        bucket = bucket_of(message.id)
        drops += [("term_drop", (tenant_id, term, bucket, message.id)) for term in message_terms(message)]
    message_buckets = sorted({store._message_bucket(m.id) for m in messages})
    for bucket in message_buckets:
        for r in await store._q("msg_keys", tenant_id, conversation_id, bucket):
            if r["dedupe_key"]:
                drops.append(("dedupe_drop", (tenant_id, conversation_id, r["dedupe_key"])))
        drops.append(("msg_partition_drop", (tenant_id, conversation_id, bucket)))
    for r in await store._q("outbox_lookups", tenant_id, conversation_id):
        drops.append(
            ("outbox_drop", (r["bucket"], r["shard"], r["created_ms"], tenant_id, conversation_id, r["message_id"]))
        )
    drops += [
        ("outbox_lookups_drop", (tenant_id, conversation_id)),
        ("msg_buckets_drop", (tenant_id, conversation_id)),
        ("feedback_drop", (tenant_id, conversation_id)),
        ("tool_calls_drop", (tenant_id, conversation_id)),
        ("notes_drop", (tenant_id, conversation_id)),
    ]
    # after every write the listing index had: index rows carry their activity time, which a
    # burst of changes (or another node's clock) may put ahead of this clock
    stamp = (max(now_ms(), row["updated_ms"] if row is not None else 0) + 1) * 1000
    if row is not None:
        bucket = store._activity_bucket(row["updated_ms"])
        drops += [
            ("index_drop", (stamp, tenant_id, scope, bucket, row["updated_ms"], conversation_id))
            for scope in scopes(
                row["visitor_id"], row["status"], row["assigned_operator_id"] or "", row.get("labels") or ()
            )
        ]
    await _run_all(store, drops)
    if row is not None:
        await _drop_from_customer_scope(store, tenant_id, conversation_id, f"v:{row['visitor_id']}", stamp)
    await store._q("conv_drop", tenant_id, conversation_id)  # last: a retry finds the rest by it
    return len(messages)


async def _drop_from_customer_scope(store, tenant_id: str, conversation_id: str, scope: str, stamp: int) -> None:
    buckets = [b async for b in store._buckets("index_buckets_desc", (tenant_id, scope), 1 << 62)]
    for bucket in buckets:
        entries = await store._q("index_entries", tenant_id, scope, bucket)
        mine = [e for e in entries if e["conversation_id"] == conversation_id]
        stamp = max([stamp, *((e["updated_ms"] + 1) * 1000 for e in mine)])
        await _run_all(
            store, [("index_drop", (stamp, tenant_id, scope, bucket, e["updated_ms"], conversation_id)) for e in mine]
        )
        if len(mine) == len(entries):
            await store._q("index_bucket_drop", stamp, tenant_id, scope, bucket)
