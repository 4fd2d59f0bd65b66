"""Cost per backend from the deployment's price table, and sentiment per conversation:
the figures AnalyticsCore computes over a real store (SQLite here; the store contract
runs the same store methods against Cassandra)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from analytics.aggregate import Sentiment
from analytics.prices import parse_prices
from analytics.service import AnalyticsCore
from analytics.store_sqlite import SqliteAnalyticsStore
from analytics.worker import EventCounter
from frontdesk.errors import InvalidArgument
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev
from tests.conftest import ROOT

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC).timestamp()
TODAY = date(2026, 3, 10)


def event(event_id: str, conversation: str = "c_1", at: float = NOW, **kind) -> ev.DomainEvent:
    e = ev.DomainEvent(event_id=event_id, tenant_id=A, conversation_id=conversation, **kind)
    e.occurred_at.FromNanoseconds(int(at * 1e9))
    return e


def reply(job: str, backend: str, model: str, prompt: int, completion: int) -> ev.DomainEvent:
    return event(
        f"reply:{job}",
        reply_completed=ev.ReplyCompleted(
            reply_id=f"r{job}",
            in_reply_to=job,
            backend=backend,
            model=model,
            total_ms=100.0,
            prompt_tokens=prompt,
            completion_tokens=completion,
            answered=True,
        ),
    )


def said(message: str, conversation: str, text: str, at: float = NOW) -> ev.DomainEvent:
    return event(
        f"received:{message}",
        conversation,
        at,
        message_received=ev.MessageReceived(
            message_id=message, role=common.ROLE_CUSTOMER, channel=common.CHANNEL_WEB, text=text
        ),
    )


@pytest.fixture(scope="module")
def sentiment():
    return Sentiment()


@pytest.fixture
async def store(tmp_path):
    s = SqliteAnalyticsStore(tmp_path / "analytics.db")
    yield s
    await s.close()


async def count(counter: EventCounter, e: ev.DomainEvent, tenant: str = A) -> str:
    return await counter.count(f"frontdesk.{tenant}.events.{e.WhichOneof('kind')}", e.SerializeToString(), NOW, 1)


# -- the price table ----------------------------------------------------------------


def test_the_price_table_reads_exact_and_wildcard_entries():
    table = parse_prices('{"openai/gpt-4o-mini": [0.15, 0.6], "anthropic/*": [3, 15]}')
    assert table.find("openai", "gpt-4o-mini").cost(1_000_000, 2_000_000) == pytest.approx(1.35)
    assert table.find("anthropic", "claude-x").input_per_1m == 3.0
    assert table.find("openai", "gpt-4o") is None and table.find("llamacpp", "smollm2") is None
    assert not parse_prices("") and not parse_prices("  ")


@pytest.mark.parametrize(
    "raw, says",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"gpt-4o": [1, 2]}', '"<backend>/<model>"'),
        ('{"openai/gpt-4o": [1]}', "[input_usd_per_1M_tokens, output_usd_per_1M_tokens]"),
        ('{"openai/gpt-4o": ["1", 2]}', "[input_usd_per_1M_tokens, output_usd_per_1M_tokens]"),
        ('{"openai/gpt-4o": [-1, 2]}', "not negative"),
    ],
)
def test_a_malformed_price_table_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(ValueError) as err:
        parse_prices(raw)
    assert "FRONTDESK_MODEL_PRICES" in str(err.value) and says in str(err.value)


def test_analytics_refuses_to_start_with_a_malformed_price_table(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FRONTDESK_DATA_DIR": str(tmp_path), "FRONTDESK_MODEL_PRICES": '{"echo": [1, 2]}'}
    done = subprocess.run(
        [sys.executable, "-m", "launcher", "analytics"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "analytics cannot start: FRONTDESK_MODEL_PRICES: key 'echo' must be" in done.stderr


async def test_the_overview_prices_each_backend_and_reports_unpriced_ones(store, sentiment):
    counter = EventCounter(store, sentiment)
    for e in (
        reply("m1", "openai", "gpt-4o-mini", 1000, 500),
        reply("m2", "openai", "gpt-4o-mini", 3000, 1500),
        reply("m3", "anthropic", "claude", 2000, 1000),
        reply("m4", "llamacpp", "smollm2", 100, 50),
    ):
        assert await count(counter, e) == "applied"
    prices = parse_prices('{"openai/gpt-4o-mini": [0.15, 0.6], "anthropic/*": [3, 15]}')
    o = await AnalyticsCore(store, lambda: TODAY, prices=prices).overview(A, pb.DateRange())
    by = {(b.backend, b.model): b for b in o.backends}
    mini = by[("openai", "gpt-4o-mini")]
    assert (mini.priced, mini.prompt_tokens, mini.completion_tokens) == (True, 4000, 2000)
    assert mini.cost_usd == pytest.approx((4000 * 0.15 + 2000 * 0.6) / 1e6)
    assert (mini.input_usd_per_1m, mini.output_usd_per_1m) == (0.15, 0.6)
    assert by[("anthropic", "claude")].cost_usd == pytest.approx((2000 * 3 + 1000 * 15) / 1e6)
    local = by[("llamacpp", "smollm2")]
    assert (local.priced, local.cost_usd, local.replies) == (False, 0.0, 1)
    assert o.cost_usd == pytest.approx(mini.cost_usd + by[("anthropic", "claude")].cost_usd)
    assert o.unpriced_replies == 1
    # no table at all: every backend is unpriced and the cost is 0, not a guess
    bare = await AnalyticsCore(store, lambda: TODAY).overview(A, pb.DateRange())
    assert bare.cost_usd == 0 and bare.unpriced_replies == 4 and not any(b.priced for b in bare.backends)


# -- sentiment per conversation -----------------------------------------------------


async def test_conversations_are_ranked_by_sentiment_paged_and_looked_up_by_id(store, sentiment):
    counter = EventCounter(store, sentiment)
    day = 86_400
    events = [
        said("m1", "c_angry", "This is terrible, awful service. I am furious!"),
        said("m2", "c_angry", "Still broken. Useless."),
        said("m3", "c_happy", "Thank you, that was great and very helpful!"),
        said("m4", "c_mixed", "The app crashed and I lost my work, this is bad."),
        said("m5", "c_mixed", "Thanks, it works now."),
        said("m6", "c_neutral", "What are your opening hours"),
        said("m7", "c_old", "Horrible, the worst", at=NOW - 20 * day),  # outside a 7-day range
    ]
    for e in events:
        assert await count(counter, e) == "applied"
    assert await count(counter, events[0]) == "duplicate"  # counts once, and its score once
    await count(counter, said("m9", "c_angry", "Disgusting, awful"), tenant=B)  # another tenant's conversation id

    core = AnalyticsCore(store, lambda: TODAY)
    week = pb.DateRange(from_day="2026-03-04", to_day="2026-03-10")
    first = await core.list_conversation_sentiment(A, week, 2, "")
    assert first.total == 4 and first.next_page_token and "VADER" in first.analyser
    assert [c.conversation_id for c in first.conversations] == ["c_angry", "c_mixed"]
    angry = first.conversations[0]
    assert angry.messages == 2 and angry.mean_compound < -0.5 and angry.min_compound <= angry.mean_compound
    assert angry.label == "negative" and angry.updated_at.ToSeconds() == int(NOW)
    second = await core.list_conversation_sentiment(A, week, 2, first.next_page_token)
    assert [c.conversation_id for c in second.conversations] == ["c_neutral", "c_happy"]
    assert second.next_page_token == "" and [c.label for c in second.conversations] == ["neutral", "positive"]
    month = await core.list_conversation_sentiment(A, pb.DateRange(from_day="2026-02-01", to_day="2026-03-10"), 0, "")
    assert month.total == 5 and month.conversations[0].conversation_id == "c_old"

    got = await core.conversation_sentiment(A, ["c_happy", "c_angry", "c_unknown", "c_happy"])
    assert [(c.conversation_id, c.messages, c.label) for c in got.conversations] == [
        ("c_happy", 1, "positive"),
        ("c_angry", 2, "negative"),
    ]
    assert got.conversations[1].mean_compound == angry.mean_compound
    theirs = await core.conversation_sentiment(B, ["c_angry"])
    assert [c.messages for c in theirs.conversations] == [1]  # B's own conversation, not A's

    with pytest.raises(InvalidArgument):
        await core.list_conversation_sentiment(A, week, 101, "")
    with pytest.raises(InvalidArgument):
        await core.list_conversation_sentiment(A, week, 10, "not-a-token")
    with pytest.raises(InvalidArgument):
        await core.conversation_sentiment(A, [f"c_{i}" for i in range(101)])
