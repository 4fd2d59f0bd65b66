// The operator's helpers on a conversation: the team's private notes (never shown to the
// customer: they are stored apart from the messages) and the saved replies an operator
// inserts by typing their shortcut ("/refund") in the reply box; who owns the conversation,
// and snoozing it.

import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useEffect, useState, type FormEvent } from "react";

import type { CannedResponse, Note } from "../gen/frontdesk/admin/v1/admin_pb";
import { ConversationStatus, type Conversation } from "../gen/frontdesk/common/v1/common_pb";
import { api, formatTime } from "./api";
import { Button, Card, ErrorBanner, inputClass, useAction, useLoad } from "./components";
import { navigate } from "./router";

const opts = { timeoutMs: 15_000 };

/** The team's notes on the conversation, with a box to add one. */
export function Notes({ conversationId }: { conversationId: string }) {
  const loaded = useLoad(async (signal) =>
    (await api.admin.listMessages({ conversationId, pageSize: 1 }, { ...opts, signal })).notes, [conversationId]);
  const [added, setAdded] = useState<Note[]>([]);
  const [text, setText] = useState("");
  const add = useAction();
  const notes = [...(loaded.data ?? []), ...added.filter((n) => !loaded.data?.some((l) => l.id === n.id))];

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    const ok = await add.run(async () => {
      const note = await api.admin.addNote({ conversationId, text: body }, opts);
      setAdded((a) => [...a, note]);
    });
    if (ok) setText("");
  }

  return (
    <Card title="Notes for the team">
      <ErrorBanner error={loaded.error ?? add.error} />
      <ul data-testid="notes" className="space-y-1 text-sm">
        {notes.length === 0 && <li className="text-slate-500">No notes. The customer never sees notes.</li>}
        {notes.map((n) => (
          <li key={n.id} className="rounded border border-yellow-200 bg-yellow-50 p-2">
            <p className="text-xs text-slate-500">{n.authorName || n.authorId} · {formatTime(n.createdAt)}</p>
            <p className="whitespace-pre-wrap break-words" data-testid="note-text">{n.text}</p>
          </li>
        ))}
      </ul>
      <form onSubmit={submit} className="mt-2 flex gap-2">
        <label className="sr-only" htmlFor="note">Add a note</label>
        <input id="note" maxLength={10_000} value={text} onChange={(e) => setText(e.target.value)}
               placeholder="Add a note (only the team sees it)"
               className="flex-1 rounded-md border border-slate-300 px-2 py-1 text-sm" />
        <Button type="submit" disabled={add.busy || !text.trim()}>Add note</Button>
      </form>
    </Card>
  );
}

/** The reply with its variables filled where they are known; unknown ones stay for the operator to edit. */
export function fillVariables(text: string, values: Record<string, string>): string {
  return text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] || whole);
}

/** The saved replies matching what was typed after "/", for the reply box. */
export function useCannedSuggestions(typed: string) {
  const query = /^\/[a-z0-9_-]*$/i.test(typed) ? typed : "";
  const loaded = useLoad(async (signal) =>
    query ? (await api.admin.listCannedResponses({ query }, { ...opts, signal })).responses : [], [query]);
  return query ? (loaded.data ?? []) : [];
}

