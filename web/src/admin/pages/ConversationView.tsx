// One conversation, live (../live-conversation: history, then the event stream, reconnecting),
// with human takeover: the operator takes it over, replies, releases it to the AI or closes it.

import { useEffect, useRef } from "react";

import { describeError } from "../../api/client";
import { Role, type Conversation } from "../../gen/frontdesk/common/v1/common_pb";
import { api, formatTime } from "../api";
import { Badge, Button, Card, ErrorBanner, Link, Notice, PageHeader, Spinner, useAction } from "../components";
import { CHANNEL_LABEL, ConversationStatus, HANDOFF_REASON, ROLE_LABEL, STATUS_LABEL, STATUS_TONE } from "../labels";
import { useLiveConversation } from "../live-conversation";
import { byTime, DraftBubble, MessageBubble, ReplyBox, ToolCalls } from "../transcript";
import { Summary } from "../copilot";
import { Assignee, EraseCustomer, ExportCustomer, Labels, Notes, Snooze } from "../workspace";

export function ConversationView({ id }: { id: string }) {
  const { conv, setConv, loadError, messages, drafts, typing, events, link, streamError, addMessages } = useLiveConversation(id);
  const action = useAction();

  const transcript = useRef<HTMLDivElement>(null);
  const ordered = [...messages].sort(byTime);
  const draftList = [...drafts.values()].filter((d) => !messages.some((m) => m.id === d.replyId));
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

  // the copilot reloads when the customer writes again or the status changes
  const lastCustomer = [...messages].filter((m) => m.role === Role.CUSTOMER).sort(byTime).at(-1)?.id ?? "";
  const copilotVersion = `${lastCustomer}:${conv.status}`;
  const withTeam = conv.status === ConversationStatus.HANDOFF || conv.status === ConversationStatus.HUMAN;
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
      <div className="flex flex-wrap items-center gap-4">
        <Assignee conv={conv} onChanged={setConv} />
        <Snooze conv={conv} onChanged={setConv} />
        <Labels conv={conv} onChanged={setConv} />
        {api.canManage && conv.visitorId && <ExportCustomer visitorId={conv.visitorId} />}
        {api.canManage && conv.visitorId && <EraseCustomer visitorId={conv.visitorId} />}
      </div>
      {withTeam && <Summary conversationId={id} version={copilotVersion} />}
      {Object.keys(conv.attributes).length > 0 && (
        <dl className="flex flex-wrap gap-x-4 text-xs text-slate-600">
          {Object.entries(conv.attributes).map(([k, v]) => <div key={k}><dt className="inline font-medium">{k}: </dt><dd className="inline break-all">{v}</dd></div>)}
        </dl>
      )}
      {link !== "live" && streamError !== undefined && <ErrorBanner error={describeError(streamError, "operator") + (link === "reconnecting" ? " Reconnecting…" : "")} />}
      <ErrorBanner error={action.error} />

      <Card title="Messages" className="flex min-h-0 flex-1 flex-col"
            actions={<>
              <Button variant="primary" disabled={action.busy || mine}
                      onClick={() => act(() => api.admin.takeOver({ conversationId: id }, opts))}>Take over</Button>
              <Button disabled={action.busy || !(conv.status === ConversationStatus.HUMAN || conv.status === ConversationStatus.HANDOFF)}
                      onClick={() => act(() => api.admin.releaseConversation({ conversationId: id }, opts))}>Release to AI</Button>
              <Button variant="danger" disabled={action.busy || conv.status === ConversationStatus.CLOSED}
                      onClick={() => act(() => api.admin.closeConversation({ conversationId: id }, opts))}>Resolve</Button>
            </>}>
        <div ref={transcript} data-testid="transcript" className="max-h-[60vh] min-h-48 space-y-2 overflow-y-auto pr-1">
          {ordered.length === 0 && draftList.length === 0 && <p className="text-sm text-slate-500">No messages yet.</p>}
          {ordered.map((m) => <MessageBubble key={m.id} m={m} />)}
          {draftList.map((d) => <DraftBubble key={d.replyId} d={d} />)}
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

      <Notes conversationId={id} />

      <ToolCalls conversationId={id} />

      {mine ? <ReplyBox conversationId={id} onSent={(m) => addMessages([m])} customerName={conv.attributes["name"] ?? ""}
                        version={copilotVersion} />
        : <Notice>{conv.status === ConversationStatus.HUMAN
          ? "Another operator is handling this conversation. Take over to reply."
          : "The AI answers this conversation. Take over to reply as a person; the AI then stops answering it."}</Notice>}
    </div>
  );
}
