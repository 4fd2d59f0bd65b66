"""The log store on CQL: conversations, messages, dedupe, the outbox, feedback, tool calls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Iterable

from frontdesk import ids
from frontdesk.clock import now_ms
from frontdesk.stores.base import (
    UPDATABLE_FIELDS,
    Conflict,
    ConversationGone,
    FeedbackEntry,
    LogStore,
    OutboxEntry,
    StoreUnavailable,
    ToolCallEntry,
)
from frontdesk.stores.cql import erase, search
from frontdesk.stores.cql.log_schema import (
    LOG_ADDED_COLUMNS,
    LOG_SCHEMA,
    LOG_STATEMENTS,
    conversation_of,
    scopes,
    split_token,
)
from frontdesk.stores.cql.session import CAS_ATTEMPTS, DAY_MS, MAX_MS, MINUTE_MS, CqlSession, CqlStore, applied
from frontdesk.stores.search import message_terms
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common


class CqlLogStore(CqlStore, LogStore):
    """Conversations, messages, outbox and feedback in CQL.

    `CqlLogStore(["10.0.0.1:9042", ...], keyspace="frontdesk", consistency="LOCAL_QUORUM",
    replication={"class": "NetworkTopologyStrategy", "dc1": 3}, timeout_s=5)`, or
    `CqlLogStore(session=shared_cql_session)`. Bucket sizes are fixed for the life of a
    keyspace: changing one later hides what was written under the old one.
    """

    _NAME = "log"
    _SCHEMA = LOG_SCHEMA
    _ADDED_COLUMNS = LOG_ADDED_COLUMNS
    _STATEMENTS = LOG_STATEMENTS

    def __init__(
        self,
        contact_points: Iterable[str] | str = ("127.0.0.1",),
        *,
        session: CqlSession | None = None,
        message_bucket_ms: int = DAY_MS,
        activity_bucket_ms: int = DAY_MS,
        outbox_bucket_ms: int = MINUTE_MS,
        outbox_shards: int = 4,
        bucket_grace_s: float = 600.0,
        repair_after_s: float = 120.0,
        **options,
    ):
        super().__init__(contact_points, session, options)
        self.message_bucket_ms = message_bucket_ms
        self.activity_bucket_ms = activity_bucket_ms
        self.outbox_bucket_ms = outbox_bucket_ms
        self.outbox_shards = outbox_shards
        self.bucket_grace_ms = int(bucket_grace_s * 1000)
        self.repair_after_ms = int(repair_after_s * 1000)
        self._term_buckets: dict = {}  # the search's posting months per tenant (search.py)

    # -- buckets --------------------------------------------------------------------

    def _message_bucket(self, message_id: str) -> int:
        try:
            return ids.id_time_ms(message_id) // self.message_bucket_ms
        except (ValueError, IndexError):  # not one of our ids: the first bucket
            return 0

    def _registry_stamp(self, ms: int) -> int:
        """Write timestamp of a bucket registry row for a bucket entry at `ms`. A registry
        row is dropped (found empty, `bucket_grace` after its window) with the timestamp of
        the window's end: a write for a recent time stays inside its window and is shadowed
        by that drop, one into a long-gone bucket (a backdated change) carries a later
        timestamp and survives it."""
        return max(ms, now_ms() - max(self.bucket_grace_ms // 2, 1000)) * 1000

    def _activity_bucket(self, ms: int) -> int:
        return ms // self.activity_bucket_ms

    def _shard(self, tenant_id: str, conversation_id: str) -> int:
        return zlib.crc32(f"{tenant_id}/{conversation_id}".encode()) % self.outbox_shards

    async def _buckets(self, name: str, key: tuple, start: int, *, chunk: int = 32, descending: bool = True):
        """Yield the registered buckets of a partition from `start`, newest (or oldest) first."""
        while True:
            rows = await self._q(name, *key, start, chunk)
            for row in rows:
                yield row["bucket"]
            if len(rows) < chunk:
                return
            start = rows[-1]["bucket"] + (-1 if descending else 1)

    # -- conversations ----------------------------------------------------------------

    async def _row(self, tenant_id: str, conversation_id: str, serial: bool = False) -> dict | None:
        rows = await self._q(
            "conv_get", tenant_id, conversation_id, consistency=self._cql.serial_consistency if serial else None
        )
        row = rows[0] if rows else None
        return row if row is not None and row.get("created_ms") is not None else None

    def _index_puts(
        self,
        tenant_id: str,
        conversation_id: str,
        visitor_id: str,
        status: int,
        updated_ms: int,
        assignee: str = "",
        labels=(),
    ):
        bucket, stamp = self._activity_bucket(updated_ms), updated_ms * 1000
        out: list[tuple[str, tuple]] = []
        for scope in scopes(visitor_id, status, assignee, labels):
            out.append(("index_put", (tenant_id, scope, bucket, updated_ms, conversation_id, stamp)))
            out.append(("index_bucket_put", (tenant_id, scope, bucket, self._registry_stamp(updated_ms))))
        return out

    def _index_drops(
        self,
        tenant_id: str,
        conversation_id: str,
        visitor_id: str,
        status: int,
        updated_ms: int,
        at_ms: int,
        assignee: str = "",
        labels=(),
    ):
        bucket = self._activity_bucket(updated_ms)
        return [
            ("index_drop", (at_ms * 1000, tenant_id, scope, bucket, updated_ms, conversation_id))
            for scope in scopes(visitor_id, status, assignee, labels)
        ]

    async def create_conversation(self, tenant_id, conversation):
        created = conversation.created_at.ToMilliseconds() or now_ms()
        row = {
            "tenant_id": tenant_id,
            "id": conversation.id,
            "visitor_id": conversation.visitor_id,
            "channel": conversation.channel,
            "created_ms": created,
            "attributes": dict(conversation.attributes),
            "status": conversation.status,
            "updated_ms": created,
            "last_preview": "",
            "assigned_operator_id": "",
            "handoff_reason": "",
            "rating": 0,
            "message_count": 0,
        }
        # index first: if we die after it, the entry is skipped (no such conversation)
        await self._batch(
            self._index_puts(tenant_id, conversation.id, conversation.visitor_id, conversation.status, created)
        )
        rows = await self._lwt(
            "conv_create",
            tenant_id,
            conversation.id,
            row["visitor_id"],
            row["channel"],
            created,
            row["attributes"],
            row["status"],
            created,
            "",
            "",
            "",
            0,
            0,
        )
        if not applied(rows):
            raise Conflict(f"conversation {conversation.id!r} already exists")
        return conversation_of(row)

    async def get_conversation(self, tenant_id, conversation_id):
        row = await self._row(tenant_id, conversation_id)
        return conversation_of(row) if row else None

    async def _change(self, tenant_id: str, conversation_id: str, apply) -> dict | None:
        """Compare-and-set loop on updated_ms. `apply(new_row)` edits the copy and returns
        the activity time it wants; the new updated_ms is max(old + 1, that)."""
        row = await self._row(tenant_id, conversation_id)
        for _ in range(CAS_ATTEMPTS):
            if row is None:
                return None
            new = dict(row)
            wanted = apply(new)
            new["updated_ms"] = max(row["updated_ms"] + 1, wanted)
            await self._batch(
                self._index_puts(
                    tenant_id,
                    conversation_id,
                    new["visitor_id"],
                    new["status"],
                    new["updated_ms"],
                    new["assigned_operator_id"] or "",
                    new.get("labels") or (),
                )
            )
            rows = await self._lwt(
                "conv_cas",
                new["status"],
                new["updated_ms"],
                new["last_preview"],
                new["assigned_operator_id"],
                new["handoff_reason"],
                new["rating"],
                new["message_count"] or 0,
                new.get("snoozed_until_ms") or 0,
                set(new.get("labels") or ()) or None,
                new.get("handoff_ms") or 0,
                new.get("first_response_ms") or 0,
                tenant_id,
                conversation_id,
                row["updated_ms"],
            )
            if applied(rows):
                await self._batch(
                    self._index_drops(
                        tenant_id,
                        conversation_id,
                        row["visitor_id"],
                        row["status"],
                        row["updated_ms"],
                        new["updated_ms"],
                        row["assigned_operator_id"] or "",
                        row.get("labels") or (),
                    )
                )
                return new
            row = await self._row(tenant_id, conversation_id, serial=True)
        raise StoreUnavailable(
            f"CQL store unavailable ({self._cql.where}): conversation {conversation_id} "
            f"changed by too many writers at once; try again"
        )

    async def update_conversation(self, tenant_id, conversation_id, **changes):
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not changes:
            return await self.get_conversation(tenant_id, conversation_id)

        def apply(new):
            new.update(changes)
            return now_ms()

        row = await self._change(tenant_id, conversation_id, apply)
        return conversation_of(row) if row else None

    async def list_conversations(
        self, tenant_id, *, visitor_id="", status=0, assignee=None, label="", limit=50, page_token=""
    ):
        before = split_token(page_token) if page_token else (MAX_MS, "")
        # the narrowest index partition that holds them all; the rest is checked on the row
        # (nobody's conversations have no partition: the status's or the tenant's is read)
        if visitor_id:
            scope = f"v:{visitor_id}"
        elif assignee:
            scope = f"a:{assignee}"
        elif label:
            scope = f"l:{label}"
        else:
            scope = f"s:{status}" if status else "all"
        want = limit + 1
        found: list[dict] = []
        stale: list[tuple] = []
        now = now_ms()
        top = self._activity_bucket(min(before[0], MAX_MS - 1))
        async for bucket in self._buckets("index_buckets_desc", (tenant_id, scope), top):
            cursor, seen = before, False
            while len(found) < want:
                chunk = want - len(found) + 8
                entries = await self._q("index_scan", tenant_id, scope, bucket, cursor[0], cursor[1], chunk)
                if not entries:
                    break
                seen = True
                rows = await asyncio.gather(*(self._row(tenant_id, e["conversation_id"]) for e in entries))
                for entry, row in zip(entries, rows, strict=False):
                    if row is None:  # an interrupted create (or one in flight): nothing to show
                        continue
                    if entry["updated_ms"] != row["updated_ms"]:
                        if entry["updated_ms"] < row["updated_ms"]:  # provably old: clean it up
                            stale.append(
                                (
                                    row["updated_ms"] * 1000,
                                    tenant_id,
                                    scope,
                                    bucket,
                                    entry["updated_ms"],
                                    entry["conversation_id"],
                                )
                            )
                        continue
                    if (
                        (status and row["status"] != status)
                        or (visitor_id and row["visitor_id"] != visitor_id)
                        or (assignee is not None and (row["assigned_operator_id"] or "") != assignee)
                        or (label and label not in (row.get("labels") or ()))
                    ):
                        continue  # (an entry written by a create that lost to an existing id)
                    found.append(row)
                    if len(found) == want:
                        break
                last = entries[-1]
                cursor = (last["updated_ms"], last["conversation_id"])
                if len(entries) < chunk:
                    break
            whole = not page_token or bucket < top  # the scan was not cut by the token
            if whole and not seen and (bucket + 1) * self.activity_bucket_ms < now - self.bucket_grace_ms:
                await self._drop_quietly(
                    "index_bucket_drop", (bucket + 1) * self.activity_bucket_ms * 1000, tenant_id, scope, bucket
                )
            if len(found) >= want:
                break
        if stale:
            await self._drop_quietly_many([("index_drop", s) for s in stale])
        page = found[:limit]
        token = f"{page[-1]['updated_ms']}:{page[-1]['id']}" if len(found) > limit and page else ""
        return [conversation_of(r) for r in page], token

    async def _drop_quietly(self, name: str, *params) -> None:
        with contextlib.suppress(StoreUnavailable):  # housekeeping only: the next reader tries again
            await self._q(name, *params)

    async def _drop_quietly_many(self, entries) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self._batch(entries)

    # -- messages ---------------------------------------------------------------------

    def _message_writes(self, tenant_id: str, message: common.Message, body: bytes, dedupe_key: str, enqueue: bool):
        bucket = self._message_bucket(message.id)
        cid = message.conversation_id
        out = [
            ("msg_put", (tenant_id, cid, bucket, message.id, dedupe_key or None, body)),
            ("msg_bucket_put", (tenant_id, cid, bucket)),
        ]
        if enqueue:
            created = now_ms()
            obucket, shard = created // self.outbox_bucket_ms, self._shard(tenant_id, cid)
            out += [
                ("outbox_put", (obucket, shard, created, tenant_id, cid, message.id)),
                ("outbox_lookup_put", (tenant_id, cid, message.id, obucket, shard, created)),
                ("outbox_bucket_put", (shard, obucket, self._registry_stamp(created))),
            ]
        return out

    async def _bump(self, tenant_id: str, message: common.Message) -> dict | None:
        preview = message.text[:140]
        at = message.created_at.ToMilliseconds()

        def apply(new):
            new["message_count"] = (new["message_count"] or 0) + 1
            new["last_preview"] = preview
            return at

        return await self._change(tenant_id, message.conversation_id, apply)

    async def append_message(self, tenant_id, message, dedupe_key="", *, enqueue=False):
        if not message.created_at.seconds:
            message.created_at.FromMilliseconds(now_ms())
        body = message.SerializeToString()
        if dedupe_key:
            rows = await self._lwt(
                "dedupe_claim",
                tenant_id,
                message.conversation_id,
                dedupe_key,
                message.id,
                body,
                enqueue,
                now_ms(),
                retry=True,
            )
            if not applied(rows) and rows[0].get("message_id") != message.id:
                return await self._existing(tenant_id, message.conversation_id, dedupe_key, rows[0]), False
        await search.write_postings(self, tenant_id, message)  # first: see search.py
        await self._batch(self._message_writes(tenant_id, message, body, dedupe_key, enqueue))
        if await self._bump(tenant_id, message) is None:
            # erased meanwhile (or never there): what was just written goes with the rest of it
            await erase.erase_conversation(self, tenant_id, message.conversation_id)
            raise ConversationGone(message.conversation_id)
        return common.Message.FromString(body), True

    async def _existing(self, tenant_id: str, conversation_id: str, dedupe_key: str, claim: dict) -> common.Message:
        """The message that holds a dedupe key. If its writer died between the claim and
        the message (the claim is old, the message missing), finish that write now."""
        stored = common.Message.FromString(claim["body"])
        if now_ms() - (claim.get("claimed_ms") or 0) >= self.repair_after_ms:
            if await self._message(tenant_id, conversation_id, stored.id) is None:
                await search.write_postings(self, tenant_id, stored)
                await self._batch(
                    self._message_writes(tenant_id, stored, claim["body"], dedupe_key, bool(claim.get("enqueue")))
                )
                await self._bump(tenant_id, stored)
        return stored

    async def _messages_of(self, tenant_id: str, wanted: list[tuple[str, str]]) -> list[common.Message | None]:
        """The messages (message id, conversation id), one read per conversation and bucket."""
        groups: dict[tuple[str, int], list[str]] = {}
        for mid, cid in wanted:
            groups.setdefault((cid, self._message_bucket(mid)), []).append(mid)
        reads = await asyncio.gather(
            *(self._q("msg_get_many", tenant_id, cid, bucket, mids) for (cid, bucket), mids in groups.items())
        )
        bodies = {row["id"]: row["body"] for rows in reads for row in rows}
        return [common.Message.FromString(bodies[mid]) if mid in bodies else None for mid, _ in wanted]

    async def _message(self, tenant_id: str, conversation_id: str, message_id: str) -> common.Message | None:
        rows = await self._q("msg_get", tenant_id, conversation_id, self._message_bucket(message_id), message_id)
        return common.Message.FromString(rows[0]["body"]) if rows else None

    async def find_message(self, tenant_id, conversation_id, *, message_id="", dedupe_key=""):
        if message_id:
            return await self._message(tenant_id, conversation_id, message_id)
        rows = await self._q("dedupe_get", tenant_id, conversation_id, dedupe_key)
        if not rows:
            return None
        # only a stored message counts: a claim whose message is not written yet (or
        # never was) answers None, and the caller's append settles it
        return await self._message(tenant_id, conversation_id, rows[0]["message_id"])

    async def list_messages(self, tenant_id, conversation_id, *, limit=50, page_token=""):
        want = limit + 1
        rows: list[dict] = []
        top = self._message_bucket(page_token) if page_token else MAX_MS
        async for bucket in self._buckets("msg_buckets_desc", (tenant_id, conversation_id), top):
            if page_token:
                got = await self._q("msg_before", tenant_id, conversation_id, bucket, page_token, want - len(rows))
            else:
                got = await self._q("msg_newest", tenant_id, conversation_id, bucket, want - len(rows))
            rows += got
            if len(rows) >= want:
                break
        page = rows[:limit]
        token = page[-1]["id"] if len(rows) > limit and page else ""
        return [common.Message.FromString(r["body"]) for r in reversed(page)], token

    async def messages_after(self, tenant_id, conversation_id, after_id, limit=500):
        out: list[common.Message] = []
        if limit <= 0:
            return out
        start = self._message_bucket(after_id) if after_id else -MAX_MS
        async for bucket in self._buckets("msg_buckets_asc", (tenant_id, conversation_id), start, descending=False):
            got = await self._q("msg_after", tenant_id, conversation_id, bucket, after_id, limit - len(out))
            out += [common.Message.FromString(r["body"]) for r in got]
            if len(out) >= limit:
                break
        return out

    async def search_messages(self, tenant_id, terms, *, status=0, assignee=None, label="", limit=20, page_token=""):
        hits: list[tuple[common.Conversation, common.Message]] = []
        rows: dict[str, dict | None] = {}
        token = page_token
        for _ in range(3):  # a few rounds when the filters drop candidates
            found, token = await search.candidates(
                self._q, tenant_id, terms, token, limit - len(hits), self._term_buckets, self._q_tuples
            )
            unread = list({cid for _, cid in found} - rows.keys())
            # the conversations and the messages at once: one round trip of latency
            read, messages = await asyncio.gather(
                asyncio.gather(*(self._row(tenant_id, c) for c in unread)), self._messages_of(tenant_id, found)
            )
            rows.update(zip(unread, read, strict=True))
            for (_, cid), message in zip(found, messages, strict=True):
                row = rows.get(cid)
                if row is None or message is None:  # a posting whose write did not finish
                    continue
                if not set(terms) <= set(message_terms(message)):  # let through by its signature
                    continue
                if (
                    (status and row["status"] != status)
                    or (assignee is not None and (row["assigned_operator_id"] or "") != assignee)
                    or (label and label not in (row.get("labels") or ()))
                ):
                    continue
                hits.append((conversation_of(row), message))
            if len(hits) >= limit or not token:
                break
        return hits, token

    # -- outbox -----------------------------------------------------------------------

    async def outbox_due(self, older_than_ms, limit=100):
        out: list[OutboxEntry] = []
        if limit <= 0:
            return out
        last_bucket = (older_than_ms - 1) // self.outbox_bucket_ms
        shards = range(self.outbox_shards)
        registered: dict[int, list[int]] = {}
        for shard, rows in zip(
            shards,
            await asyncio.gather(*(self._q("outbox_buckets", shard, last_bucket) for shard in shards)),
            strict=False,
        ):
            for row in rows:
                registered.setdefault(row["bucket"], []).append(shard)
        now = now_ms()
        for bucket in sorted(registered):
            in_use = registered[bucket]
            found = await asyncio.gather(
                *(self._q("outbox_scan", bucket, shard, older_than_ms, limit - len(out)) for shard in in_use)
            )
            end_ms = (bucket + 1) * self.outbox_bucket_ms
            if end_ms <= older_than_ms and end_ms < now - self.bucket_grace_ms:  # the scan covered all of it
                for shard, rows in zip(in_use, found, strict=False):
                    if not rows:
                        await self._drop_quietly("outbox_bucket_drop", end_ms * 1000, shard, bucket)
            rows = sorted(
                (r for shard_rows in found for r in shard_rows),
                key=lambda r: (r["created_ms"], r["tenant_id"], r["conversation_id"], r["message_id"]),
            )
            out += [OutboxEntry(r["tenant_id"], r["conversation_id"], r["message_id"], r["created_ms"]) for r in rows]
            if len(out) >= limit:
                break
        return out[:limit]

    async def outbox_done_many(self, entries):
        await asyncio.gather(
            *(self.outbox_done(t, c, m) for t, c, m in entries)
        )  # concurrent, not a batch: many partitions

    async def job_context(self, tenant_id, conversation_id, *, dedupe_key, history_limit):
        # the three reads at once: one round trip of latency instead of three
        existing, conversation, (history, _) = await asyncio.gather(
            self.find_message(tenant_id, conversation_id, dedupe_key=dedupe_key),
            self.get_conversation(tenant_id, conversation_id),
            self.list_messages(tenant_id, conversation_id, limit=history_limit),
        )
        if existing is not None:
            return existing, None, []
        if conversation is None:
            return None, None, []
        return None, conversation, history

    async def outbox_done(self, tenant_id, conversation_id, message_id):
        rows = await self._q("outbox_lookup_get", tenant_id, conversation_id, message_id)
        if not rows:
            return
        where = rows[0]
        await self._batch(
            [
                (
                    "outbox_drop",
                    (where["bucket"], where["shard"], where["created_ms"], tenant_id, conversation_id, message_id),
                ),
                ("outbox_lookup_drop", (tenant_id, conversation_id, message_id)),
            ]
        )

    async def record_feedback(self, tenant_id, conversation_id, message_id, helpful, comment):
        await self._q("feedback_put", tenant_id, conversation_id, message_id, bool(helpful), comment, now_ms())

    async def record_tool_call(self, tenant_id, conversation_id, call):
        if await self._row(tenant_id, conversation_id) is None:
            return  # erased while its tool ran
        await self._q("tool_call_put", tenant_id, conversation_id, call.job_id, call.call_id, json.dumps(call.__dict__))

    async def list_tool_calls(self, tenant_id, conversation_id, limit=100):
        calls = [
            ToolCallEntry(**json.loads(r["body"]))
            for r in await self._q("tool_calls", tenant_id, conversation_id, limit)
        ]
        return sorted(calls, key=lambda c: (c.started_ms, c.job_id, c.call_id))

    async def add_note(self, tenant_id, note):
        await self._q("note_put", tenant_id, note.conversation_id, note.id, note.SerializeToString())

    async def list_notes(self, tenant_id, conversation_id, limit=200):
        rows = await self._q("notes", tenant_id, conversation_id, limit)  # newest first
        return [admin_pb2.Note.FromString(r["body"]) for r in reversed(rows)]

    async def erase_conversation(self, tenant_id, conversation_id):
        return await erase.erase_conversation(self, tenant_id, conversation_id)

    async def list_feedback(self, tenant_id, conversation_id):
        rows = await self._q("feedback_list", tenant_id, conversation_id)
        return [FeedbackEntry(r["message_id"], bool(r["helpful"]), r["at_ms"] or 0) for r in rows]


# =====================================================================================
# account store
# =====================================================================================
