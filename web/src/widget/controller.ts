// The widget's chat logic, apart from its UI: one conversation, its history and live events,
// and what the visitor does (send, retry, voice, feedback, rating, ask for a person). The UI
// (App.tsx) renders `state` (state.ts) and calls the methods; nothing here touches the DOM.
//
// Guarantees the UI relies on:
// - every stored message is held once, ordered by id (state.ts `withMessages`);
// - a lost stream is reopened with backoff, asking for the messages after the newest one held
//   (../api/live: StreamEvents.after_message_id), so nothing is missed and nothing doubles;
// - an expired or unknown session is replaced by a new one without bothering the visitor (session.ts);
// - every failure becomes a human sentence in `state.error` or on the message that failed.

import { createClient, type Client } from "@connectrpc/connect";

import { Code, codeOf, ConnectError, describeError, isAbort, type ConversationEvent } from "../api/client";
import { LiveStream, newestId, type Next } from "../api/live";
import { ConversationStatus } from "../gen/frontdesk/common/v1/common_pb";
import { SpeechService } from "../gen/frontdesk/speech/v1/speech_pb";
import { VisitorSession } from "./session";
import { applyEvent, DEFAULT_HANDOFF, INITIAL_STATE, NO_CONVERSATION, restoredAgent, streamLost, withMessages,
         type ChatState, type Pending } from "./state";

export type { ChatState, Connection, Pending, Streaming, Transcribing } from "./state";

const SUBSCRIBE_WAIT_MS = 5_000;

const human = (err: unknown) => describeError(err, "visitor");

export class ChatController {
  state: ChatState = INITIAL_STATE;

  private readonly session: VisitorSession;
  private readonly speech: Client<typeof SpeechService>;
  private readonly listeners = new Set<() => void>();
  private readonly live: LiveStream;
  private starting: Promise<void> | undefined;
  private subscribed: (() => void) | undefined;

  constructor(readonly baseUrl: string, readonly widgetKey: string, storage: Storage | undefined) {
    this.session = new VisitorSession(baseUrl, widgetKey, storage, (s) => this.set(s));
    this.speech = createClient(SpeechService, this.session.client.transport);
    const saved = this.session.saved;
    this.set({ feedback: saved.feedback ?? {}, rating: saved.rating ?? 0 });
    this.live = new LiveStream({
      open: (afterMessageId, signal) => this.session.client.streamEvents(this.state.conversationId, { afterMessageId, signal }),
      resumeAfter: () => newestId(this.state.messages),
      onEvent: (ev) => this.onLiveEvent(ev),
      onLink: (link) => {
        if (link === "live") this.set({ connection: "live", error: "" });
        else if (this.state.connection !== link) this.set({ connection: link });
      },
      onFailure: (err, restarted) => this.onStreamFailure(err, restarted),
      followNetwork: true,  // offline: drop the stream now (it may hang), retry once the network is back
    });
  }

