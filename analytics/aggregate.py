"""What one domain event adds to its tenant's hourly aggregate, and how aggregates merge.

An hourly aggregate (`Bucket`) holds only mergeable things: integer counters, sparse
log-spaced histograms, named groups of counters, a capped table of unanswered questions
and the most negative messages. Adding two buckets is associative and commutative, so
a day, a week or a month is the sum of its hours, and the order events arrive in does
not matter. What makes it exactly-once is the store: an event id is applied at most
once (analytics/store.py).

Everything is kept in integers (sentiment in thousandths), so sums are exact and the
same events always give the same aggregate, whatever their order.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

# -- histograms ---------------------------------------------------------------------

BINS_PER_DECADE = 20  # bin width 10**(1/20) = x1.122: a percentile is within about 6%
MAX_BIN = 1 + 8 * BINS_PER_DECADE  # 1e8 ms (28 hours): anything longer lands in the last bin


def bin_of(ms: float) -> int:
    """Bin 0 holds [0, 1) ms; bin i >= 1 holds [10**((i-1)/20), 10**(i/20)) ms."""
    if math.isnan(ms) or ms < 1.0:
        return 0
    return min(1 + int(math.floor(BINS_PER_DECADE * math.log10(ms))), MAX_BIN)


def bin_value(index: int) -> float:
    """The value a bin stands for: the geometric middle of its bounds."""
    if index <= 0:
        return 0.5
    return 10 ** ((index - 0.5) / BINS_PER_DECADE)


def percentile(hist: dict[str, int], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a sparse histogram {bin: count}; 0 when empty."""
    total = sum(hist.values())
    if total <= 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(int(k) for k in hist):
        seen += hist[str(index)]
        if seen >= rank:
            return bin_value(index)
    return bin_value(max(int(k) for k in hist))


# -- the bucket ---------------------------------------------------------------------

MAX_UNANSWERED = 200  # distinct questions kept per hour bucket (the most asked win)
MAX_NEGATIVE = 50  # most negative messages kept per bucket
POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's customary thresholds on the compound score


@dataclass
class Bucket:
    counters: dict[str, int] = field(default_factory=dict)
    hists: dict[str, dict[str, int]] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)
    negative: list[list] = field(default_factory=list)  # [compound_milli, conversation_id, message_id]

    # building ---------------------------------------------------------------------

    def add(self, name: str, n: int = 1) -> None:
        if n:
            self.counters[name] = self.counters.get(name, 0) + n

    def observe(self, name: str, ms: float) -> None:
        hist = self.hists.setdefault(name, {})
        key = str(bin_of(ms))
        hist[key] = hist.get(key, 0) + 1

    def group(self, kind: str, name: str, **counts: int) -> None:
        entry = self.groups.setdefault(kind, {}).setdefault(name, {})
        for key, n in counts.items():
            entry[key] = entry.get(key, 0) + n

    # merging ----------------------------------------------------------------------

    def merge(self, other: Bucket) -> Bucket:
        for name, n in other.counters.items():
            self.add(name, n)
        for name, hist in other.hists.items():
            mine = self.hists.setdefault(name, {})
            for key, n in hist.items():
                mine[key] = mine.get(key, 0) + n
        for kind, entries in other.groups.items():
            for name, counts in entries.items():
                self.group(kind, name, **counts)
        for question, n in other.unanswered.items():
            self.unanswered[question] = self.unanswered.get(question, 0) + n
        if len(self.unanswered) > MAX_UNANSWERED:
            # approximate beyond the cap: a question asked once in a busy hour may be dropped
            kept = sorted(self.unanswered.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_UNANSWERED]
            self.unanswered = dict(kept)
        if other.negative:
            merged = {(c, m): s for s, c, m in self.negative + other.negative}
            self.negative = sorted(([s, c, m] for (c, m), s in merged.items()), key=lambda x: (x[0], x[1], x[2]))[
                :MAX_NEGATIVE
            ]
        return self

    @classmethod
    def total(cls, buckets) -> Bucket:
        out = cls()
        for b in buckets:
            out.merge(b)
        return out

    # storing ----------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {"c": self.counters, "h": self.hists, "g": self.groups, "u": self.unanswered, "n": self.negative},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> Bucket:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            counters=data.get("c", {}),
            hists=data.get("h", {}),
            groups=data.get("g", {}),
            unanswered=data.get("u", {}),
            negative=data.get("n", []),
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, Bucket) and self.to_json() == other.to_json()


# -- one event's contribution -------------------------------------------------------

_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.,;:]+$")
NOT_A_GAP = {"customer_request", "operator"}  # handoffs that say nothing about the knowledge base


def normalise_question(text: str) -> str:
    """Group the same question asked with different case, spacing or final punctuation."""
    return _TRAILING.sub("", _SPACES.sub(" ", text.strip().lower()))[:300]


class Sentiment:
    """VADER (rule-based, English, tuned on social media text): cheap and offline, but it
    reads words, not meaning: sarcasm, negated context and other languages are missed,
    and a polite complaint scores neutral. A trend signal, not a verdict on one message."""

    name = "VADER 3.3.2 compound score (-1..1), English only, rule based"

    def __init__(self):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyser = SentimentIntensityAnalyzer()

    def compound(self, text: str) -> float:
        return float(self._analyser.polarity_scores(text[:2000])["compound"])


