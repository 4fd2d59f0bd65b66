"""SearchConversations' store query on a tenant with many messages: fills the embedded
store (SQLite FTS5) and, with --cql, a real Cassandra (tools/servers/cassandra/run.py) with
--messages messages of one tenant plus a fifth as many of another, then times the first page
(20 hits) of a mix of searches: one common word, one rare word, two and three words, an
order number, a word with a status filter (after one round not counted: a freshly started
server's first reads come from disk). Prints one JSON line per store: p50/p99/max in ms over
all searches, and per kind.

    python -m loadtest.search --messages 100000 [--cql] [--rounds 30]

The timing is of the store call the conversation service makes (the gRPC hops in front of it
add about a millisecond each on loopback; see loadtest/latency.py for those).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from frontdesk import ids  # noqa: E402
from frontdesk.stores.search import query_terms  # noqa: E402
from frontdesk_pb.common.v1 import common_pb2 as common  # noqa: E402

TENANT, OTHER = "t_01aaaaaaaaaaaaaaaaaaaaaaaa", "t_01bbbbbbbbbbbbbbbbbbbbbbbb"
PER_CONVERSATION = 10
# the words of support chats, most frequent first (drawn Zipf-like, so "order" is common and
# "warranty" rare), with order numbers and names mixed in
WORDS = (
    "the my is to and order you it for we a of can i have your in this delivery when please thanks "
    "refund hello help not where package arrived still return address payment card account email "
    "change cancel shipping tracking number week days yesterday today tomorrow price discount code "
    "size colour blue red black bike frame wheel brake service repair warranty invoice receipt "
    "vienna berlin paris madrid monday friday weekend broken missing wrong damaged late early"
).split()
NAMES = ("anna", "ben", "carla", "dev", "emil", "fatima", "georg", "hana")


def sentence(rng: random.Random) -> str:
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    words = rng.choices(WORDS, weights=weights, k=rng.randint(6, 24))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"#{rng.randint(10000, 99999)}")
    if rng.random() < 0.2:
        words.insert(0, rng.choice(NAMES))
    return " ".join(words).capitalize() + "."


def corpus(n: int, seed: int = 7):
    """(tenant, conversation id, message) for n messages of TENANT and n/5 of OTHER, in time order."""
    rng = random.Random(seed)
    start = int(time.time() * 1000) - (n + n // 5) * 1_000  # a message a second, ending now
    conv = {TENANT: "", OTHER: ""}
    for i in range(n + n // 5):
        tenant = OTHER if i % 6 == 5 else TENANT
        if i % (PER_CONVERSATION * 6) < 6 or not conv[tenant]:
            conv[tenant] = ids.new_id("conversation", now_ms=start + i * 1_000)
        role = common.ROLE_CUSTOMER if rng.random() < 0.5 else rng.choice((common.ROLE_AI, common.ROLE_AGENT))
        message = common.Message(
            id=ids.new_id("message", now_ms=start + i * 1_000),
            conversation_id=conv[tenant],
            role=role,
            text=sentence(rng),
        )
        message.created_at.FromMilliseconds(start + i * 1_000)
        yield tenant, message


SEARCHES = {
    "common word": ["order"],
    "rare word": ["warranty"],
    "two words": ["refund", "delivery"],
    "three words": ["broken", "bike", "frame"],
    "a name and a word": ["anna", "invoice"],
    "status filter": ["payment"],
}


async def fill(store, n: int, direct_cql: bool) -> float:
    started = time.monotonic()
    seen: set[tuple[str, str]] = set()
    batch: list = []

    async def one(tenant: str, message: common.Message) -> None:
        if (tenant, message.conversation_id) not in seen:
            seen.add((tenant, message.conversation_id))
            await store.create_conversation(
                tenant,
                common.Conversation(
                    id=message.conversation_id,
                    visitor_id="v_1",
                    status=common.CONVERSATION_STATUS_AI,
                    created_at=message.created_at,
                ),
            )
        if direct_cql:  # the postings and the message, without the conversation's counter bump
            from frontdesk.stores.cql import search

            await search.write_postings(store, tenant, message)
            await store._batch(store._message_writes(tenant, message, message.SerializeToString(), "", False))
        else:
            await store.append_message(tenant, message)

    for tenant, message in corpus(n):
        if direct_cql:
            batch.append(one(tenant, message))
            if len(batch) == 32:
                await asyncio.gather(*batch)
                batch = []
        else:
            await one(tenant, message)
    await asyncio.gather(*batch)
    return round(time.monotonic() - started, 1)


async def measure(store, rounds: int) -> dict:
    timings: dict[str, list[float]] = {kind: [] for kind in SEARCHES}
    hits: dict[str, int] = {}
    for terms in SEARCHES.values():  # one round not counted: a freshly started server's cold reads
        await store.search_messages(TENANT, query_terms(" ".join(terms)), limit=20)
    for _ in range(rounds):
        for kind, terms in SEARCHES.items():
            filters = {"status": common.CONVERSATION_STATUS_AI} if kind == "status filter" else {}
            started = time.perf_counter()
            found, _ = await store.search_messages(TENANT, query_terms(" ".join(terms)), limit=20, **filters)
            timings[kind].append((time.perf_counter() - started) * 1000)
            hits[kind] = len(found)
    every = sorted(t for ts in timings.values() for t in ts)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "searches": len(every),
        "p50_ms": pct(every, 0.5),
        "p99_ms": pct(every, 0.99),
        "max_ms": round(every[-1], 1),
        "per_kind_p50_ms": {k: round(statistics.median(v), 1) for k, v in timings.items()},
        "first_page_hits": hits,
    }


def cassandra():
    spec = importlib.util.spec_from_file_location("cassandra_run", ROOT / "tools" / "servers" / "cassandra" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cassandra_run"] = module
    spec.loader.exec_module(module)
    return module


async def run(args) -> list[dict]:
    from frontdesk.stores.sqlite import SqliteLogStore

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteLogStore(Path(tmp) / "logs.db")
        if not args.skip_embedded:
            fill_s = await fill(store, args.messages, direct_cql=False)
            results.append(
                {
                    "store": "embedded (SQLite FTS5)",
                    "messages": args.messages,
                    "fill_s": fill_s,
                    **await measure(store, args.rounds),
                }
            )
        await store.close()
        if args.cql:
            from frontdesk.stores.cql import CqlLogStore

            run_module = cassandra()
            run_module.ensure_installed()
            data = Path(args.cql_dir) if args.cql_dir else Path(tmp) / "cassandra"
            filled = data / f"filled-{args.messages}"  # --cql-dir: filled once, searched many times
            server = run_module.start(data)
            try:
                store = CqlLogStore([server.contact_point], keyspace="search_bench", timeout_s=30.0)
                fill_s = 0.0 if filled.exists() else await fill(store, args.messages, direct_cql=True)
                filled.touch()
                results.append(
                    {
                        "store": "CQL (Cassandra 5, term index)",
                        "messages": args.messages,
                        "fill_s": fill_s,
                        **await measure(store, args.rounds),
                    }
                )
                await store.close()
            finally:
                server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000, help="messages of the searched tenant")
    parser.add_argument("--rounds", type=int, default=30, help="times each search is run")
    parser.add_argument("--cql", action="store_true", help="also on a real Cassandra (installed on first use)")
    parser.add_argument("--cql-dir", default="", help="keep Cassandra's data here and fill it only once")
    parser.add_argument("--skip-embedded", action="store_true", help="only the CQL store")
    args = parser.parse_args()
    for result in asyncio.run(run(args)):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
