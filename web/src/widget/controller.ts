// The widget's chat logic, apart from its UI: the visitor session, one conversation, its
// history and live events, with reconnects. The UI (App.tsx) renders `state` and calls the
// methods; nothing here touches the DOM.
//
// Guarantees the UI relies on:
// - every stored message is held once, ordered by id (ids are time-ordered), whichever way it
//   arrived (history, SendMessage's answer, a live event, a replay after reconnecting);
// - a lost stream is reopened with backoff, asking for the messages after the newest one held
//   (StreamEvents.after_message_id), so nothing is missed and nothing doubles;
// - an expired or unknown session is replaced by a new one without bothering the visitor;
// - every failure becomes a human sentence in `state.error` or on the message that failed.

import { createClient, type Client } from "@connectrpc/connect";

import { Code, ConnectError, FrontdeskClient, type ConversationEvent } from "../api/client";
import { ConversationStatus, Role, type Message } from "../gen/frontdesk/common/v1/common_pb";
import { SpeechService } from "../gen/frontdesk/speech/v1/speech_pb";
import { backoffMs, codeOf, humanError, isAbort } from "../shared/errors";

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

interface Saved {
  token?: string;
  expiresAt?: number;  // ms
  tenantName?: string;
  greeting?: string;
  conversationId?: string;
  feedback?: Record<string, boolean>;
  rating?: number;
}

const DEFAULT_HANDOFF = "A person from our team will reply here as soon as possible.";
const SUBSCRIBE_WAIT_MS = 5_000;
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

export class ChatController {
  state: ChatState = {
    ready: false, tenantName: "", greeting: "", conversationId: "", messages: [], streaming: [], aiTyping: false,
    status: ConversationStatus.UNSPECIFIED, handoffNotice: "", agentName: "", agentJoinedAfter: "", connection: "idle", error: "",
    pending: [], feedback: {}, rating: 0, transcriptions: [],
  };

