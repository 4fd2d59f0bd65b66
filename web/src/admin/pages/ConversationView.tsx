// One conversation, live: its stored messages, then the event stream (AI tokens as they are
// generated, new messages, typing, handoff, status changes), with human takeover. Messages
// are keyed by id, so history and stream (and reconnects) never show one twice.

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { api, Code, describeError, errorCode, formatTime } from "../api";
import { Badge, Button, Card, ErrorBanner, Link, Notice, PageHeader, Spinner, useAction } from "../components";
import type { ToolCallRecord } from "../../gen/frontdesk/admin/v1/admin_pb";
import type { Conversation, Message } from "../../gen/frontdesk/common/v1/common_pb";
import { CHANNEL_LABEL, ConversationStatus, HANDOFF_REASON, Role, ROLE_LABEL, STATUS_LABEL, STATUS_TONE } from "../labels";

interface Draft {
  replyId: string;
  text: string;
}

type Link_ = "connecting" | "live" | "reconnecting" | "failed";

const MAX_HISTORY_PAGES = 20; // 20 × 200 messages: more than any real conversation

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12)); // works without a secure context too
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function byTime(a: Message, b: Message): number {
  const ta = a.createdAt ? Number(a.createdAt.seconds) * 1e3 + a.createdAt.nanos / 1e6 : 0;
  const tb = b.createdAt ? Number(b.createdAt.seconds) * 1e3 + b.createdAt.nanos / 1e6 : 0;
  return ta - tb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function safeUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : undefined; // never javascript:
  } catch {
    return undefined;
  }
}

