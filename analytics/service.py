"""AnalyticsService's answers, computed from the tenant's hourly buckets: a range is
the sum of its hours, percentiles come from the summed histograms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from analytics.aggregate import NEGATIVE, POSITIVE, Bucket, Sentiment, percentile
from analytics.prices import PriceTable
from analytics.store import AnalyticsStore, ConversationScore
from frontdesk.errors import InvalidArgument
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_HOURLY_DAYS = 31


def _today() -> date:
    return datetime.now(UTC).date()


# the days analytics can hold: no events exist before the product, and day arithmetic
# (a default range of 29 days before to_day) must stay inside Python's dates
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)


def _day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"range.{name} must be a day as YYYY-MM-DD, got {text[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidArgument(f"range.{name} must be between {FIRST_DAY} and {LAST_DAY}, got {day}")
    return day


def parse_range(r: pb.DateRange, today: date, max_days: int = MAX_DAYS) -> tuple[date, date]:
    """Inclusive UTC days; empty to_day = today, empty from_day = 29 days before to_day."""
    end = _day(r.to_day, "to_day") if r.to_day else today
    start = _day(r.from_day, "from_day") if r.from_day else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidArgument(f"range.from_day ({start}) is after range.to_day ({end})")
    if (end - start).days + 1 > max_days:
        raise InvalidArgument(f"the range covers {(end - start).days + 1} days; at most {max_days} per call")
    return start, end


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _latency(hist: dict[str, int]) -> pb.LatencyStat:
    return pb.LatencyStat(
        count=sum(hist.values()),
        p50_ms=percentile(hist, 0.5),
        p90_ms=percentile(hist, 0.9),
        p99_ms=percentile(hist, 0.99),
    )


def _stat(b: Bucket, **where) -> pb.DailyStat:
    c = b.counters
    return pb.DailyStat(
        questions=c.get("questions", 0),
        ai_answered=c.get("ai_answered", 0),
        handed_off=c.get("handed_off", 0),
        helpful=c.get("helpful", 0),
        not_helpful=c.get("not_helpful", 0),
        ratings=c.get("ratings", 0),
        rating_sum=float(c.get("rating_sum", 0)),
        human_resolved=c.get("human_resolved", 0),
        ai_resolved=c.get("ai_resolved", 0),
        sentiment=_ratio(c.get("sentiment_milli", 0), c.get("sentiment_n", 0)) / 1000,
        first_token_p50_ms=percentile(b.hists.get("first_token_ms", {}), 0.5),
        reply_p50_ms=percentile(b.hists.get("reply_ms", {}), 0.5),
        reply_p99_ms=percentile(b.hists.get("reply_ms", {}), 0.99),
        prompt_tokens=c.get("prompt_tokens", 0),
        completion_tokens=c.get("completion_tokens", 0),
        jobs_failed=c.get("jobs_failed", 0),
        **where,
    )


def _label(mean: float) -> str:
    return "positive" if mean >= POSITIVE else "negative" if mean <= NEGATIVE else "neutral"


def _conversation_sentiment(c: ConversationScore) -> pb.ConversationSentiment:
    out = pb.ConversationSentiment(
        conversation_id=c.conversation_id,
        messages=c.messages,
        mean_compound=round(c.mean, 4),
        min_compound=c.min_milli / 1000,
        label=_label(round(c.mean, 4)),
    )
    if c.last_ms:
        out.updated_at.FromMilliseconds(c.last_ms)
    return out


MAX_SENTIMENT_IDS = 100


class AnalyticsCore:
    def __init__(self, store: AnalyticsStore, today: Callable[[], date] = _today, prices: PriceTable | None = None):
        self.store = store
        self.today = today
        self.prices = prices or PriceTable()

    async def _hours(self, tenant_id: str, r: pb.DateRange, max_days: int = MAX_DAYS):
        start, end = parse_range(r, self.today(), max_days)
        return start, end, await self.store.hours(tenant_id, f"{start.isoformat()}T00", f"{end.isoformat()}T23")

    async def overview(self, tenant_id: str, r: pb.DateRange) -> pb.Overview:
        start, end, hours = await self._hours(tenant_id, r)
        b = Bucket.total(hours.values())
        c = b.counters
        first, reply = _latency(b.hists.get("first_token_ms", {})), _latency(b.hists.get("reply_ms", {}))
        out = pb.Overview(
            from_day=start.isoformat(),
            to_day=end.isoformat(),
            questions=c.get("questions", 0),
            ai_answered=c.get("ai_answered", 0),
            handed_off=c.get("handed_off", 0),
            human_resolved=c.get("human_resolved", 0),
            ai_resolved=c.get("ai_resolved", 0),
            closed=c.get("closed", 0),
            helpful=c.get("helpful", 0),
            not_helpful=c.get("not_helpful", 0),
            accuracy=_ratio(c.get("helpful", 0), c.get("helpful", 0) + c.get("not_helpful", 0)),
            ratings=c.get("ratings", 0),
            satisfaction=_ratio(c.get("rating_sum", 0), c.get("ratings", 0)),
            rating_counts=[c.get(f"rating_{i}", 0) for i in range(1, 6)],
            first_token=first,
            reply=reply,
            queue_wait=_latency(b.hists.get("queue_wait_ms", {})),
            first_token_p50_ms=first.p50_ms,
            first_token_p99_ms=first.p99_ms,
            reply_p50_ms=reply.p50_ms,
            reply_p99_ms=reply.p99_ms,
            sentiment=_ratio(c.get("sentiment_milli", 0), c.get("sentiment_n", 0)) / 1000,
            positive_messages=c.get("positive", 0),
            neutral_messages=c.get("neutral", 0),
            negative_messages=c.get("negative", 0),
            prompt_tokens=c.get("prompt_tokens", 0),
            completion_tokens=c.get("completion_tokens", 0),
            jobs_failed=c.get("jobs_failed", 0),
            first_response=_latency(b.hists.get("first_response_ms", {})),
            resolution=_latency(b.hists.get("resolution_ms", {})),
            ratings_ai=c.get("ratings_ai", 0),
            ratings_team=c.get("ratings_team", 0),
            satisfaction_ai=_ratio(c.get("rating_sum_ai", 0), c.get("ratings_ai", 0)),
            satisfaction_team=_ratio(c.get("rating_sum_team", 0), c.get("ratings_team", 0)),
        )
        operators = b.groups.get("operator", {})
        for name in sorted(operators, key=lambda n: (-operators[n].get("first_responses", 0), n)):
            counts = operators[name]
            out.operators.add(
                operator_id=name,
                first_responses=counts.get("first_responses", 0),
                mean_first_response_ms=_ratio(counts.get("first_response_ms", 0), counts.get("first_responses", 0)),
                resolved=counts.get("resolved", 0),
                mean_resolution_ms=_ratio(counts.get("resolution_ms", 0), counts.get("resolved", 0)),
            )
        for name, counts in sorted(b.groups.get("handoff_reason", {}).items(), key=lambda kv: (-kv[1]["n"], kv[0])):
            out.handoff_reasons.add(name=name, count=counts["n"])
        for name, counts in sorted(b.groups.get("channel", {}).items(), key=lambda kv: (-kv[1]["n"], kv[0])):
            out.channels.add(name=name, count=counts["n"])
        for name, counts in sorted(b.groups.get("backend", {}).items()):
            backend, _, model = name.partition("\t")
            stat = out.backends.add(
                backend=backend,
                model=model,
                replies=counts.get("replies", 0),
                prompt_tokens=counts.get("prompt_tokens", 0),
                completion_tokens=counts.get("completion_tokens", 0),
            )
            price = self.prices.find(backend, model)
            if price is None:
                out.unpriced_replies += stat.replies
                continue
            stat.priced = True
            stat.input_usd_per_1m, stat.output_usd_per_1m = price.input_per_1m, price.output_per_1m
            stat.cost_usd = price.cost(stat.prompt_tokens, stat.completion_tokens)
            out.cost_usd += stat.cost_usd
        for name, counts in sorted(b.groups.get("tool", {}).items()):
            calls = counts.get("calls", 0)
            out.tools.add(
                tool=name, calls=calls, errors=counts.get("errors", 0), mean_ms=_ratio(counts.get("ms", 0), calls)
            )
        return out

    async def daily(self, tenant_id: str, r: pb.DateRange) -> pb.GetDailyStatsResponse:
        start, end, hours = await self._hours(tenant_id, r)
        by_day: dict[str, Bucket] = {}
        for hour, b in hours.items():
            by_day.setdefault(hour[:10], Bucket()).merge(b)
        days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
        return pb.GetDailyStatsResponse(days=[_stat(by_day.get(d, Bucket()), day=d) for d in days])

    async def hourly(self, tenant_id: str, r: pb.DateRange) -> pb.GetHourlyStatsResponse:
        start, end, hours = await self._hours(tenant_id, r, MAX_HOURLY_DAYS)
        out = pb.GetHourlyStatsResponse()
        for i in range((end - start).days + 1):
            d = (start + timedelta(days=i)).isoformat()
            for h in range(24):
                key = f"{d}T{h:02d}"
                out.hours.append(_stat(hours.get(key, Bucket()), day=d, hour=key))
        return out

    async def top_unanswered(self, tenant_id: str, r: pb.DateRange, limit: int) -> pb.GetTopUnansweredResponse:
        if limit < 0 or limit > 100:
            raise InvalidArgument("limit must be between 0 (default 10) and 100")
        _, _, hours = await self._hours(tenant_id, r)
        totals: dict[str, int] = {}
        for b in hours.values():
            for question, n in b.unanswered.items():
                totals[question] = totals.get(question, 0) + n
        top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[: limit or 10]
        return pb.GetTopUnansweredResponse(questions=[pb.UnansweredQuestion(question=q, count=n) for q, n in top])

    async def sentiment(self, tenant_id: str, r: pb.DateRange, limit: int) -> pb.SentimentReport:
        if limit < 0 or limit > 50:
            raise InvalidArgument("limit must be between 0 (default 10) and 50")
        _, _, hours = await self._hours(tenant_id, r)
        b = Bucket.total(hours.values())
        c = b.counters
        report = pb.SentimentReport(
            messages=c.get("sentiment_n", 0),
            mean_compound=_ratio(c.get("sentiment_milli", 0), c.get("sentiment_n", 0)) / 1000,
            positive=c.get("positive", 0),
            neutral=c.get("neutral", 0),
            negative=c.get("negative", 0),
            analyser=Sentiment.name,
        )
        for score, conversation_id, message_id in b.negative[: limit or 10]:
            report.most_negative.add(conversation_id=conversation_id, message_id=message_id, compound=score / 1000)
        return report

    async def list_conversation_sentiment(
        self, tenant_id: str, r: pb.DateRange, page_size: int, page_token: str
    ) -> pb.ListConversationSentimentResponse:
        if page_size < 0 or page_size > 100:
            raise InvalidArgument("page_size must be between 0 (default 20) and 100")
        try:
            offset = int(page_token) if page_token else 0
        except ValueError:
            offset = -1
        if offset < 0:
            raise InvalidArgument("page_token is not valid")
        start, end = parse_range(r, self.today())
        scores = await self.store.scores_in_range(tenant_id, start.isoformat(), end.isoformat())
        ranked = sorted(scores.values(), key=lambda c: (c.sum_milli / c.messages, c.min_milli, c.conversation_id))
        size = page_size or 20
        page = ranked[offset : offset + size]
        more = offset + size < len(ranked)
        return pb.ListConversationSentimentResponse(
            conversations=[_conversation_sentiment(c) for c in page],
            total=len(ranked),
            next_page_token=str(offset + size) if more else "",
            analyser=Sentiment.name,
        )

    async def conversation_sentiment(self, tenant_id: str, conversation_ids) -> pb.GetConversationSentimentResponse:
        ids = list(dict.fromkeys(conversation_ids))
        if len(ids) > MAX_SENTIMENT_IDS:
            raise InvalidArgument(f"at most {MAX_SENTIMENT_IDS} conversation ids per call, got {len(ids)}")
        if any(not i or len(i) > 64 for i in ids):
            raise InvalidArgument("conversation_ids must be non-empty ids of at most 64 characters")
        scores = await self.store.conversation_scores(tenant_id, ids)
        return pb.GetConversationSentimentResponse(
            conversations=[_conversation_sentiment(scores[i]) for i in ids if i in scores]
        )
