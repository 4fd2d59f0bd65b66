// Figures from the analytics service (AnalyticsService) for a chosen period (../figures: volume,
// resolution, accuracy, satisfaction, latency, cost, what the knowledge base is missing) and
// the most negative conversations.

import { useState } from "react";

import { Code, codeOf } from "../../api/client";
import { api } from "../api";
import { Button, Card, ErrorBanner, inputClass, Link, Notice, PageHeader, Spinner, Table, Td, useLoad } from "../components";
import { day, Figures } from "../figures";
import { SentimentBadge } from "../sentiment";

const RANGES = [7, 30, 90];

export function AnalyticsPage() {
  const [span, setSpan] = useState(30);
  const to = day(new Date());
  const from = day(new Date(Date.now() - (span - 1) * 86_400_000));
  const data = useLoad(async (signal) => {
    const range = { fromDay: from, toDay: to };
    const opts = { signal, timeoutMs: 20_000 };
    const [overview, daily, unanswered] = await Promise.all([
      api.analytics.getOverview({ range }, opts),
      api.analytics.getDailyStats({ range }, opts),
      api.analytics.getTopUnanswered({ range, limit: 10 }, opts),
    ]);
    // names for the team's figures; the figures stand without them
    const operators = await api.admin.listOperators({}, opts).catch(() => ({ operators: [] }));
    const operatorNames = new Map(operators.operators.map((op) => [op.id, op.displayName || op.email]));
    return { overview, days: daily.days, unanswered: unanswered.questions, operatorNames };
  }, [from, to], 60_000);

  const code = data.error ? codeOf(data.error) : undefined;
  const unavailable = code === Code.Unimplemented || code === Code.Unavailable;

  return (
    <div className="space-y-4">
      <PageHeader title="Analytics">
        <label className="flex items-center gap-2 text-sm">
          <span>Period</span>
          <select aria-label="Period" className={inputClass} value={span} onChange={(e) => setSpan(Number(e.target.value))}>
            {RANGES.map((r) => <option key={r} value={r}>last {r} days</option>)}
          </select>
        </label>
      </PageHeader>
      {unavailable && !data.data && (
        <Notice tone="warning">
          The analytics service is not available{code === Code.Unavailable ? " right now" : " on this server"}, so there are no
          figures to show. Conversations, the knowledge base and settings work without it.
        </Notice>
      )}
      {!unavailable && <ErrorBanner error={data.error} onRetry={data.reload} />}
      {!data.data && !data.error && <Spinner />}
      {data.data && (
        <Figures from={from} to={to} {...data.data}>
          <NegativeConversations key={`${from}..${to}`} from={from} to={to} />
        </Figures>
      )}
    </div>
  );
}

const SENTIMENT_PAGE = 8;

/** Conversations of the period by the sentiment of their customer messages, most negative first. */
function NegativeConversations({ from, to }: { from: string; to: string }) {
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages.at(-1) ?? "";
  const list = useLoad((signal) => api.analytics.listConversationSentiment(
    { range: { fromDay: from, toDay: to }, pageSize: SENTIMENT_PAGE, pageToken }, { signal, timeoutMs: 20_000 }),
  [from, to, pageToken], 60_000);
  const data = list.data;
  return (
    <Card title="Most negative conversations">
      <p className="mb-2 text-xs text-slate-500">
        Mean sentiment of each conversation's customer messages (VADER: English, rule based; it reads words, not meaning,
        so sarcasm and polite complaints are missed). A pointer to conversations worth reading, not a verdict.
      </p>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {!data && !list.error && <Spinner />}
      {data && (
        <>
          <Table head={["Conversation", "Sentiment", "Most negative", "Messages"]}
                 empty={data.conversations.length === 0 && <p className="p-2 text-sm text-slate-500">No customer messages in this period.</p>}>
            {data.conversations.map((c) => (
              <tr key={c.conversationId} data-negative-conversation={c.conversationId}>
                <Td><Link to={`/conversations/${encodeURIComponent(c.conversationId)}`}>
                  <span className="font-mono text-xs">{c.conversationId}</span></Link></Td>
                <Td><SentimentBadge s={c} /></Td>
                <Td className="tabular-nums">{c.minCompound.toFixed(2)}</Td>
                <Td className="tabular-nums">{c.messages.toString()}</Td>
              </tr>
            ))}
          </Table>
          <div className="mt-2 flex items-center justify-between text-xs text-slate-500">
            <span>{data.total.toString()} conversation(s) with customer messages</span>
            <div className="flex gap-2">
              <Button disabled={pages.length <= 1} onClick={() => setPages((p) => p.slice(0, -1))}>Previous</Button>
              <Button disabled={!data.nextPageToken} onClick={() => setPages((p) => [...p, data.nextPageToken])}>Next</Button>
            </div>
          </div>
        </>
      )}
    </Card>
  );
}
