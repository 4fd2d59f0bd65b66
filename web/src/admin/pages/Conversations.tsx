import { useState } from "react";

import { api, formatTime } from "../api";
import { Badge, Button, Card, ErrorBanner, inputClass, Link, Notice, PageHeader, Spinner, Table, Td, useLoad } from "../components";
import { CHANNEL_LABEL, ConversationStatus, ROLE_LABEL, STATUS_LABEL, STATUS_TONE } from "../labels";
import { useInbox } from "../inbox";
import { SentimentBadge } from "../sentiment";
import type { ConversationSentiment } from "../../gen/frontdesk/analytics/v1/analytics_pb";

const PAGE_SIZE = 20;
const FALLBACK_POLL_MS = 15_000;
const FILTERS = [ConversationStatus.UNSPECIFIED, ConversationStatus.HANDOFF, ConversationStatus.HUMAN,
                 ConversationStatus.SNOOZED, ConversationStatus.AI, ConversationStatus.CLOSED];

export function ConversationsPage() {
  // set once a customer's data was erased on their conversation's page (../workspace)
  const erased = new URLSearchParams(window.location.search).get("erased");
  const [status, setStatus] = useState(ConversationStatus.UNSPECIFIED);
  const [assignee, setAssignee] = useState(""); // "", "me" or "none"
  const [label, setLabel] = useState("");
  const [query, setQuery] = useState(""); // what is typed in the search box
  const [searched, setSearched] = useState(""); // what was searched for (Enter)
  // tokens of the pages before this one, for "Previous"
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages.at(-1) ?? "";
  // the live inbox says when something changed; only while it is down does the list poll
  const { version, link } = useInbox();
  const list = useLoad(async (signal) => {
    if (searched) {
      const found = await api.admin.searchConversations(
        { query: searched, status, assignee, label: label.trim(), pageSize: PAGE_SIZE, pageToken },
        { signal, timeoutMs: 15_000 });
      return { conversations: [], hits: found.hits, nextPageToken: found.nextPageToken,
               sentiment: new Map<string, ConversationSentiment>() };
    }
    const page = await api.admin.listConversations({ status, assignee, label: label.trim(), pageSize: PAGE_SIZE, pageToken },
                                                   { signal, timeoutMs: 15_000 });
    // the sentiment badges come from analytics; the list stands without them (analytics away)
    let sentiment = new Map<string, ConversationSentiment>();
    if (page.conversations.length) {
      try {
        const got = await api.analytics.getConversationSentiment(
          { conversationIds: page.conversations.map((c) => c.id) }, { signal, timeoutMs: 10_000 });
        sentiment = new Map(got.conversations.map((s) => [s.conversationId, s]));
      } catch (err) {
        if (signal.aborted) throw err;
      }
    }
    return { conversations: page.conversations, hits: [], nextPageToken: page.nextPageToken, sentiment };
  }, [status, assignee, label, searched, pageToken, version], link === "live" ? undefined : FALLBACK_POLL_MS);

  return (
    <div>
      <PageHeader title="Conversations">
        <form role="search" className="flex items-center gap-2 text-sm"
              onSubmit={(e) => { e.preventDefault(); setSearched(query.trim()); setPages([""]); }}>
          <input aria-label="Search messages" type="search" className={inputClass} value={query}
                 placeholder="Search messages" maxLength={200}
                 onChange={(e) => { setQuery(e.target.value); if (!e.target.value) { setSearched(""); setPages([""]); } }} />
          <Button type="submit">Search</Button>
        </form>
        <label className="flex items-center gap-2 text-sm">
          <span>Status</span>
          <select aria-label="Status filter" className={inputClass} value={status}
                  onChange={(e) => { setStatus(Number(e.target.value) as ConversationStatus); setPages([""]); }}>
            {FILTERS.map((s) => <option key={s} value={s}>{STATUS_LABEL[s]}</option>)}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span>Assigned</span>
          <select aria-label="Assigned filter" className={inputClass} value={assignee}
                  onChange={(e) => { setAssignee(e.target.value); setPages([""]); }}>
            <option value="">to anyone</option>
            <option value="me">to me</option>
            <option value="none">to nobody</option>
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span>Label</span>
          <input aria-label="Label filter" className={inputClass} value={label} placeholder="any"
                 onChange={(e) => { setLabel(e.target.value); setPages([""]); }} />
        </label>
      </PageHeader>
      {erased && <Notice tone="success">The customer's data was erased: {erased}.</Notice>}
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {!list.data && !list.error && <Spinner />}
      {list.data && searched && (
        <Card>
          <Table head={["When", "Status", "Written by", "Message"]}
                 empty={list.data.hits.length === 0 &&
                   <p className="p-3 text-sm text-slate-500">No message has all of these words.</p>}>
            {list.data.hits.map((h) => (
              <tr key={h.messageId} data-hit={h.messageId} className="hover:bg-slate-50">
                <Td className="whitespace-nowrap text-xs text-slate-600">{formatTime(h.createdAt)}</Td>
                <Td>{h.conversation && <Badge tone={STATUS_TONE[h.conversation.status]}>{STATUS_LABEL[h.conversation.status]}</Badge>}</Td>
                <Td>{ROLE_LABEL[h.role]}</Td>
                <Td className="max-w-md">
                  <Link to={`/conversations/${encodeURIComponent(h.conversation?.id ?? "")}`}>
                    <span className="line-clamp-2 break-words">{h.snippet}</span>
                  </Link>
                  <span className="block font-mono text-[11px] text-slate-400">{h.conversation?.id}</span>
                </Td>
              </tr>
            ))}
          </Table>
          <Pager pages={pages} setPages={setPages} next={list.data.nextPageToken} />
        </Card>
      )}
      {list.data && !searched && (
        <Card>
          <Table head={["Updated", "Status", "Last message", "Messages", "Channel", "Rating", "Sentiment"]}
                 empty={list.data.conversations.length === 0 &&
                   <p className="p-3 text-sm text-slate-500">No conversations{status ? " with this status" : " yet"}.</p>}>
            {list.data.conversations.map((c) => (
              <tr key={c.id} data-conversation={c.id} className="hover:bg-slate-50">
                <Td className="whitespace-nowrap text-xs text-slate-600">{formatTime(c.updatedAt ?? c.createdAt)}</Td>
                <Td><Badge tone={STATUS_TONE[c.status]}>{STATUS_LABEL[c.status]}</Badge></Td>
                <Td className="max-w-md">
                  <Link to={`/conversations/${encodeURIComponent(c.id)}`}>
                    <span className="line-clamp-2 break-words">{c.lastMessagePreview || "(no messages yet)"}</span>
                  </Link>
                  <span className="block font-mono text-[11px] text-slate-400">{c.id}</span>
                  {c.labels.length > 0 && (
                    <span className="mt-0.5 flex flex-wrap gap-1">{c.labels.map((l) => <Badge key={l} tone="slate">{l}</Badge>)}</span>
                  )}
                </Td>
                <Td>{c.messageCount}</Td>
                <Td>{CHANNEL_LABEL[c.channel]}</Td>
                <Td>{c.rating ? `${c.rating}/5` : "–"}</Td>
                <Td>{(() => {
                  const s = list.data!.sentiment.get(c.id);
                  return s ? <SentimentBadge s={s} /> : <span className="text-slate-400">–</span>;
                })()}</Td>
              </tr>
            ))}
          </Table>
          <Pager pages={pages} setPages={setPages} next={list.data.nextPageToken} />
        </Card>
      )}
    </div>
  );
}

function Pager({ pages, setPages, next }: { pages: string[]; setPages: (f: (p: string[]) => string[]) => void; next: string }) {
  return (
    <div className="mt-3 flex items-center justify-between text-sm">
      <span className="text-slate-500">Page {pages.length}</span>
      <div className="flex gap-2">
        <Button disabled={pages.length <= 1} onClick={() => setPages((p) => p.slice(0, -1))}>Previous</Button>
        <Button disabled={!next} onClick={() => setPages((p) => [...p, next])}>Next</Button>
      </div>
    </div>
  );
}
