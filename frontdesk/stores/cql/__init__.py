"""The log and account stores on ScyllaDB (or Apache Cassandra): CQL through `scylla-driver`.

Same interfaces and semantics as the embedded SQLite stores (`frontdesk.stores.sqlite`);
the contract tests in tests/frontdesk/stores run against both, the CQL one against a real server.

Tables (every key starts with the tenant, except the sweeper's outbox and the lookups
that find a caller's tenant: slug, widget key, API key id):

  conversations              ((tenant_id, id))                             one row per conversation, columns
  conversation_index         ((tenant_id, scope, bucket), updated_ms DESC, conversation_id DESC)
  conversation_index_buckets ((tenant_id, scope), bucket DESC)            buckets of the index in use
  messages                   ((tenant_id, conversation_id, bucket), id)    bucket = id time // message_bucket_ms
  message_buckets            ((tenant_id, conversation_id), bucket DESC)   buckets of a conversation in use
  message_dedupe             ((tenant_id, conversation_id, dedupe_key))    claimed with INSERT ... IF NOT EXISTS
  outbox                     ((bucket, shard), created_ms, tenant_id, conversation_id, message_id)
  outbox_buckets             ((shard), bucket)                             minute buckets holding entries
  outbox_lookup              ((tenant_id, conversation_id), message_id)    where an entry lives, for outbox_done
  feedback                   ((tenant_id, conversation_id), message_id)
  tool_calls                 ((tenant_id, conversation_id), job_id, call_id)   the AI's tool calls, for the admin
  notes                      ((tenant_id, conversation_id), id DESC)       the team's private notes, apart from messages
  tenants (id) · tenant_slugs (slug) · tenant_widget_keys (widget_key)    slug/key claimed by LWT
  api_keys (id) · api_keys_by_tenant ((tenant_id), id)
  operators ((tenant_id), id) · operator_emails ((tenant_id, email))      email claimed by LWT
  tools ((tenant_id), name)                                                tenant HTTP tools, created by LWT
  canned_responses ((tenant_id), shortcut)                                 saved replies, upserted by shortcut

Choices, briefly:

* Messages are stored as serialized protobuf blobs (like the SQLite store): they are
  written once and always read whole, nested fields (citations, attachments) need no
  CQL types, and a new proto field needs no ALTER TABLE. Conversations are columns:
  their fields are updated and compared individually.
* A message partition is (tenant, conversation, bucket) with bucket derived from the
  message id's time (ids are time-ordered), so a long conversation cannot grow one
  partition without bound; history paging walks the buckets listed in message_buckets
  backwards, messages_after walks them forwards.
* Every conversation change is a lightweight transaction conditioned on updated_ms,
  and every change moves updated_ms forward by at least 1 ms (max(old + 1, now); the
  SQLite store uses max(old, now)), so updated_ms is the row's version and
  message_count stays exact under concurrent appends. The recency index
  (conversation_index: scopes "all", "v:<visitor>", "s:<status>", day buckets) gets the
  entries of the new state *before* the LWT and loses those of the old state after it
  (with write timestamps derived from updated_ms, so a late or replayed write can never
  undo a newer one). A reader shows an entry only if it matches the conversation's
  current (updated_ms, status): entries left by a failed or interrupted change are
  skipped, and deleted once they are provably old.
* Dedupe: INSERT ... IF NOT EXISTS on (tenant, conversation, dedupe_key) holding the
  message body, so concurrent duplicates store exactly one message and a loser gets the
  winner's message. A claim whose message never got written (the writer died in between)
  is completed by the next append with that key once the claim is older than
  `repair_after_s`. The message, its bucket and its outbox entry are one logged batch.
* Uniqueness of slug, widget key and operator email: claim rows written with LWT; a
  lookup follows the claim and checks that the owner still has that value, so a claim
  left behind by a crash is harmless and is taken over once older than `claim_grace_s`.
* The outbox is partitioned by (minute bucket, shard) across tenants; outbox_buckets
  lists the buckets holding entries, so outbox_due reads a few partitions, oldest first.
  Bucket registry rows are removed only when found empty well after their time window
  (`bucket_grace_s`), with a delete timestamp at the end of that window, so that only
  writes made during the window are shadowed (see _registry_stamp). The outbox tables use gc_grace_seconds=3600: a resurrected entry
  only republishes a job, which JetStream's dedupe and the reply dedupe key absorb.

Differences from the SQLite store (its single transactions have no CQL equivalent):
* after the message batch, bumping the conversation is a second step; if the process
  dies or the store fails between them, the message is stored but the conversation's
  count/preview/updated_ms lag until its next change;
* a message id given twice without a dedupe key overwrites (ids are random; SQLite
  raises); a duplicate conversation id, or update_tenant to another tenant's slug or
  widget key, raises Conflict (SQLite: sqlite3.IntegrityError);
* a new API key is listed by tenant a moment after it can be fetched by id (two writes).
Bucket sizes and outbox_shards are fixed for the life of a keyspace.

The driver is callback based: `CqlSession.execute` turns `execute_async` futures into
asyncio futures with `loop.call_soon_threadsafe`, so the event loop never blocks on
CQL. Driver failures (no host, timeouts, unavailable replicas) become StoreUnavailable.
Connecting, creating the keyspace and tables (idempotent: IF NOT EXISTS) and preparing
every statement happen once, on first use, in a worker thread.
"""

from frontdesk.stores.cql.accounts import CqlAccountStore
from frontdesk.stores.cql.logstore import CqlLogStore
from frontdesk.stores.cql.session import CqlSession, CqlStore, is_cas_timeout

__all__ = ["CqlAccountStore", "CqlLogStore", "CqlSession", "CqlStore", "is_cas_timeout"]