  // -- store for the UI (useSyncExternalStore) --

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private set(patch: Partial<ChatState> | undefined): void {
    if (!patch) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  // -- session and conversation --

  /** Opens the session and, when there is one, the conversation with its history and live events. */
  start(): Promise<void> {
    this.starting ??= this.doStart().catch((err) => {
      this.starting = undefined;  // a later open tries again
      this.set({ error: human(err) });
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.session.stale) await this.session.renew();
    const s = this.session.saved;
    this.set({ ready: true, tenantName: s.tenantName ?? "", greeting: s.greeting ?? "" });
    if (s.conversationId) await this.openConversation(s.conversationId);
  }

  private authed<T>(call: () => Promise<T>): Promise<T> {
    return this.session.authed(call);
  }

  private async openConversation(conversationId: string): Promise<void> {
    const chat = this.session.client.chat;
    try {
      const history = await this.authed(() => chat.listMessages({ conversationId, pageSize: 200 }));
      const conversation = await this.authed(() => chat.getConversation({ conversationId }));
      this.set({ conversationId, status: conversation.status, rating: conversation.rating || this.state.rating });
      this.set(withMessages(this.state, history.messages));
      if (conversation.status === ConversationStatus.HANDOFF) this.set({ handoffNotice: DEFAULT_HANDOFF });
      if (conversation.status === ConversationStatus.HUMAN) this.set(restoredAgent(this.state));
      this.live.start();
    } catch (err) {
      if (codeOf(err) === Code.NotFound) {
        this.forgetConversation();  // a new session is a new visitor: start afresh, quietly
        return;
      }
      throw err;
    }
  }

  private forgetConversation(): void {
    this.live.stop();
    this.session.save({ conversationId: undefined, feedback: {}, rating: 0 });
    this.set(NO_CONVERSATION);
  }

  private async ensureConversation(): Promise<string> {
    await this.start();
    if (!this.state.ready) throw new ConnectError("the chat is not available right now", Code.Unavailable);
    if (this.state.conversationId) return this.state.conversationId;
    const attributes: Record<string, string> = {};
    if (typeof location !== "undefined") attributes.page = location.href.slice(0, 500);
    if (typeof navigator !== "undefined" && navigator.language) attributes.locale = navigator.language;
    const id = await this.authed(() => this.session.client.startConversation(attributes));
    this.session.save({ conversationId: id });
    this.set({ conversationId: id, status: ConversationStatus.AI });
    // the stream must be subscribed before the first message, or its first tokens are missed
    const subscribed = new Promise<void>((resolve) => { this.subscribed = resolve; });
    this.live.start();
    await Promise.race([subscribed, new Promise((r) => setTimeout(r, SUBSCRIBE_WAIT_MS))]);
    return id;
  }

  // -- live events (../api/live reconnects) --

  private async onLiveEvent(ev: ConversationEvent): Promise<void> {
    this.handle(ev);
    // let the UI render each piece of a streamed reply (and typing, transcription progress)
    // before the next event is applied
    if (ev.kind.case === "token" || ev.kind.case === "typing" || ev.kind.case === "transcription") {
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  handle(ev: ConversationEvent): void {
    this.set(applyEvent(this.state, ev));
    if (ev.kind.case === "statusChanged") {
      this.subscribed?.();
      this.subscribed = undefined;
    }
  }

  private async onStreamFailure(err: unknown, restarted: boolean): Promise<Next> {
    let failure = err;
    const code = codeOf(err);
    if (code === Code.Unauthenticated) {
      try {
        await this.session.renew();
        return "again";
      } catch (renewErr) {
        failure = renewErr;
      }
    } else if (code === Code.NotFound) {
      this.forgetConversation();
      return "stop";
    }
    this.set(streamLost(this.state));
    return isAbort(failure) && restarted ? "again" : "retry";
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
    const chat = this.session.client.chat;
    try {
      const conversationId = await this.ensureConversation();
      const attachmentIds: string[] = [];
      for (const file of p.files) {
        const data = new Uint8Array(await file.arrayBuffer());
        const att = await this.authed(() => chat.uploadAttachment({
          conversationId, filename: file.name, contentType: file.type || "application/octet-stream", data }));
        attachmentIds.push(att.id);
      }
      // the same client id on a retry: the server returns the stored message instead of a second one
      const sent = await this.authed(() => chat.sendMessage({ conversationId, text: p.text, clientMessageId: p.clientId, attachmentIds }));
      if (sent.message) this.set(withMessages(this.state, [sent.message]));
      this.set({ pending: this.state.pending.filter((x) => x.clientId !== p.clientId) });
      if (sent.queuedForAi && !this.state.messages.some((m) => m.inReplyTo === sent.message?.id)) {
        this.set({ aiTyping: true });
      }
    } catch (err) {
      this.set({ pending: this.state.pending.map((x) => (x.clientId === p.clientId ? { ...x, error: human(err) } : x)) });
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
      this.set({ error: human(err) });
    }
  }

  async feedback(messageId: string, helpful: boolean): Promise<void> {
    const before = this.state.feedback;
    this.set({ feedback: { ...before, [messageId]: helpful } });
    try {
      await this.authed(() => this.session.client.chat.submitFeedback({ conversationId: this.state.conversationId, messageId, helpful }));
      this.session.save({ feedback: this.state.feedback });
    } catch (err) {
      this.set({ feedback: before, error: human(err) });
    }
  }

  async rate(score: number): Promise<void> {
    const before = this.state.rating;
    this.set({ rating: score });
    try {
      await this.authed(() => this.session.client.chat.rateConversation({ conversationId: this.state.conversationId, score }));
      this.session.save({ rating: score });
    } catch (err) {
      this.set({ rating: before, error: human(err) });
    }
  }

  async requestHuman(): Promise<void> {
    try {
      const conversationId = await this.ensureConversation();
      const conv = await this.authed(() => this.session.client.chat.requestHuman({ conversationId, reason: "customer_request" }));
      this.set({ status: conv.status, handoffNotice: this.state.handoffNotice || DEFAULT_HANDOFF });
    } catch (err) {
      this.set({ error: human(err) });
    }
  }

  /** Opens an attachment of a message in a new tab. */
  async openAttachment(attachmentId: string): Promise<void> {
    try {
      const res = await this.authed(() => this.session.client.chat.getAttachment({ conversationId: this.state.conversationId, attachmentId }));
      const url = res.downloadUrl && /^https?:/i.test(res.downloadUrl) ? res.downloadUrl
        : URL.createObjectURL(new Blob([res.data.slice()], { type: res.attachment?.contentType || "application/octet-stream" }));
      window.open(url, "_blank", "noopener");
    } catch (err) {
      this.set({ error: human(err) });
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
