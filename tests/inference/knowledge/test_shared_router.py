"""The answer policy's router travels with the shared knowledge base (inference/kbshare.py):
whoever writes a version trains it, a worker that loads the version uses it as it came
(no training), a router that does not fit the snapshot is retrained (the fallback), and a
worker answers from the version it serves until a newer one is completely loaded.

Real nats-server (JetStream KV head, core NATS notices) and the embedded blob store; the
blob-store matrix is in test_shared_kb.py."""

from __future__ import annotations

import asyncio
import pickle
import sqlite3
import threading
from dataclasses import replace

import pytest

from frontdesk.stores.localblob import LocalBlobStore
from inference.grounding import Grounding
from inference.knowledge import FaqEntry
from inference.knowledge import policy as policy_mod
from inference.knowledge import router as router_mod
from tests.inference.knowledge import FAQ
from tests.inference.knowledge.test_shared_kb import A, js, until, workers  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def blobs(tmp_path):
    yield LocalBlobStore(tmp_path / "blobs")


class TrainingCalls:
    """Counts router trainings; with `forbid`, a training fails the test."""

    def __init__(self, monkeypatch, forbid: bool = False):
        self.calls = 0
        real = router_mod.train_router

        def train(*args, **kwargs):
            self.calls += 1
            if forbid:
                raise AssertionError("the router came with the snapshot: nothing is trained here")
            return real(*args, **kwargs)

        monkeypatch.setattr(policy_mod, "train_router", train)


async def _snapshot_bytes(blobs, head) -> bytes:
    return b"".join([c async for c in blobs.get(A, head.snapshot)])


async def _replace_router(blobs, head, tmp_path, data: bytes | None) -> None:
    """Rewrite the router attachment inside the published snapshot (None: remove it)."""
    path = tmp_path / "tampered.db"
    path.write_bytes(await _snapshot_bytes(blobs, head))
    db = sqlite3.connect(path)
    if data is None:
        db.execute("DELETE FROM attachments")
    else:
        db.execute("UPDATE attachments SET data=? WHERE name='router'", (data,))
    db.commit()
    db.close()

    async def one():
        yield path.read_bytes()

    await blobs.put(A, head.snapshot, one(), content_type="application/vnd.sqlite3", max_bytes=1 << 30)


