"""Operators' presence, and who gets a conversation handed to the team.

Presence lives in the JetStream KV bucket PRESENCE, one key per operator
(`<tenant>.<operator>`), so every conversation replica reads the same records. A record holds
what the operator chose (online, away, offline), their capacity, and when their panel was last
seen. The gateway refreshes it every bus.PRESENCE_SEEN_EVERY_S while the operator's inbox stream is open. An
online record not seen for STALE_AFTER_S counts as offline: a closed laptop does not keep
taking customers.

Assignment:
- A conversation handed off goes to an online operator under their capacity. The one with the
  fewest waiting or live conversations wins; ties go to whoever was assigned longest ago
  (round robin).
- An operator who comes online takes the oldest waiting, unassigned conversations, up to
  their capacity.
- An operator who goes offline, or is no longer seen, hands their waiting and live
  conversations to others; with nobody free, they go back to the queue (waiting, unassigned).
  Changing a record is compare-and-set, so when several replicas notice the same expiry, only
  one of them reassigns."""

from __future__ import annotations

import time

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError

from conversation import rules
from frontdesk import bus, logs
from frontdesk.clock import ms_of, now_ms, ts_from_ms
from frontdesk.publish import Publisher
from frontdesk.stores.base import LogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("conversation.presence")

State = ev.PresenceState
STALE_AFTER_S = bus.PRESENCE_STALE_AFTER_S
DEFAULT_CAPACITY = 5
MAX_CAPACITY = 50
WAITING = (common.CONVERSATION_STATUS_HANDOFF, common.CONVERSATION_STATUS_HUMAN)
_LOAD_SCAN = 200  # an operator's assigned conversations read to count their load


def available(p: ev.Presence, at_ms: int) -> bool:
    """Online and seen recently enough to be given a customer."""
    return p.state == State.PRESENCE_STATE_ONLINE and at_ms - ms_of(p.seen_at) <= STALE_AFTER_S * 1000


class PresenceBook:
    """The PRESENCE bucket: read, compare-and-set, list a tenant's operators."""

    def __init__(self, kv):
        self.kv = kv

    async def get(self, tenant_id: str, operator_id: str) -> tuple[ev.Presence | None, int]:
        try:
            entry = await self.kv.get(bus.presence_key(tenant_id, operator_id))
        except KeyNotFoundError:
            return None, 0
        if not entry.value:
            return None, entry.revision or 0
        return ev.Presence.FromString(entry.value), entry.revision or 0

    async def put(self, tenant_id: str, presence: ev.Presence, revision: int) -> bool:
        """Writes the record if nobody changed it since `revision` (0: if there was none)."""
        key = bus.presence_key(tenant_id, presence.operator_id)
        try:
            if revision:
                await self.kv.update(key, presence.SerializeToString(), last=revision)
            else:
                await self.kv.create(key, presence.SerializeToString())
        except KeyWrongLastSequenceError:
            return False  # someone else changed it first: the caller re-reads
        return True

    async def of_tenant(self, tenant_id: str) -> list[ev.Presence]:
        # a watch of the tenant's keys hands over their current values and then a None (the
        # server filters by key; nats-py's keys(filters=...) does not filter here)
        watcher = await self.kv.watch(bus.presence_key(tenant_id, "*"), ignore_deletes=True)
        found = []
        try:
            while (entry := await watcher.updates(timeout=5)) is not None:
                if entry.value:
                    found.append(ev.Presence.FromString(entry.value))
        finally:
            await watcher.stop()
        return found

    async def everyone(self) -> list[tuple[str, str]]:
        """(tenant, operator) of every record (the sweep for operators no longer seen)."""
        try:
            keys = await self.kv.keys()
        except NoKeysError:
            return []
        return [tuple(k.split(".", 1)) for k in keys if "." in k]