export function ConversationView({ id }: { id: string }) {
  const [conv, setConv] = useState<Conversation>();
  const [loadError, setLoadError] = useState<unknown>();
  const [messages, setMessages] = useState<Map<string, Message>>(() => new Map());
  const [drafts, setDrafts] = useState<Map<string, Draft>>(() => new Map());
  const [typing, setTyping] = useState<Role | null>(null);
  const [events, setEvents] = useState<string[]>([]);
  const [link, setLink] = useState<Link_>("connecting");
  const [streamError, setStreamError] = useState<unknown>();
  const lastId = useRef("");
  const action = useAction();

  const addMessage = useCallback((m: Message) => {
    if (!m.id) return;
    setMessages((prev) => {
      if (prev.has(m.id)) return prev;
      const next = new Map(prev);
      next.set(m.id, m);
      return next;
    });
    setDrafts((prev) => {
      if (!prev.has(m.id)) return prev;
      const next = new Map(prev);
      next.delete(m.id);
      return next;
    });
    if (m.id > lastId.current) lastId.current = m.id;
  }, []);

  const refreshConversation = useCallback(async () => {
    try {
      setConv(await api.admin.getConversation({ conversationId: id }, { timeoutMs: 15_000 }));
    } catch (err) {
      setLoadError(err);
    }
  }, [id]);

  // the conversation and its stored messages
  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      try {
        setConv(await api.admin.getConversation({ conversationId: id }, { signal: abort.signal, timeoutMs: 15_000 }));
        let pageToken = "";
        for (let i = 0; i < MAX_HISTORY_PAGES; i++) {
          const page = await api.admin.listMessages({ conversationId: id, pageSize: 200, pageToken },
                                                    { signal: abort.signal, timeoutMs: 15_000 });
          page.messages.forEach(addMessage);
          pageToken = page.nextPageToken;
          if (!pageToken) break;
        }
      } catch (err) {
        if (!abort.signal.aborted) setLoadError(err);
      }
    })();
    return () => abort.abort();
  }, [id, addMessage]);

  // the live stream, opened at once (merged with the history by id) and reopened after
  // a failure from the last message seen, so that nothing in between is missed
  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    (async () => {
      while (!abort.signal.aborted) {
        try {
          const stream = api.admin.streamConversationEvents(
            { conversationId: id, afterMessageId: lastId.current }, { signal: abort.signal });
          for await (const ev of stream) {
            attempt = 0;
            setLink("live");
            setStreamError(undefined);
            const at = formatTime(ev.at);
            switch (ev.kind.case) {
              case "message":
                addMessage(ev.kind.value);
                setTyping(null);
                break;
              case "token": {
                const t = ev.kind.value;
                setDrafts((prev) => {
                  const next = new Map(prev);
                  const d = next.get(t.replyId);
                  next.set(t.replyId, { replyId: t.replyId, text: (d?.text ?? "") + t.text });
                  return next;
                });
                break;
              }
              case "typing":
                setTyping(ev.kind.value.active ? ev.kind.value.role : null);
                break;
              case "handoff": {
                const h = ev.kind.value;
                setEvents((e) => [...e, `${at}: handed to a person (${HANDOFF_REASON[h.reason] ?? h.reason})`]);
                void refreshConversation();
                break;
              }
              case "agentJoined": {
                const who = ev.kind.value.displayName || "an operator";
                setEvents((e) => [...e, `${at}: ${who} joined`]);
                void refreshConversation();
                break;
              }
              case "statusChanged": {
                const status = ev.kind.value.status;
                setConv((c) => (c ? { ...c, status } : c));
                void refreshConversation();
                break;
              }
              case "error": {
                const text = ev.kind.value.message;
                setEvents((e) => [...e, `${at}: ${text}`]);
                break;
              }
              case "transcription":
                if (ev.kind.value.state === "failed") setEvents((e) => [...e, `${at}: a voice message could not be transcribed`]);
                break;
              default:
                break;
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          const code = errorCode(err);
          if (code === Code.NotFound || code === Code.PermissionDenied || code === Code.Unauthenticated) {
            setLink("failed");
            setStreamError(err);
            return; // reconnecting cannot help
          }
          setStreamError(err);
        }
        if (abort.signal.aborted) return;
        setLink("reconnecting");
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** (attempt - 1), 10_000)));
      }
    })();
    return () => abort.abort();
  }, [id, addMessage, refreshConversation]);

  const transcript = useRef<HTMLDivElement>(null);
  const ordered = [...messages.values()].sort(byTime);
  const draftList = [...drafts.values()].filter((d) => !messages.has(d.replyId));
  const draftLengths = draftList.map((d) => d.text.length).join(",");
  useEffect(() => {
    const el = transcript.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [ordered.length, draftLengths]);

  if (loadError && !conv) {
    return (
      <div>
        <PageHeader title="Conversation" />
        <ErrorBanner error={loadError} />
        <Link to="/conversations">Back to the conversations</Link>
      </div>
    );
  }
  if (!conv) return <Spinner />;

  const mine = conv.status === ConversationStatus.HUMAN && conv.assignedOperatorId === api.session?.operatorId;
  const act = (fn: () => Promise<Conversation>) => action.run(async () => setConv(await fn()));
  const opts = { timeoutMs: 15_000 };

  return (
    <div className="flex h-full flex-col gap-4">
      <PageHeader title="Conversation">
        <Badge tone={STATUS_TONE[conv.status]}><span data-testid="conversation-status">{STATUS_LABEL[conv.status]}</span></Badge>
        <Badge tone={link === "live" ? "green" : link === "failed" ? "red" : "amber"}>
          {link === "live" ? "live" : link === "failed" ? "not live" : link === "reconnecting" ? "reconnecting…" : "connecting…"}
        </Badge>
      </PageHeader>
      <div className="text-xs text-slate-500">
        <Link to="/conversations">← all conversations</Link>
        <span className="ml-3 font-mono">{conv.id}</span> · {CHANNEL_LABEL[conv.channel]} · visitor
        <span className="ml-1 font-mono">{conv.visitorId}</span> · started {formatTime(conv.createdAt)}
        {conv.rating ? ` · rated ${conv.rating}/5` : ""}
        {conv.handoffReason ? ` · handoff: ${HANDOFF_REASON[conv.handoffReason] ?? conv.handoffReason}` : ""}
      </div>
      {Object.keys(conv.attributes).length > 0 && (
        <dl className="flex flex-wrap gap-x-4 text-xs text-slate-600">
          {Object.entries(conv.attributes).map(([k, v]) => <div key={k}><dt className="inline font-medium">{k}: </dt><dd className="inline break-all">{v}</dd></div>)}
        </dl>
      )}
      {link !== "live" && streamError !== undefined && <ErrorBanner error={describeError(streamError) + (link === "reconnecting" ? " Reconnecting…" : "")} />}
      <ErrorBanner error={action.error} />

      <Card title="Messages" className="flex min-h-0 flex-1 flex-col"
            actions={<>
              <Button variant="primary" disabled={action.busy || mine}
                      onClick={() => act(() => api.admin.takeOver({ conversationId: id }, opts))}>Take over</Button>
              <Button disabled={action.busy || !(conv.status === ConversationStatus.HUMAN || conv.status === ConversationStatus.HANDOFF)}
                      onClick={() => act(() => api.admin.releaseConversation({ conversationId: id }, opts))}>Release to AI</Button>
              <Button variant="danger" disabled={action.busy || conv.status === ConversationStatus.CLOSED}
                      onClick={() => act(() => api.admin.closeConversation({ conversationId: id }, opts))}>Close</Button>
            </>}>
        <div ref={transcript} data-testid="transcript" className="max-h-[60vh] min-h-48 space-y-2 overflow-y-auto pr-1">
          {ordered.length === 0 && draftList.length === 0 && <p className="text-sm text-slate-500">No messages yet.</p>}
          {ordered.map((m) => <MessageBubble key={m.id} m={m} />)}
          {draftList.map((d) => (
            <div key={d.replyId} data-testid="ai-draft" className="max-w-[80%] rounded-lg border border-dashed border-sky-300 bg-sky-50 p-2 text-sm">
              <p className="mb-0.5 text-xs text-sky-700">AI is writing…</p>
              <p className="whitespace-pre-wrap break-words">{d.text}</p>
            </div>
          ))}
          {typing !== null && draftList.length === 0 && (
            <p className="text-xs italic text-slate-500" aria-live="polite">{ROLE_LABEL[typing]} is typing…</p>
          )}
        </div>
        {events.length > 0 && (
          <ul className="mt-3 space-y-0.5 border-t border-slate-100 pt-2 text-xs text-slate-500" aria-label="Events">
            {events.map((e, i) => <li key={i}>{e}</li>)}
          </ul>
        )}
      </Card>

      <ToolCalls conversationId={id} />

      {mine ? <ReplyBox conversationId={id} onSent={addMessage} />
        : <Notice>{conv.status === ConversationStatus.HUMAN
          ? "Another operator is handling this conversation. Take over to reply."
          : "The AI answers this conversation. Take over to reply as a person; the AI then stops answering it."}</Notice>}
    </div>
  );
}

function MessageBubble({ m }: { m: Message }) {
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

function ReplyBox({ conversationId, onSent }: { conversationId: string; onSent: (m: Message) => void }) {
  const [text, setText] = useState("");
  const send = useAction();
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
      <textarea id="reply" name="reply" rows={3} maxLength={10_000} value={text} onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(e); }}
                className="w-full rounded-md border border-slate-300 p-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500" />
      <div className="mt-2 flex items-center justify-between">
        <span className="text-xs text-slate-500">Ctrl+Enter sends</span>
        <Button type="submit" variant="primary" disabled={send.busy || !text.trim()}>{send.busy ? "Sending…" : "Send"}</Button>
      </div>
    </form>
  );
}

/** The AI's tool calls in this conversation, loaded when asked for (what it looked up, and how that went). */
function ToolCalls({ conversationId }: { conversationId: string }) {
  const [calls, setCalls] = useState<ToolCallRecord[] | "unavailable">();
  const load = useAction();
  const show = () => void load.run(async () => {
    try {
      setCalls((await api.admin.listToolCalls({ conversationId, pageSize: 100 }, { timeoutMs: 15_000 })).calls);
    } catch (err) {
      if (errorCode(err) !== Code.Unimplemented) throw err;
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