async def test_the_writer_trains_the_router_and_a_worker_that_loads_it_does_not(
    workers,  # noqa: F811 - the fixture imported above
    blobs,
    monkeypatch,
    tmp_path,
):
    a, b = workers("a"), workers("b", nc=None, check_interval_s=0)
    writes = TrainingCalls(monkeypatch)
    _, head = await a.write(A, lambda kb: kb.upsert_faq(FAQ))
    assert writes.calls == 1  # trained as part of producing version 1
    mine = await a.serving(A)
    assert (mine.version, mine.trained_here) == (1, True)
    # the router is inside the snapshot, stamped with the generation it was trained for
    path = tmp_path / "published.db"
    path.write_bytes(await _snapshot_bytes(blobs, head))
    db = sqlite3.connect(path)
    generation = int(db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
    ((name, stamped, data),) = db.execute("SELECT name, generation, data FROM attachments").fetchall()
    db.close()
    carried = router_mod.router_from_bytes(data, generation)
    assert name == "router" and stamped == generation and carried is not None
    assert set(carried.classes) == {e.id for e in FAQ}

    monkeypatch.undo()
    TrainingCalls(monkeypatch, forbid=True)
    served = await b.serving(A)
    assert (served.version, served.trained_here) == (1, False)
    decision = served.policy.decide("I forgot my password")
    assert decision.kind == "answer" and decision.citations[0].entry_id == "reset-password"
    assert served.policy.decide("who won the football match last night?").reason == "out_of_scope"
    # a restarted worker reuses the router saved beside its cache, without training either
    restarted = workers("b-again", nc=None, check_interval_s=0)
    restarted.cache_dir = b.cache_dir
    await b.close()
    again = await restarted.serving(A)
    assert (again.version, again.trained_here) == (1, False)
    assert again.policy.decide("when are you open").citations[0].entry_id == "opening-hours"


def _stale_router() -> bytes:
    """A well-formed router trained for another generation of the knowledge base."""
    router = router_mod.train_router({e.id: [e.question, *e.examples] for e in FAQ}, generation=999)
    return router_mod.router_bytes(router)


def _incompatible_router() -> bytes:
    router = router_mod.train_router({e.id: [e.question, *e.examples] for e in FAQ}, generation=0)
    return pickle.dumps({"fingerprint": "0:old-sklearn:other-model:1", "router": router})


@pytest.mark.parametrize("tamper", ["corrupt", "truncated", "stale", "incompatible", "missing"])
async def test_a_router_that_does_not_fit_the_snapshot_is_retrained(workers, blobs, monkeypatch, tmp_path, tamper):  # noqa: F811
    a, b = workers("a"), workers("b", nc=None, check_interval_s=0)
    _, head = await a.write(A, lambda kb: kb.upsert_faq(FAQ))
    if tamper == "corrupt":
        data = b"\x80\x05not a pickle at all"
    elif tamper == "truncated":
        good = router_mod.router_bytes((await a.serving(A)).policy.router())
        data = good[: len(good) // 2]
    elif tamper == "stale":
        data = _stale_router()
    elif tamper == "incompatible":
        data = _incompatible_router()
    else:
        data = None
    await _replace_router(blobs, head, tmp_path, data)
    trainings = TrainingCalls(monkeypatch)
    served = await b.serving(A)
    assert trainings.calls == 1 and served.trained_here
    decision = served.policy.decide("I want my money back")
    assert decision.kind == "answer" and decision.citations[0].entry_id == "refund"
    assert served.policy.router().generation == served.kb.generation


async def test_questions_are_answered_from_the_served_version_until_the_new_one_is_loaded(workers, tmp_path):  # noqa: F811
    a, b = workers("a"), workers("b", check_interval_s=0)  # B checks the head on every question
    await b.listen()
    await a.write(A, lambda kb: kb.upsert_faq(FAQ))
    grounding = Grounding(tmp_path / "unused", share=b)
    question = "How much does the Pro plan cost?"
    first = await grounding.decide(A, question, [])
    assert first.citations[0].entry_id == "pricing" and first.text.startswith("The Pro plan costs 12 EUR")

    # hold worker B's loader inside the load of the next version (after its download)
    loading, release = threading.Event(), threading.Event()
    open_snapshot = b._open_snapshot

    def held_open(*args):
        loading.set()
        assert release.wait(120)
        return open_snapshot(*args)

    b._open_snapshot = held_open
    cheaper = replace(FAQ[4], answer="The Pro plan now costs 9 EUR per user per month.")
    gift = FaqEntry(
        "gift-wrap",
        "Do you offer gift wrapping?",
        "Yes: gift wrapping costs 3 EUR per parcel.",
        (
            "can you wrap my present",
            "gift wrap option",
            "wrap the order as a gift",
            "do you do gift wrapping",
            "wrap it as a present please",
        ),
    )
    _, head = await a.write(A, lambda kb: kb.upsert_faq([cheaper, gift]))
    assert head.version == 2
    await until(lambda: asyncio.sleep(0, loading.is_set()))  # B heard the notice and is loading

    try:
        # meanwhile B answers from version 1, at once: nothing here waits for the load
        for _ in range(3):
            old = await asyncio.wait_for(grounding.decide(A, question, []), 30)
            assert old.citations[0].entry_id == "pricing" and "12 EUR" in old.text
            unknown = await asyncio.wait_for(grounding.decide(A, "can you wrap my present", []), 30)
            assert all(c.entry_id != "gift-wrap" for c in unknown.citations)
        assert (await b.serving(A)).version == 1
    finally:
        release.set()

    await until(lambda: asyncio.sleep(0, b._state(A).served.version == 2))
    new = await grounding.decide(A, question, [])
    assert new.citations[0].entry_id == "pricing" and "9 EUR" in new.text
    gift_answer = await grounding.decide(A, "could you wrap my present as a gift?", [])
    assert gift_answer.kind == "answer" and gift_answer.citations[0].entry_id == "gift-wrap"
    assert not b._state(A).served.trained_here  # the router came with version 2
    # the version it served before is gone from its cache once swapped out
    await until(lambda: asyncio.sleep(0, len(list((b.cache_dir / A / "v").iterdir())) == 1))


async def test_a_router_too_large_for_the_snapshot_is_left_out_and_the_loader_trains(workers, monkeypatch):  # noqa: F811
    from inference import kbshare

    monkeypatch.setattr(kbshare, "MAX_ROUTER_BYTES", 1000)
    a, b = workers("a"), workers("b", nc=None, check_interval_s=0)
    await a.write(A, lambda kb: kb.upsert_faq(FAQ))
    trainings = TrainingCalls(monkeypatch)
    served = await b.serving(A)
    assert trainings.calls == 1 and served.trained_here
    assert served.policy.decide("when are you open").citations[0].entry_id == "opening-hours"


async def test_a_change_that_changes_nothing_trains_nothing_and_a_change_trains_once(workers, monkeypatch):  # noqa: F811
    a = workers("a")
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[:3]))
    trainings = TrainingCalls(monkeypatch)
    gone, head = await a.write(A, lambda kb: kb.delete("no-such-entry"))
    assert gone is False and head.version == 2 and trainings.calls == 0
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[3:]))
    assert trainings.calls == 1
    served = await a.serving(A)
    assert served.version == 3 and served.policy.decide("pro plan pricing").citations[0].entry_id == "pricing"