class Assigner:
    def __init__(self, store: LogStore, pub: Publisher, book: PresenceBook):
        self.store = store
        self.pub = pub
        self.book = book
        self._last_assigned: dict[tuple[str, str], float] = {}  # round robin among equals

    # -- presence ---------------------------------------------------------------------

    async def set_presence(
        self, tenant_id: str, operator_id: str, display_name: str, state: int, capacity: int
    ) -> ev.Presence:
        """What an operator chose (state unspecified: still here). Coming online fills their
        free slots from the queue; going offline hands their conversations on."""
        for _ in range(5):
            before, revision = await self.book.get(tenant_id, operator_id)
            now = now_ms()
            if state == State.PRESENCE_STATE_UNSPECIFIED:
                if before is None or before.state == State.PRESENCE_STATE_OFFLINE:
                    return before or ev.Presence(operator_id=operator_id, state=State.PRESENCE_STATE_OFFLINE)
                was_stale = not available(before, now) and before.state == State.PRESENCE_STATE_ONLINE
                after = ev.Presence()
                after.CopyFrom(before)
                after.seen_at.CopyFrom(ts_from_ms(now))
                if not await self.book.put(tenant_id, after, revision):
                    continue
                if was_stale:  # back within the sweep's reach: take customers again
                    await self.fill(tenant_id, after)
                return after
            after = ev.Presence(
                operator_id=operator_id,
                display_name=display_name,
                state=state,  # type: ignore[arg-type]
                capacity=capacity or (before.capacity if before else 0) or DEFAULT_CAPACITY,
                seen_at=ts_from_ms(now),
            )
            if not await self.book.put(tenant_id, after, revision):
                continue
            if before is None or before.state != after.state or before.capacity != after.capacity:
                await self._announce(tenant_id, after)
            if state == State.PRESENCE_STATE_ONLINE:
                await self.fill(tenant_id, after)
            elif state == State.PRESENCE_STATE_OFFLINE:
                await self.hand_on(tenant_id, operator_id)
            return after
        raise RuntimeError("presence changed by too many writers at once")

    async def sweep(self) -> int:
        """Operators online but not seen for STALE_AFTER_S become offline and hand their
        conversations on (one replica wins each: compare-and-set). Returns how many."""
        gone = 0
        now = now_ms()
        for tenant_id, operator_id in await self.book.everyone():
            record, revision = await self.book.get(tenant_id, operator_id)
            if record is None or record.state != State.PRESENCE_STATE_ONLINE or available(record, now):
                continue
            record.state = State.PRESENCE_STATE_OFFLINE
            if not await self.book.put(tenant_id, record, revision):
                continue
            gone += 1
            log.info("presence.not_seen", tenant=tenant_id, operator=operator_id)
            await self._announce(tenant_id, record)
            await self.hand_on(tenant_id, operator_id)
        return gone

    async def _announce(self, tenant_id: str, p: ev.Presence) -> None:
        await self.pub.domain(
            tenant_id, "", f"presence:{p.operator_id}:{p.state}:{ms_of(p.seen_at)}", presence_changed=p
        )

    # -- assignment ---------------------------------------------------------------------

    async def load(self, tenant_id: str, operator_id: str) -> int:
        mine, _ = await self.store.list_conversations(tenant_id, assignee=operator_id, limit=_LOAD_SCAN)
        return sum(1 for c in mine if c.status in WAITING)

    async def pick(self, tenant_id: str, exclude: str = "") -> ev.Presence | None:
        now = now_ms()
        best: tuple[int, float, ev.Presence] | None = None
        for p in await self.book.of_tenant(tenant_id):
            if p.operator_id == exclude or not available(p, now):
                continue
            load = await self.load(tenant_id, p.operator_id)
            if load >= (p.capacity or DEFAULT_CAPACITY):
                continue
            rank = (load, self._last_assigned.get((tenant_id, p.operator_id), 0.0))
            if best is None or rank < best[:2]:
                best = (*rank, p)
        return best[2] if best else None

    async def _give(self, tenant_id: str, conv: common.Conversation, to: ev.Presence) -> common.Conversation:
        self._last_assigned[(tenant_id, to.operator_id)] = time.monotonic()
        return await rules.assign(self.store, self.pub, tenant_id, conv, to.operator_id, to.display_name, "")

    async def on_handoff(self, tenant_id: str, conversation_id: str) -> str:
        """A conversation was handed to the team: give it to someone free, if anyone is."""
        conv = await self.store.get_conversation(tenant_id, conversation_id)
        if conv is None or conv.status != common.CONVERSATION_STATUS_HANDOFF or conv.assigned_operator_id:
            return ""  # taken over, assigned by hand or released meanwhile
        to = await self.pick(tenant_id)
        if to is None:
            log.info("assignment.queued", tenant=tenant_id, conversation=conversation_id)
            return ""
        await self._give(tenant_id, conv, to)
        return to.operator_id

    async def fill(self, tenant_id: str, p: ev.Presence) -> int:
        """The oldest waiting, unassigned conversations, up to the operator's free slots."""
        free = (p.capacity or DEFAULT_CAPACITY) - await self.load(tenant_id, p.operator_id)
        if free <= 0:
            return 0
        queue, _ = await self.store.list_conversations(
            tenant_id, status=common.CONVERSATION_STATUS_HANDOFF, assignee="", limit=MAX_CAPACITY
        )
        given = 0
        for conv in reversed(queue):  # the page is newest first; the longest waiting go first
            if given >= free:
                break
            await self._give(tenant_id, conv, p)
            given += 1
        return given

    async def hand_on(self, tenant_id: str, operator_id: str) -> int:
        """The operator's waiting and live conversations to others, or back to the queue."""
        mine, _ = await self.store.list_conversations(tenant_id, assignee=operator_id, limit=_LOAD_SCAN)
        moved = 0
        for conv in mine:
            if conv.status not in WAITING:
                continue
            to = await self.pick(tenant_id, exclude=operator_id)
            if to is not None:
                await self._give(tenant_id, conv, to)
            else:
                await rules.assign(self.store, self.pub, tenant_id, conv, "", "", "")
            moved += 1
        if moved:
            log.info("assignment.handed_on", tenant=tenant_id, operator=operator_id, conversations=moved)
        return moved
