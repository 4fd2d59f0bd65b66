// The analytics page's figures for one period: tiles, then charts and tables of volume,
// resolution, accuracy from thumbs feedback, satisfaction, latency percentiles, cost per
// backend (from the deployment's price table) and the top unanswered questions.

import type { ReactNode } from "react";

import type { api } from "./api";
import { BarChart, HBars, LineChart, SplitBar } from "./charts";
import { Card, Table, Td } from "./components";
import type { DailyStat } from "../gen/frontdesk/analytics/v1/analytics_pb";

const COLORS = { ai: "#0ea5e9", handoff: "#f59e0b", human: "#6366f1", questions: "#4f46e5", accuracy: "#10b981", rating: "#ec4899" };

export function day(d: Date): string {
  return d.toISOString().slice(0, 10); // the service reports UTC days
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); day(d) <= to && out.length < 400; d.setUTCDate(d.getUTCDate() + 1)) out.push(day(d));
  return out;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
/** A wait a person feels: seconds, minutes or hours. */
const wait = (v: number) => (v < 60_000 ? `${Math.round(v / 1000)} s` : v < 3_600_000 ? `${(v / 60_000).toFixed(1)} min`
  : `${(v / 3_600_000).toFixed(1)} h`);
/** US dollars: cents, or four decimals below a cent (token prices are small). */
const usd = (v: number) => (v > 0 && v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`);

export type FiguresProps = {
  from: string;
  to: string;
  overview: Awaited<ReturnType<typeof api.analytics.getOverview>>;
  days: DailyStat[];
  unanswered: { question: string; count: bigint }[];
  /** shown among the cards, before the unanswered questions (the most negative conversations) */
  children?: ReactNode;
  /** operator id -> name, for the team's figures */
  operatorNames?: Map<string, string>;
};

export function Figures({ from, to, overview: o, days, unanswered, children, operatorNames }: FiguresProps) {
  const labels = daysBetween(from, to);
  const byDay = new Map(days.map((d) => [d.day, d]));
  const get = (d: string) => byDay.get(d);
  const n = (v: bigint | undefined) => Number(v ?? 0n);
  const questions = Number(o.questions);
  const priced = o.backends.some((b) => b.priced);
  const tiles: [string, string][] = [
    ["Questions", questions.toLocaleString("en-US")],
    ["Answered by the AI", questions ? pct(Number(o.aiAnswered) / questions) : "–"],
    ["Handed off", Number(o.handedOff).toLocaleString("en-US")],
    ["Accuracy (thumbs)", o.accuracy > 0 || days.some((d) => d.helpful + d.notHelpful > 0n) ? pct(o.accuracy) : "–"],
    ["Satisfaction", o.satisfaction > 0 ? `${o.satisfaction.toFixed(1)} / 5` : "–"],
    ["Sentiment", o.sentiment.toFixed(2)],
    ["Tokens", (Number(o.promptTokens) + Number(o.completionTokens)).toLocaleString("en-US")],
    ["Model cost", priced ? usd(o.costUsd) : o.backends.length ? "self-hosted" : "–"],
  ];
  return (
    <div className="space-y-4">
      <div className="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-8">
        {tiles.map(([label, value]) => (
          <div key={label} className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-tile={label}>
            <p className="text-xs text-slate-500">{label}</p>
            <p className="text-lg font-semibold tabular-nums">{value}</p>
          </div>
        ))}
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Daily questions">
          <BarChart title="Questions per day" labels={labels} series={[{ name: "questions", color: COLORS.questions }]}
                    values={labels.map((d) => [n(get(d)?.questions)])} />
        </Card>
        <Card title="Answered by the AI vs handed off">
          <BarChart title="AI-answered and handed-off questions per day" labels={labels}
                    series={[{ name: "AI answered", color: COLORS.ai }, { name: "handed off", color: COLORS.handoff },
                             { name: "resolved by a person", color: COLORS.human }]}
                    values={labels.map((d) => [n(get(d)?.aiAnswered), n(get(d)?.handedOff), n(get(d)?.humanResolved)])} />
          <div className="mt-3">
            <SplitBar title="Resolution over the period" parts={[
              { label: "AI answered", value: Number(o.aiAnswered), color: COLORS.ai },
              { label: "handed off", value: Number(o.handedOff), color: COLORS.handoff },
              { label: "resolved by a person", value: Number(o.humanResolved), color: COLORS.human },
            ]} />
          </div>
        </Card>
        <Card title="Accuracy from feedback">
          <LineChart title="Share of AI answers marked helpful, per day" labels={labels} min={0} max={1} format={pct}
                     series={[{ name: "helpful", color: COLORS.accuracy }]}
                     values={labels.map((d) => {
                       const s = get(d);
                       const votes = n(s?.helpful) + n(s?.notHelpful);
                       return [votes ? n(s?.helpful) / votes : null];
                     })} />
        </Card>
        <Card title="Satisfaction">
          <LineChart title="Mean rating per day (1 to 5)" labels={labels} min={1} max={5} format={(v) => v.toFixed(1)}
                     series={[{ name: "rating", color: COLORS.rating }]}
                     values={labels.map((d) => {
                       const s = get(d);
                       return [s && s.ratings > 0n ? s.ratingSum / Number(s.ratings) : null];
                     })} />
        </Card>
        <Card title="Latency">
          <HBars title="Latency percentiles" format={ms} items={[
            { label: "first token p50", value: o.firstToken?.p50Ms ?? o.firstTokenP50Ms, color: "#38bdf8" },
            ...(o.firstToken ? [{ label: "first token p90", value: o.firstToken.p90Ms, color: "#0ea5e9" }] : []),
            { label: "first token p99", value: o.firstToken?.p99Ms ?? o.firstTokenP99Ms, color: "#0284c7" },
            { label: "full reply p50", value: o.reply?.p50Ms ?? o.replyP50Ms, color: "#a78bfa" },
            ...(o.reply ? [{ label: "full reply p90", value: o.reply.p90Ms, color: "#8b5cf6" }] : []),
            { label: "full reply p99", value: o.reply?.p99Ms ?? o.replyP99Ms, color: "#7c3aed" },
            ...(o.queueWait ? [{ label: "queue wait p50", value: o.queueWait.p50Ms, color: "#fbbf24" },
                               { label: "queue wait p99", value: o.queueWait.p99Ms, color: "#d97706" }] : []),
          ]} />
          <div className="mt-4">
            <LineChart title="Median latency per day" labels={labels} format={ms}
                       series={[{ name: "first token p50", color: "#0284c7" }, { name: "full reply p50", color: "#7c3aed" }]}
                       values={labels.map((d) => {
                         const s = get(d);
                         return s && s.aiAnswered > 0n ? [s.firstTokenP50Ms, s.replyP50Ms] : [null, null];
                       })} />
          </div>
        </Card>
        <Card title="Ratings and sentiment">
          <p className="mb-2 text-xs text-slate-500">{Number(o.ratings)} rating(s); {Number(o.helpful)} helpful and {Number(o.notHelpful)} not helpful answer(s).</p>
          <HBars title="Ratings by stars" format={(v) => String(v)} items={[5, 4, 3, 2, 1].map((stars) => ({
            label: "★".repeat(stars), value: Number(o.ratingCounts[stars - 1] ?? 0n), color: COLORS.rating }))} />
          <div className="mt-4">
            <SplitBar title="Sentiment of customer messages" parts={[
              { label: "positive", value: Number(o.positiveMessages), color: "#10b981" },
              { label: "neutral", value: Number(o.neutralMessages), color: "#94a3b8" },
              { label: "negative", value: Number(o.negativeMessages), color: "#ef4444" },
            ]} />
          </div>
        </Card>
        <Card title="Handoffs, models and tools">
          {o.handoffReasons.length > 0 && (
            <HBars title="Why conversations were handed off" format={(v) => String(v)}
                   items={o.handoffReasons.map((r) => ({ label: r.name, value: Number(r.count), color: COLORS.handoff }))} />
          )}
          <Table head={["Backend", "Model", "Replies", "Tokens in / out", "Cost"]}
                 empty={o.backends.length === 0 && <p className="p-2 text-sm text-slate-500">No AI replies in this period.</p>}>
            {o.backends.map((b) => (
              <tr key={b.backend + b.model} data-backend={`${b.backend}/${b.model}`}><Td>{b.backend}</Td>
                <Td className="break-all">{b.model}</Td><Td>{b.replies.toString()}</Td>
                <Td className="tabular-nums">{b.promptTokens.toString()} / {b.completionTokens.toString()}</Td>
                <Td className="tabular-nums">
                  {b.priced
                    ? <span title={`$${b.inputUsdPer1m} / $${b.outputUsdPer1m} per million tokens in / out`}>{usd(b.costUsd)}</span>
                    : <span className="text-slate-500" title="No price in FRONTDESK_MODEL_PRICES: a self-hosted model">self-hosted</span>}
                </Td></tr>
            ))}
          </Table>
          {o.backends.length > 0 && (
            <p className="mt-2 text-xs text-slate-500">
              Cost uses the deployment's price table (FRONTDESK_MODEL_PRICES); models without a price count as self-hosted (0).
              {priced && <> Total <span data-cost-total>{usd(o.costUsd)}</span>.</>}
            </p>
          )}
          {o.tools.length > 0 && (
            <Table head={["Tool", "Calls", "Errors", "Mean"]}>
              {o.tools.map((t) => (
                <tr key={t.tool}><Td className="font-mono">{t.tool}</Td><Td>{t.calls.toString()}</Td>
                  <Td>{t.errors.toString()}</Td><Td>{ms(t.meanMs)}</Td></tr>
              ))}
            </Table>
          )}
        </Card>
        <Card title="The team">
          <p className="mb-2 text-xs text-slate-500">
            Conversations handed to a person (or taken over): the wait for the team's first reply, and the time until it was
            resolved. Satisfaction is split by who had the conversation.
          </p>
          <div className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="team-figures">
            {([
              ["First response (median)", o.firstResponse?.count ? wait(o.firstResponse.p50Ms) : "–"],
              ["Resolution (median)", o.resolution?.count ? wait(o.resolution.p50Ms) : "–"],
              ["Satisfaction, AI alone", o.ratingsAi > 0n ? `${o.satisfactionAi.toFixed(1)} / 5 (${o.ratingsAi})` : "–"],
              ["Satisfaction, with the team", o.ratingsTeam > 0n ? `${o.satisfactionTeam.toFixed(1)} / 5 (${o.ratingsTeam})` : "–"],
            ] as [string, string][]).map(([label, value]) => (
              <div key={label} data-tile={label}><p className="text-xs text-slate-500">{label}</p>
                <p className="font-semibold tabular-nums">{value}</p></div>
            ))}
          </div>
          <Table head={["Operator", "First responses", "Mean wait", "Resolved", "Mean time to resolve"]}
                 empty={o.operators.length === 0 && <p className="p-2 text-sm text-slate-500">No replies from the team in this period.</p>}>
            {o.operators.map((s) => (
              <tr key={s.operatorId} data-operator-stat={s.operatorId}>
                <Td>{operatorNames?.get(s.operatorId) ?? <span className="font-mono text-xs">{s.operatorId}</span>}</Td>
                <Td className="tabular-nums">{s.firstResponses.toString()}</Td>
                <Td className="tabular-nums">{s.firstResponses > 0n ? wait(s.meanFirstResponseMs) : "–"}</Td>
                <Td className="tabular-nums">{s.resolved.toString()}</Td>
                <Td className="tabular-nums">{s.resolved > 0n ? wait(s.meanResolutionMs) : "–"}</Td>
              </tr>
            ))}
          </Table>
        </Card>
        {children}
        <Card title="Top unanswered questions">
          <p className="mb-2 text-xs text-slate-500">What customers asked that the AI handed off: candidates for the knowledge base.</p>
          <Table head={["Question", "Times"]}
                 empty={unanswered.length === 0 && <p className="p-2 text-sm text-slate-500">None in this period.</p>}>
            {unanswered.map((q, i) => (
              <tr key={i}><Td className="break-words">{q.question}</Td><Td className="tabular-nums">{q.count.toString()}</Td></tr>
            ))}
          </Table>
        </Card>
      </div>
    </div>
  );
}
