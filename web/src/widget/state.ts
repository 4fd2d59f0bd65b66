// What the widget shows, as data: the chat state the UI renders and the pure functions that
// fold stored messages and live events into it. No I/O here (controller.ts does the calls).
//
// Every stored message is held once, ordered by id (ids are time-ordered), whichever way it
// arrived (history, SendMessage's answer, a live event, a replay after reconnecting).

import { mergeById, newestId } from "../api/live";
import type { ConversationEvent } from "../api/client";
import type { TokenDelta } from "../gen/frontdesk/events/v1/events_pb";
import { ConversationStatus, Role, type Message } from "../gen/frontdesk/common/v1/common_pb";

export interface Streaming {
  replyId: string;
  inReplyTo: string;
  text: string;
  next: number;  // index of the delta expected next
  gap: boolean;  // a delta was missed (reconnect): show the text so far until the final message
}

export interface Pending {
  clientId: string;
  text: string;
  files: File[];
  error: string;  // "" while sending
}

export interface Transcribing {
  audioId: string;
  state: string;  // queued, stored, transcribing, done, failed
  error: string;
}

export type Connection = "idle" | "connecting" | "live" | "reconnecting";

export interface ChatState {
  ready: boolean;
  tenantName: string;
  greeting: string;
  conversationId: string;
  messages: Message[];
  streaming: Streaming[];
  aiTyping: boolean;
  status: ConversationStatus;
  handoffNotice: string;  // set while the conversation waits for a person
  agentName: string;      // set once an operator joined
  agentJoinedAfter: string; // the newest message id when they joined: the notice is shown after it
  connection: Connection;
  error: string;
  pending: Pending[];
  feedback: Record<string, boolean>;
  rating: number;
  transcriptions: Transcribing[];
}

export const DEFAULT_HANDOFF = "A person from our team will reply here as soon as possible.";
const AGENT = "A support agent";

export const INITIAL_STATE: ChatState = {
  ready: false, tenantName: "", greeting: "", conversationId: "", messages: [], streaming: [], aiTyping: false,
  status: ConversationStatus.UNSPECIFIED, handoffNotice: "", agentName: "", agentJoinedAfter: "", connection: "idle", error: "",
  pending: [], feedback: {}, rating: 0, transcriptions: [],
};

/** The conversation part of the state, emptied (a forgotten conversation). */
export const NO_CONVERSATION: Partial<ChatState> = {
  conversationId: "", messages: [], streaming: [], aiTyping: false, handoffNotice: "", agentName: "", agentJoinedAfter: "",
  status: ConversationStatus.UNSPECIFIED, feedback: {}, rating: 0, connection: "idle",
};

/** Adds stored messages: once each (by id), in id order; a final message replaces its streamed text. */
export function withMessages(s: ChatState, incoming: Message[]): Partial<ChatState> | undefined {
  if (!incoming.length) return undefined;
  const aiFinal = incoming.some((m) => m.role === Role.AI || m.role === Role.SYSTEM);
  const ids = new Set(incoming.map((m) => m.id));
  const audio = new Set(incoming.map((m) => m.audioId).filter(Boolean));
  const clientIds = new Set(incoming.map((m) => m.clientMessageId).filter(Boolean));
  return {
    messages: mergeById(s.messages, incoming),
    streaming: s.streaming.filter((x) => !ids.has(x.replyId)),
    pending: s.pending.filter((p) => !clientIds.has(p.clientId)),
    transcriptions: s.transcriptions.filter((t) => !audio.has(t.audioId)),
    ...(aiFinal ? { aiTyping: false } : {}),
  };
}

/** After a reload, a conversation a person has taken over still shows who is helping and
 *  where they joined: from the agent's own messages in the history. */
export function restoredAgent(s: ChatState): Partial<ChatState> {
  const m = s.messages;
  const first = m.findIndex((x) => x.role === Role.AGENT);
  const last = [...m].reverse().find((x) => x.role === Role.AGENT);
  return {
    agentName: last?.authorName || AGENT,
    agentJoinedAfter: first > 0 ? m[first - 1]!.id : first === 0 ? "" : newestId(m),
  };
}

/** A live stream was lost: streamed replies may miss deltas until their final message comes. */
export function streamLost(s: ChatState): Partial<ChatState> {
  return { connection: "reconnecting", streaming: s.streaming.map((x) => ({ ...x, gap: true })) };
}

/** What one live event changes (undefined: nothing). */
export function applyEvent(s: ChatState, ev: ConversationEvent): Partial<ChatState> | undefined {
  const k = ev.kind;
  switch (k.case) {
    case "statusChanged": {
      const status = k.value.status;
      return { status, handoffNotice: status === ConversationStatus.HANDOFF ? s.handoffNotice || DEFAULT_HANDOFF : "" };
    }
    case "typing":
      return k.value.role === Role.AI ? { aiTyping: k.value.active } : undefined;
    case "token":
      return withToken(s, k.value);
    case "message":
      return withMessages(s, [k.value]);
    case "handoff":
      return { status: ConversationStatus.HANDOFF, handoffNotice: k.value.notice || DEFAULT_HANDOFF, aiTyping: false, streaming: [] };
    case "agentJoined":
      return { status: ConversationStatus.HUMAN, agentName: k.value.displayName || AGENT,
               agentJoinedAfter: s.agentName ? s.agentJoinedAfter : newestId(s.messages), handoffNotice: "", aiTyping: false };
    case "transcription": {
      const t = k.value;
      const rest = s.transcriptions.filter((x) => x.audioId !== t.audioId);
      // done: the voice message itself arrives as a message (maybe already did); failed: say so
      const keep = t.state !== "done" && !s.messages.some((m) => m.audioId === t.audioId);
      return { transcriptions: keep ? [...rest, { audioId: t.audioId, state: t.state,
                                                  error: t.state === "failed" ? "We could not understand that recording." : "" }] : rest };
    }
    case "error":
      return { error: k.value.message || "Something went wrong on our side." };
    default:
      return undefined;
  }
}

function withToken(s: ChatState, d: TokenDelta): Partial<ChatState> | undefined {
  if (s.messages.some((m) => m.id === d.replyId)) return undefined;  // already final
  const list = s.streaming;
  const cur = list.find((x) => x.replyId === d.replyId);
  if (!cur) {
    const gap = d.index !== 0;
    return { aiTyping: false, streaming: [...list, { replyId: d.replyId, inReplyTo: d.inReplyTo, text: gap ? "" : d.text,
                                                      next: d.index + 1, gap }] };
  }
  if (!cur.gap && d.index === cur.next) {
    return { streaming: list.map((x) => x === cur ? { ...x, text: x.text + d.text, next: d.index + 1 } : x) };
  }
  if (d.index >= cur.next) return { streaming: list.map((x) => x === cur ? { ...x, gap: true, next: d.index + 1 } : x) };
  return undefined;
}
