// The operator's copilot on a conversation: a summary at the top of one handed to the team (what
// the customer wants in their words, the details they gave, what the AI said, why it came to a
// person) and up to three suggested replies in the reply box (the knowledge base's entries with
// their source, the saved replies that fit), one click to insert and edit. Nothing is sent by itself.

import { useEffect, useState } from "react";

import type { ConversationSummary, SuggestedReply } from "../gen/frontdesk/admin/v1/admin_pb";
import { api } from "./api";
import { Button, Card, ErrorBanner, useLoad } from "./components";

const opts = { timeoutMs: 15_000 };

/** Reloads when `version` moves (a new customer message, a status change). */
export function Summary({ conversationId, version }: { conversationId: string; version: string }) {
  const loaded = useLoad((signal) => api.admin.summarizeConversation({ conversationId }, { ...opts, signal }),
                         [conversationId, version]);
  const s: ConversationSummary | undefined = loaded.data;
  // the model's brief takes seconds on a CPU model: asked for once the extract is shown
  const written = useLoad((signal) => s ? api.admin.summarizeConversation({ conversationId, write: true },
                                                                          { signal, timeoutMs: 160_000 })
                                        : Promise.resolve(undefined),
                          [conversationId, version, s !== undefined]);
  const brief = written.data?.brief ?? "";
  return (
    <Card title="Summary">
      <ErrorBanner error={loaded.error} onRetry={loaded.reload} />
      {brief && (
        <p data-testid="brief" className="mb-2 text-sm">
          {brief}
          <span className="mt-0.5 block text-xs text-slate-500">
            Written by {written.data?.briefModel || "the model"}; its numbers, dates and names are checked against the conversation.
          </span>
        </p>
      )}
      {s && (
        <dl data-testid="summary" className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[10rem_1fr]">
          <dt className="font-medium text-slate-600">Customer wants</dt>
          <dd>{s.customerWants || "(nothing written yet)"}</dd>
          {s.customerLatest && <><dt className="font-medium text-slate-600">Latest</dt><dd>{s.customerLatest}</dd></>}
          {s.details.length > 0 && (
            <><dt className="font-medium text-slate-600">Details given</dt>
              <dd className="flex flex-wrap gap-1">{s.details.map((d) =>
                <code key={d} className="rounded bg-slate-100 px-1 text-xs">{d}</code>)}</dd></>
          )}
          {s.aiSaid && <><dt className="font-medium text-slate-600">The AI said</dt><dd>{s.aiSaid}</dd></>}
          {s.handoffReason && <><dt className="font-medium text-slate-600">Handed over</dt><dd>{s.handoffExplained}</dd></>}
        </dl>
      )}
    </Card>
  );
}

/** Suggested replies to the last customer message; `onPick` puts one in the reply box. */
export function Suggestions({ conversationId, version, onPick }:
  { conversationId: string; version: string; onPick: (text: string) => void }) {
  const [shown, setShown] = useState(true);
  const loaded = useLoad((signal) => api.admin.suggestReplies({ conversationId }, { ...opts, signal }),
                         [conversationId, version]);
  useEffect(() => setShown(true), [loaded.data?.messageId]);
  const replies: SuggestedReply[] = loaded.data?.replies ?? [];
  if (loaded.error) return <ErrorBanner error={loaded.error} onRetry={loaded.reload} />;
  if (!shown || replies.length === 0) return null;
  return (
    <div data-testid="suggestions" className="mb-2 space-y-1">
      <div className="flex items-center justify-between text-xs text-slate-500">
        <span>Suggested replies</span>
        <button type="button" className="underline" onClick={() => setShown(false)}>Hide</button>
      </div>
      <ul className="space-y-1">
        {replies.map((r, i) => (
          <li key={i} className="flex items-start gap-2 rounded border border-slate-200 bg-slate-50 p-2 text-sm">
            <span className="flex-1 whitespace-pre-wrap break-words">{r.text}
              <span className="mt-0.5 block text-xs text-slate-500">
                {r.source === "knowledge"
                  ? `from the knowledge base: ${r.citations[0]?.title || r.citations[0]?.sourceId || ""}`
                  : `saved reply /${r.shortcut}`}
              </span>
            </span>
            <Button onClick={() => onPick(r.text)}>Insert</Button>
          </li>
        ))}
      </ul>
    </div>
  );
}