  private readonly client: FrontdeskClient;
  private readonly speech: Client<typeof SpeechService>;
  private readonly storageKey: string;
  private readonly listeners = new Set<() => void>();
  private saved: Saved;
  private starting: Promise<void> | undefined;
  private streamAbort: AbortController | undefined;
  private streamGeneration = 0;
  private subscribed: (() => void) | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly baseUrl: string, readonly widgetKey: string, private readonly storage: Storage | undefined) {
    this.client = new FrontdeskClient({ baseUrl });
    this.speech = createClient(SpeechService, this.client.transport);
    this.storageKey = `frontdesk.widget.${widgetKey}`;
    this.saved = this.load();
    this.client.token = this.saved.token;
    this.set({ feedback: this.saved.feedback ?? {}, rating: this.saved.rating ?? 0 });
    if (typeof window !== "undefined") {
      // the browser lost its network: drop the stream now (it may hang) and retry once it is back
      window.addEventListener("offline", () => this.restartStream());
      window.addEventListener("online", () => this.wake?.());
    }
  }

  // -- store for the UI (useSyncExternalStore) --

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  // -- persistence (localStorage; a visitor may have blocked it: then the session lives in memory) --

  private load(): Saved {
    try {
      return JSON.parse(this.storage?.getItem(this.storageKey) ?? "{}") as Saved;
    } catch {
      return {};
    }
  }

  private save(patch: Partial<Saved>): void {
    this.saved = { ...this.saved, ...patch };
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(this.saved));
    } catch { /* storage full or blocked: keep it in memory */ }
  }

  // -- session --

  /** Opens the session and, when there is one, the conversation with its history and live events. */
  start(): Promise<void> {
    this.starting ??= this.doStart().catch((err) => {
      this.starting = undefined;  // a later open tries again
      this.set({ error: humanError(err) });
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const s = this.saved;
    if (!s.token || !s.expiresAt || s.expiresAt - Date.now() < RENEW_BEFORE_MS) await this.newSession();
    this.set({ ready: true, tenantName: this.saved.tenantName ?? "", greeting: this.saved.greeting ?? "" });
    if (this.saved.conversationId) await this.openConversation(this.saved.conversationId);
  }

  /** A new visitor token; the previous one (even expired) keeps an anonymous visitor's history when still valid. */
  private async newSession(): Promise<void> {
    const previousToken = this.saved.token ?? "";
    this.client.token = undefined;
    const session = await this.client.createVisitorSession(this.widgetKey, { previousToken });
    const expiresAt = session.expiresAt ? Number(session.expiresAt.seconds) * 1000 : Date.now() + 3600_000;
    this.save({ token: session.token, expiresAt, tenantName: session.tenantName, greeting: session.greeting });
    this.set({ tenantName: session.tenantName, greeting: session.greeting });
  }

  /** Runs `call`; when the session turns out expired or unknown, renews it once and runs it again. */
  private async authed<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (codeOf(err) !== Code.Unauthenticated) throw err;
      await this.newSession();
      return call();
    }
  }

  private async openConversation(conversationId: string): Promise<void> {
    try {
      const history = await this.authed(() => this.client.chat.listMessages({ conversationId, pageSize: 200 }));
      const conversation = await this.authed(() => this.client.chat.getConversation({ conversationId }));
      this.set({ conversationId, status: conversation.status, rating: conversation.rating || this.state.rating });
      this.merge(history.messages);
      if (conversation.status === ConversationStatus.HANDOFF) this.set({ handoffNotice: DEFAULT_HANDOFF });
      if (conversation.status === ConversationStatus.HUMAN) this.restoreAgent();
      this.connect();
    } catch (err) {
      if (codeOf(err) === Code.NotFound) {
        this.forgetConversation();  // a new session is a new visitor: start afresh, quietly
        return;
      }
      throw err;
    }
  }

  private forgetConversation(): void {
    this.stopStream();
    this.save({ conversationId: undefined, feedback: {}, rating: 0 });
    this.set({ conversationId: "", messages: [], streaming: [], aiTyping: false, handoffNotice: "", agentName: "", agentJoinedAfter: "",
               status: ConversationStatus.UNSPECIFIED, feedback: {}, rating: 0, connection: "idle" });
  }

  private async ensureConversation(): Promise<string> {
    await this.start();
    if (!this.state.ready) throw new ConnectError("the chat is not available right now", Code.Unavailable);
    if (this.state.conversationId) return this.state.conversationId;
    const attributes: Record<string, string> = {};
    if (typeof location !== "undefined") attributes.page = location.href.slice(0, 500);
    if (typeof navigator !== "undefined" && navigator.language) attributes.locale = navigator.language;
    const id = await this.authed(() => this.client.startConversation(attributes));
    this.save({ conversationId: id });
    this.set({ conversationId: id, status: ConversationStatus.AI });
    // the stream must be subscribed before the first message, or its first tokens are missed
    const subscribed = new Promise<void>((resolve) => { this.subscribed = resolve; });
    this.connect();
    await Promise.race([subscribed, new Promise((r) => setTimeout(r, SUBSCRIBE_WAIT_MS))]);
    return id;
  }

  // -- live events, reconnecting with backoff --

  private connect(): void {
    this.stopStream();
    void this.streamLoop(++this.streamGeneration);
  }

  private stopStream(): void {
    this.streamGeneration++;
    this.streamAbort?.abort();
    this.streamAbort = undefined;
    this.wake?.();
  }

  /** Reopen the stream at once (the network changed); the loop's backoff starts over. */
  private restartStream(): void {
    if (!this.state.conversationId) return;
    this.streamAbort?.abort();
  }

  private async streamLoop(generation: number): Promise<void> {
    let failures = 0;
    while (generation === this.streamGeneration && this.state.conversationId) {
      const conversationId = this.state.conversationId;
      const abort = new AbortController();
      this.streamAbort = abort;
      this.set({ connection: failures ? "reconnecting" : "connecting" });
      try {
        const after = this.newestId();
        for await (const ev of this.client.streamEvents(conversationId, { afterMessageId: after, signal: abort.signal })) {
          if (generation !== this.streamGeneration) return;
          if (this.state.connection !== "live") this.set({ connection: "live", error: "" });
          failures = 0;
          this.handle(ev);
          // let the UI render each piece of a streamed reply (and typing, transcription progress)
          // before the next event is applied
          if (ev.kind.case === "token" || ev.kind.case === "typing" || ev.kind.case === "transcription") {
            await new Promise((r) => setTimeout(r, 0));
          }
        }
        // the server ended the stream (it restarts, or drains): reconnect at once
      } catch (err) {
        if (generation !== this.streamGeneration) return;
        let failure: unknown = err;
        const code = codeOf(err);
        if (code === Code.Unauthenticated) {
          try {
            await this.newSession();
            continue;
          } catch (renewErr) {
            failure = renewErr;
          }
        } else if (code === Code.NotFound) {
          this.forgetConversation();
          return;
        }
        if (!isAbort(failure) || !abort.signal.aborted) failures++;
        this.set({ connection: "reconnecting", streaming: this.state.streaming.map((s) => ({ ...s, gap: true })) });
      }
      if (generation !== this.streamGeneration) return;
      if (failures) {
        await this.sleep(backoffMs(failures - 1));
        if (typeof navigator !== "undefined" && navigator.onLine === false) {
          await this.sleep(60_000);  // woken early by the "online" event
        }
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); resolve(); }
      this.wake = done;
    });
  }

  /** After a reload, a conversation a person has taken over still shows who is helping and
   *  where they joined: from the agent's own messages in the history. */
  private restoreAgent(): void {
    const m = this.state.messages;
    const first = m.findIndex((x) => x.role === Role.AGENT);
    const last = [...m].reverse().find((x) => x.role === Role.AGENT);
    this.set({
      agentName: last?.authorName || "A support agent",
      agentJoinedAfter: first > 0 ? m[first - 1]!.id : first === 0 ? "" : this.newestId(),
    });
  }

  private newestId(): string {
    const m = this.state.messages;
    return m.length ? m[m.length - 1]!.id : "";
  }

  handle(ev: ConversationEvent): void {
    const k = ev.kind;
    switch (k.case) {
      case "statusChanged": {
        const status = k.value.status;
        this.set({
          status,
          handoffNotice: status === ConversationStatus.HANDOFF ? this.state.handoffNotice || DEFAULT_HANDOFF : "",
        });
        this.subscribed?.();
        this.subscribed = undefined;
        break;
      }
      case "typing":
        if (k.value.role === Role.AI) this.set({ aiTyping: k.value.active });
        break;
      case "token": {
        const d = k.value;
        if (this.state.messages.some((m) => m.id === d.replyId)) break;  // already final
        const list = this.state.streaming;
        const cur = list.find((s) => s.replyId === d.replyId);
        if (!cur) {
          const gap = d.index !== 0;
          this.set({ aiTyping: false, streaming: [...list, { replyId: d.replyId, inReplyTo: d.inReplyTo, text: gap ? "" : d.text,
                                                              next: d.index + 1, gap }] });
        } else if (!cur.gap && d.index === cur.next) {
          this.set({ streaming: list.map((s) => s === cur ? { ...s, text: s.text + d.text, next: d.index + 1 } : s) });
        } else if (d.index >= cur.next) {
          this.set({ streaming: list.map((s) => s === cur ? { ...s, gap: true, next: d.index + 1 } : s) });
        }
        break;
      }
      case "message":
        this.merge([k.value]);
        break;
      case "handoff":
        this.set({ status: ConversationStatus.HANDOFF, handoffNotice: k.value.notice || DEFAULT_HANDOFF, aiTyping: false,
                   streaming: [] });
        break;
      case "agentJoined":
        this.set({ status: ConversationStatus.HUMAN, agentName: k.value.displayName || "A support agent",
                   agentJoinedAfter: this.state.agentName ? this.state.agentJoinedAfter : this.newestId(),
                   handoffNotice: "", aiTyping: false });
        break;
      case "transcription": {
        const t = k.value;
        const rest = this.state.transcriptions.filter((x) => x.audioId !== t.audioId);
        // done: the voice message itself arrives as a message (maybe already did); failed: say so
        const keep = t.state !== "done" && !this.state.messages.some((m) => m.audioId === t.audioId);
        this.set({ transcriptions: keep ? [...rest, { audioId: t.audioId, state: t.state,
                                                      error: t.state === "failed" ? "We could not understand that recording." : "" }] : rest });
        break;
      }
      case "error":
        this.set({ error: k.value.message || "Something went wrong on our side." });
        break;
    }
  }

  /** Adds stored messages: once each (by id), in id order; a final message replaces its streamed text. */
  private merge(incoming: Message[]): void {
    if (!incoming.length) return;
    const byId = new Map(this.state.messages.map((m) => [m.id, m]));
    let aiFinal = false;
    for (const m of incoming) {
      byId.set(m.id, m);
      if (m.role === Role.AI || m.role === Role.SYSTEM) aiFinal = true;
    }
    const ids = new Set(incoming.map((m) => m.id));
    const audio = new Set(incoming.map((m) => m.audioId).filter(Boolean));
    const clientIds = new Set(incoming.map((m) => m.clientMessageId).filter(Boolean));
    this.set({
      messages: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      streaming: this.state.streaming.filter((s) => !ids.has(s.replyId)),
      pending: this.state.pending.filter((p) => !clientIds.has(p.clientId)),
      transcriptions: this.state.transcriptions.filter((t) => !audio.has(t.audioId)),
      ...(aiFinal ? { aiTyping: false } : {}),
    });
  }

  // -- actions --

  /** Sends a message (with files); its failure is shown on it, with a retry. */
  async send(text: string, files: File[] = []): Promise<void> {
    const body = text.trim() || files.map((f) => f.name).join(", ");
    if (!body) return;
    const pending: Pending = { clientId: newClientId(), text: body, files, error: "" };
    this.set({ pending: [...this.state.pending, pending], error: "" });
    await this.deliver(pending);
  }

  retry(clientId: string): Promise<void> {
    const p = this.state.pending.find((x) => x.clientId === clientId);
    if (!p) return Promise.resolve();
    const again = { ...p, error: "" };
    this.set({ pending: this.state.pending.map((x) => (x === p ? again : x)) });
    return this.deliver(again);
  }

  discard(clientId: string): void {
    this.set({ pending: this.state.pending.filter((x) => x.clientId !== clientId) });
  }

  private async deliver(p: Pending): Promise<void> {
    try {
      const conversationId = await this.ensureConversation();
      const attachmentIds: string[] = [];
      for (const file of p.files) {
        const data = new Uint8Array(await file.arrayBuffer());
        const att = await this.authed(() => this.client.chat.uploadAttachment({
          conversationId, filename: file.name, contentType: file.type || "application/octet-stream", data }));
        attachmentIds.push(att.id);
      }
      // the same client id on a retry: the server returns the stored message instead of a second one
      const sent = await this.authed(() => this.client.chat.sendMessage({
        conversationId, text: p.text, clientMessageId: p.clientId, attachmentIds }));
      if (sent.message) this.merge([sent.message]);
      this.set({ pending: this.state.pending.filter((x) => x.clientId !== p.clientId) });
      if (sent.queuedForAi && !this.state.messages.some((m) => m.inReplyTo === sent.message?.id)) {
        this.set({ aiTyping: true });
      }
    } catch (err) {
      this.set({ pending: this.state.pending.map((x) => (x.clientId === p.clientId ? { ...x, error: humanError(err) } : x)) });
    }
  }

  /** A voice message: the recording goes to SpeechService, its transcript becomes the customer's message. */
  async sendVoice(audio: Blob): Promise<void> {
    try {
      const conversationId = await this.ensureConversation();
      const contentType = audio.type.split(";")[0] || "audio/webm";
      const ext = contentType.split("/")[1] ?? "webm";
      const data = new Uint8Array(await audio.arrayBuffer());
      const res = await this.authed(() => this.speech.submitAudio({
        header: { conversationId, contentType, filename: `voice-message.${ext}` }, data }));
      const t = res.transcription;
      // the live stream may have reported progress (or the transcript) before this answer came back
      const known = this.state.transcriptions.some((x) => x.audioId === res.audioId)
        || this.state.messages.some((m) => m.audioId === res.audioId);
      if (t && t.state !== "done" && !known) {
        this.set({ transcriptions: [...this.state.transcriptions, { audioId: res.audioId, state: t.state || "queued", error: t.error }] });
      }
    } catch (err) {
      this.set({ error: humanError(err) });
    }
  }

  async feedback(messageId: string, helpful: boolean): Promise<void> {
    const before = this.state.feedback;
    this.set({ feedback: { ...before, [messageId]: helpful } });
    try {
      await this.authed(() => this.client.chat.submitFeedback({ conversationId: this.state.conversationId, messageId, helpful }));
      this.save({ feedback: this.state.feedback });
    } catch (err) {
      this.set({ feedback: before, error: humanError(err) });
    }
  }

  async rate(score: number): Promise<void> {
    const before = this.state.rating;
    this.set({ rating: score });
    try {
      await this.authed(() => this.client.chat.rateConversation({ conversationId: this.state.conversationId, score }));
      this.save({ rating: score });
    } catch (err) {
      this.set({ rating: before, error: humanError(err) });
    }
  }

  async requestHuman(): Promise<void> {
    try {
      const conversationId = await this.ensureConversation();
      const conv = await this.authed(() => this.client.chat.requestHuman({ conversationId, reason: "customer_request" }));
      this.set({ status: conv.status, handoffNotice: this.state.handoffNotice || DEFAULT_HANDOFF });
    } catch (err) {
      this.set({ error: humanError(err) });
    }
  }

  /** Opens an attachment of a message in a new tab. */
  async openAttachment(attachmentId: string): Promise<void> {
    try {
      const res = await this.authed(() => this.client.chat.getAttachment({ conversationId: this.state.conversationId, attachmentId }));
      const url = res.downloadUrl && /^https?:/i.test(res.downloadUrl) ? res.downloadUrl
        : URL.createObjectURL(new Blob([res.data.slice()], { type: res.attachment?.contentType || "application/octet-stream" }));
      window.open(url, "_blank", "noopener");
    } catch (err) {
      this.set({ error: humanError(err) });
    }
  }

  dismissError(): void {
    this.set({ error: "" });
  }
}

function newClientId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `c${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}