def hour_of(ts_seconds: float) -> str:
    return datetime.fromtimestamp(ts_seconds, tz=UTC).strftime("%Y-%m-%dT%H")


def event_hour(event: ev.DomainEvent, fallback_seconds: float) -> str:
    """The hour the event happened in (a late event lands in its own hour). Derived from
    the event itself, so every copy of one event lands in the same bucket."""
    if event.HasField("occurred_at") and (event.occurred_at.seconds or event.occurred_at.nanos):
        return hour_of(event.occurred_at.seconds + event.occurred_at.nanos / 1e9)
    return hour_of(fallback_seconds)


def is_customer_message(event: ev.DomainEvent) -> bool:
    return event.WhichOneof("kind") == "message_received" and event.message_received.role in (
        common.ROLE_CUSTOMER,
        common.ROLE_UNSPECIFIED,
    )


def message_score(event: ev.DomainEvent, sentiment: Sentiment | None) -> int | None:
    """A customer message's VADER compound in thousandths; None for anything else."""
    if sentiment is None or not is_customer_message(event) or not event.message_received.text.strip():
        return None
    return round(sentiment.compound(event.message_received.text) * 1000)


def contribution(event: ev.DomainEvent, sentiment: Sentiment | None, score: int | None = None) -> Bucket:
    """What the event adds to its hour's aggregate (empty for kinds analytics ignores).
    `score`: the message's sentiment when the caller already computed it."""
    b = Bucket()
    kind = event.WhichOneof("kind")
    if kind == "message_received":
        m = event.message_received
        if not is_customer_message(event):
            return b
        b.add("questions")
        b.group(
            "channel",
            common.Channel.Name(m.channel).removeprefix("CHANNEL_").lower()
            if m.channel in common.Channel.values()
            else "other",
            n=1,
        )
        if score is None:
            score = message_score(event, sentiment)
        if score is not None:
            b.add("sentiment_n")
            b.add("sentiment_milli", score)
            b.add("positive" if score >= POSITIVE * 1000 else "negative" if score <= NEGATIVE * 1000 else "neutral")
            if score <= NEGATIVE * 1000:
                b.negative.append([score, event.conversation_id, m.message_id])
    elif kind == "reply_completed":
        r = event.reply_completed
        b.add("ai_answered" if r.answered else "not_answered")
        if r.first_token_ms > 0:
            b.observe("first_token_ms", r.first_token_ms)
        if r.total_ms > 0:
            b.observe("reply_ms", r.total_ms)
        if r.queue_wait_ms > 0:
            b.observe("queue_wait_ms", r.queue_wait_ms)
        b.add("prompt_tokens", max(r.prompt_tokens, 0))
        b.add("completion_tokens", max(r.completion_tokens, 0))
        if r.cited_ids:
            b.add("cited_replies")
        b.group(
            "backend",
            f"{r.backend or 'unknown'}\t{r.model or 'unknown'}",
            replies=1,
            prompt_tokens=max(r.prompt_tokens, 0),
            completion_tokens=max(r.completion_tokens, 0),
        )
        if not r.answered and r.question.strip():
            b.unanswered[normalise_question(r.question)] = 1
    elif kind == "handoff_requested":
        h = event.handoff_requested
        b.add("handed_off")
        b.group("handoff_reason", h.reason or "unspecified", n=1)
        if h.reason not in NOT_A_GAP and h.question.strip():
            b.unanswered[normalise_question(h.question)] = 1
    elif kind == "feedback_given":
        b.add("helpful" if event.feedback_given.helpful else "not_helpful")
    elif kind == "conversation_rated":
        score = event.conversation_rated.score
        if 1 <= score <= 5:
            side = "team" if event.conversation_rated.by_the_team else "ai"
            b.add("ratings")
            b.add("rating_sum", score)
            b.add(f"rating_{score}")
            b.add(f"ratings_{side}")
            b.add(f"rating_sum_{side}", score)
    elif kind == "first_response":
        f = event.first_response
        b.observe("first_response_ms", f.wait_ms)
        b.group("operator", f.operator_id or "unknown", first_responses=1, first_response_ms=max(round(f.wait_ms), 0))
    elif kind == "tool_called":
        t = event.tool_called
        b.add("tool_calls")
        b.add("tool_errors", 0 if t.ok else 1)
        b.group("tool", t.tool or "unknown", calls=1, errors=0 if t.ok else 1, ms=max(round(t.duration_ms), 0))
    elif kind == "job_failed":
        b.add("jobs_failed")
    elif kind == "conversation_closed":
        b.add("closed")
        by_person = event.conversation_closed.previous_status in (
            common.CONVERSATION_STATUS_HUMAN,
            common.CONVERSATION_STATUS_HANDOFF,
        )
        b.add("human_resolved" if by_person else "ai_resolved")
        took = event.conversation_closed.resolution_ms
        if by_person and took > 0:
            b.observe("resolution_ms", took)
            operator = event.conversation_closed.operator_id or "unknown"
            b.group("operator", operator, resolved=1, resolution_ms=max(round(took), 0))
    return b
