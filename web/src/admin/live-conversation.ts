// One conversation, live, for the admin panel's conversation page: its stored messages, then
// the event stream (AI tokens as they are generated, new messages, typing, handoff, status
// changes) through ../api/live, which reopens a lost stream after the newest message seen.
// Messages are held once each by id (mergeById), so history, stream and reconnects never
// show one twice.

import { useCallback, useEffect, useRef, useState } from "react";

import { Code, codeOf } from "../api/client";
import { LiveStream, mergeById, type LinkState } from "../api/live";
import type { Conversation, Message } from "../gen/frontdesk/common/v1/common_pb";
import type { ConversationEvent } from "../gen/frontdesk/events/v1/events_pb";
import { api, formatTime } from "./api";
import { HANDOFF_REASON, type Role } from "./labels";

export interface Draft {
  replyId: string;
  text: string;
}

export type Link = LinkState | "failed";

const MAX_HISTORY_PAGES = 20; // 20 × 200 messages: more than any real conversation
// reconnecting cannot help
const FATAL = new Set([Code.NotFound, Code.PermissionDenied, Code.Unauthenticated]);

export function useLiveConversation(id: string) {
  const [conv, setConv] = useState<Conversation>();
  const [loadError, setLoadError] = useState<unknown>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [drafts, setDrafts] = useState<Map<string, Draft>>(() => new Map());
  const [typing, setTyping] = useState<Role | null>(null);
  const [events, setEvents] = useState<string[]>([]);
  const [link, setLink] = useState<Link>("connecting");
  const [streamError, setStreamError] = useState<unknown>();
  const lastId = useRef("");

  const addMessages = useCallback((incoming: Message[]) => {
    const ms = incoming.filter((m) => m.id);
    if (!ms.length) return;
    setMessages((prev) => {
      const fresh = ms.filter((m) => !prev.some((p) => p.id === m.id));
      return fresh.length ? mergeById(prev, fresh) : prev;
    });
    setDrafts((prev) => {
      if (!ms.some((m) => prev.has(m.id))) return prev;
      const next = new Map(prev);
      for (const m of ms) next.delete(m.id);
      return next;
    });
    for (const m of ms) if (m.id > lastId.current) lastId.current = m.id;
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
          addMessages(page.messages);
          pageToken = page.nextPageToken;
          if (!pageToken) break;
        }
      } catch (err) {
        if (!abort.signal.aborted) setLoadError(err);
      }
    })();
    return () => abort.abort();
  }, [id, addMessages]);

  // the live stream, opened at once (merged with the history by id) and reopened after
  // a failure, or after the server ended it, from the last message seen
  useEffect(() => {
    const onEvent = (ev: ConversationEvent) => {
      const at = formatTime(ev.at);
      const note = (text: string) => setEvents((e) => [...e, `${at}: ${text}`]);
      switch (ev.kind.case) {
        case "message":
          addMessages([ev.kind.value]);
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
          note(`handed to a person (${HANDOFF_REASON[h.reason] ?? h.reason})`);
          void refreshConversation();
          break;
        }
        case "agentJoined":
          note(`${ev.kind.value.displayName || "an operator"} joined`);
          void refreshConversation();
          break;
        case "statusChanged": {
          const status = ev.kind.value.status;
          setConv((c) => (c ? { ...c, status } : c));
          void refreshConversation();
          break;
        }
        case "error":
          note(ev.kind.value.message);
          break;
        case "transcription":
          if (ev.kind.value.state === "failed") note("a voice message could not be transcribed");
          break;
        default:
          break;
      }
    };
    const live = new LiveStream({
      open: (afterMessageId, signal) =>
        api.admin.streamConversationEvents({ conversationId: id, afterMessageId }, { signal }),
      resumeAfter: () => lastId.current,
      onEvent,
      onLink: (state) => {
        setLink(state);
        if (state === "live") setStreamError(undefined);
      },
      onFailure: (err) => {
        setStreamError(err);
        if (!FATAL.has(codeOf(err))) return "retry";
        setLink("failed");
        return "stop";
      },
      onEnd: "retry",
      backoff: (failures) => Math.min(1000 * 2 ** (failures - 1), 10_000),
    });
    live.start();
    return () => live.stop();
  }, [id, addMessages, refreshConversation]);

  return { conv, setConv, loadError, messages, drafts, typing, events, link, streamError, addMessages };
}
