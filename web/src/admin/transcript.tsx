// The pieces of the conversation page: a stored message, the AI's draft while it is being
// written, the operator's reply box and the AI's tool calls. Text from customers, operators
// and the AI is rendered as text (React children), never as HTML.

import { useState, type FormEvent } from "react";

import { Code, codeOf } from "../api/client";
import type { CannedResponse, ToolCallRecord } from "../gen/frontdesk/admin/v1/admin_pb";
import type { Message } from "../gen/frontdesk/common/v1/common_pb";
import { safeUrl } from "../shared/url";
import { api, formatTime } from "./api";
import { Badge, Button, Card, ErrorBanner, Notice, useAction } from "./components";
import { Role, ROLE_LABEL } from "./labels";
import type { Draft } from "./live-conversation";
import { Suggestions } from "./copilot";
import { CannedSuggestions, fillVariables, useCannedSuggestions } from "./workspace";

/** Stored messages in the order they were written (then by id). */
export function byTime(a: Message, b: Message): number {
  const ta = a.createdAt ? Number(a.createdAt.seconds) * 1e3 + a.createdAt.nanos / 1e6 : 0;
  const tb = b.createdAt ? Number(b.createdAt.seconds) * 1e3 + b.createdAt.nanos / 1e6 : 0;
  return ta - tb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12)); // works without a secure context too
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function DraftBubble({ d }: { d: Draft }) {
  return (
    <div data-testid="ai-draft" className="max-w-[80%] rounded-lg border border-dashed border-sky-300 bg-sky-50 p-2 text-sm">
      <p className="mb-0.5 text-xs text-sky-700">AI is writing…</p>
      <p className="whitespace-pre-wrap break-words">{d.text}</p>
    </div>
  );
}

export function MessageBubble({ m }: { m: Message }) {
  const customer = m.role === Role.CUSTOMER;
  const look = {
    [Role.CUSTOMER]: "bg-slate-100",
    [Role.AI]: "bg-sky-50 border border-sky-200",
    [Role.AGENT]: "bg-indigo-50 border border-indigo-200",
    [Role.SYSTEM]: "bg-amber-50 border border-amber-200 text-amber-900",
    [Role.UNSPECIFIED]: "bg-white border",
  }[m.role];
  return (
    <div data-message={m.id} data-role={ROLE_LABEL[m.role]} className={`max-w-[80%] rounded-lg p-2 text-sm ${look} ${customer ? "" : "ml-auto"}`}>
      <p className="mb-0.5 text-xs text-slate-500">
        {ROLE_LABEL[m.role]}{m.authorName ? ` · ${m.authorName}` : ""} · {formatTime(m.createdAt)}{m.voice ? " · voice" : ""}
      </p>
      {/* text, never HTML */}
      <p className="whitespace-pre-wrap break-words" data-testid="message-text">{m.text}</p>
      {m.attachments.length > 0 && (
        <ul className="mt-1 text-xs text-slate-600">
          {m.attachments.map((a) => <li key={a.id}>📎 {a.filename} ({Math.ceil(Number(a.sizeBytes) / 1024)} KiB)</li>)}
        </ul>
      )}
      {m.citations.length > 0 && (
        <ul className="mt-1 text-xs text-slate-600">
          {m.citations.map((c) => {
            const url = safeUrl(c.url);
            return (
              <li key={c.sourceId}>
                source: {url ? <a className="text-indigo-700 underline" href={url} target="_blank" rel="noreferrer noopener">{c.title || c.sourceId}</a>
                  : (c.title || c.sourceId)} ({c.score.toFixed(2)})
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export function ReplyBox({ conversationId, onSent, customerName = "", version = "" }:
  { conversationId: string; onSent: (m: Message) => void; customerName?: string; version?: string }) {
  const [text, setText] = useState("");
  const send = useAction();
  const suggestions = useCannedSuggestions(text.trim());
  const pick = (r: CannedResponse) =>
    setText(fillVariables(r.text, { customer_name: customerName, agent_name: api.session?.displayName ?? "" }));
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    const clientMessageId = randomId(); // a retried send is stored once
    const ok = await send.run(async () => {
      onSent(await api.admin.sendAgentMessage({ conversationId, text: body, clientMessageId }, { timeoutMs: 15_000 }));
    });
    if (ok) setText("");
  }
  return (
    <form onSubmit={submit} className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
      <ErrorBanner error={send.error} />
      <label className="mb-1 block text-sm font-medium" htmlFor="reply">Reply to the customer</label>
      <Suggestions conversationId={conversationId} version={version} onPick={setText} />
      <CannedSuggestions items={suggestions} onPick={pick} />
      <textarea id="reply" name="reply" rows={3} maxLength={10_000} value={text} onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(e); }}
                className="w-full rounded-md border border-slate-300 p-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500" />
      <div className="mt-2 flex items-center justify-between">
        <span className="text-xs text-slate-500">Ctrl+Enter sends · type / for a saved reply</span>
        <Button type="submit" variant="primary" disabled={send.busy || !text.trim()}>{send.busy ? "Sending…" : "Send"}</Button>
      </div>
    </form>
  );
}

/** The AI's tool calls in this conversation, loaded when asked for (what it looked up, and how that went). */
export function ToolCalls({ conversationId }: { conversationId: string }) {
  const [calls, setCalls] = useState<ToolCallRecord[] | "unavailable">();
  const load = useAction();
  const show = () => void load.run(async () => {
    try {
      setCalls((await api.admin.listToolCalls({ conversationId, pageSize: 100 }, { timeoutMs: 15_000 })).calls);
    } catch (err) {
      if (codeOf(err) !== Code.Unimplemented) throw err;
      setCalls("unavailable");
    }
  });
  return (
    <Card title="AI tool calls" actions={<Button disabled={load.busy} onClick={show}>{calls ? "Refresh" : "Show"}</Button>}>
      <ErrorBanner error={load.error} />
      {calls === "unavailable" && <Notice tone="warning">This server does not record the AI's tool calls.</Notice>}
      {Array.isArray(calls) && calls.length === 0 && <p className="text-sm text-slate-500">The AI called no tools in this conversation.</p>}
      {Array.isArray(calls) && calls.length > 0 && (
        <ul className="space-y-2 text-xs">
          {calls.map((c) => (
            <li key={c.jobId + c.callId} className="rounded border border-slate-200 p-2">
              <p><span className="font-mono font-medium">{c.tool}</span> · {formatTime(c.startedAt)} · {Math.round(c.durationMs)} ms ·{" "}
                {c.ok ? <Badge tone="green">ok</Badge> : <Badge tone="red">failed</Badge>} {c.error}</p>
              <p className="mt-1 break-all font-mono text-slate-600">{c.arguments}</p>
              {c.resultPreview && <p className="mt-1 whitespace-pre-wrap break-words text-slate-500">{c.resultPreview}</p>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