export function CannedSuggestions({ items, onPick }: { items: CannedResponse[]; onPick: (r: CannedResponse) => void }) {
  if (items.length === 0) return null;
  return (
    <ul data-testid="canned-suggestions" aria-label="Saved replies" className="mb-2 rounded-md border border-slate-200 text-sm">
      {items.slice(0, 8).map((r) => (
        <li key={r.shortcut}>
          <button type="button" onClick={() => onPick(r)} className="block w-full px-2 py-1 text-left hover:bg-indigo-50">
            <span className="font-mono text-indigo-700">/{r.shortcut}</span> {r.title}
            <span className="block truncate text-xs text-slate-500">{r.text}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Who on the team owns the conversation; any operator may hand it to anyone (or nobody). */
export function Assignee({ conv, onChanged }: { conv: Conversation; onChanged: (c: Conversation) => void }) {
  const team = useLoad(async (signal) => (await api.admin.listOperators({}, { ...opts, signal })).operators, []);
  const assign = useAction();
  return (
    <label className="flex items-center gap-2 text-sm">
      <span>Assigned to</span>
      <select aria-label="Assigned to" className={inputClass} disabled={assign.busy || !team.data}
              value={conv.assignedOperatorId}
              onChange={(e) => {
                const operatorId = e.target.value;
                void assign.run(async () => onChanged(
                  await api.admin.assignConversation({ conversationId: conv.id, operatorId }, opts)));
              }}>
        <option value="">nobody</option>
        {(team.data ?? []).map((o) => <option key={o.id} value={o.id}>{o.displayName || o.email}</option>)}
        {conv.assignedOperatorId && team.data && !team.data.some((o) => o.id === conv.assignedOperatorId) &&
          <option value={conv.assignedOperatorId}>{conv.assignedOperatorId}</option>}
      </select>
      {assign.error !== undefined && <ErrorBanner error={assign.error} />}
    </label>
  );
}

const SNOOZE_FOR: [string, number][] = [["1 hour", 1], ["4 hours", 4], ["1 day", 24], ["1 week", 168]];

/** Put the conversation aside for a while (a customer message or the time brings it back), or back to waiting. */
export function Snooze({ conv, onChanged }: { conv: Conversation; onChanged: (c: Conversation) => void }) {
  const [hours, setHours] = useState(4);
  const act = useAction();
  const withTeam = conv.status === ConversationStatus.HANDOFF || conv.status === ConversationStatus.HUMAN;
  const snoozed = conv.status === ConversationStatus.SNOOZED;
  if (!withTeam && !snoozed) return null;
  const set = (status: ConversationStatus, untilMs?: number) => void act.run(async () => onChanged(
    await api.admin.setConversationStatus({
      conversationId: conv.id, status, snoozeUntil: untilMs ? timestampFromMs(untilMs) : undefined,
    }, opts)));
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      {withTeam && <>
        <select aria-label="Snooze for" className={inputClass} value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          {SNOOZE_FOR.map(([label, h]) => <option key={h} value={h}>{label}</option>)}
        </select>
        <Button disabled={act.busy} onClick={() => set(ConversationStatus.SNOOZED, Date.now() + hours * 3_600_000)}>Snooze</Button>
      </>}
      {snoozed && <>
        <span>Snoozed until {formatTime(conv.snoozedUntil)}</span>
        <Button disabled={act.busy} onClick={() => set(ConversationStatus.HANDOFF)}>Wake up now</Button>
      </>}
      {act.error !== undefined && <ErrorBanner error={act.error} />}
    </div>
  );
}

/** The team's labels on the conversation (the customer never sees them), comma-separated. */
export function Labels({ conv, onChanged }: { conv: Conversation; onChanged: (c: Conversation) => void }) {
  const [text, setText] = useState(conv.labels.join(", "));
  const save = useAction();
  useEffect(() => setText(conv.labels.join(", ")), [conv.labels.join(",")]); // eslint-disable-line react-hooks/exhaustive-deps
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const labels = text.split(",").map((l) => l.trim()).filter(Boolean);
    void save.run(async () => onChanged(await api.admin.setConversationLabels({ conversationId: conv.id, labels }, opts)));
  };
  return (
    <form onSubmit={submit} className="flex items-center gap-2 text-sm">
      <label htmlFor="labels">Labels</label>
      <input id="labels" className={inputClass} value={text} placeholder="vip, refund" onChange={(e) => setText(e.target.value)} />
      <Button type="submit" disabled={save.busy}>Save labels</Button>
      {save.error !== undefined && <ErrorBanner error={save.error} />}
    </form>
  );
}

/** Everything stored about the conversation's customer, downloaded as a zip (owners and admins). */
export function ExportCustomer({ visitorId }: { visitorId: string }) {
  const run = useAction();
  async function download() {
    await run.run(async () => {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      let name = "customer.zip";
      for await (const chunk of api.admin.exportCustomerData({ visitorId }, { timeoutMs: 600_000 })) {
        if (chunk.filename) name = chunk.filename;
        parts.push(chunk.data.slice());
      }
      const url = URL.createObjectURL(new Blob(parts, { type: "application/zip" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
  }
  return (
    <span className="inline-flex items-center gap-2">
      <Button disabled={run.busy} onClick={() => void download()}>{run.busy ? "Exporting…" : "Export customer's data"}</Button>
      <ErrorBanner error={run.error} />
    </span>
  );
}

/** Erases everything stored about the conversation's customer, after the operator confirms
 * (owners and admins; cannot be undone), then goes back to the list saying what went. */
export function EraseCustomer({ visitorId }: { visitorId: string }) {
  const run = useAction();
  async function erase() {
    const sure = window.confirm(
      `Erase everything stored about the customer ${visitorId}? Their conversations, messages, files, ` +
        "recordings and what analytics keeps about them go for good. This cannot be undone.",
    );
    if (!sure) return;
    await run.run(async () => {
      const done = await api.admin.eraseCustomerData({ visitorId }, { timeoutMs: 600_000 });
      const what = `${done.conversations} conversation(s), ${done.messages} message(s) and ${done.files} file(s)`;
      navigate(`/conversations?erased=${encodeURIComponent(what)}`);
    });
  }
  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="danger" disabled={run.busy} onClick={() => void erase()}>{run.busy ? "Erasing…" : "Erase customer's data"}</Button>
      <ErrorBanner error={run.error} />
    </span>
  );
}
