// Live events, kept open: the one stream-and-reconnect loop of the widget (ChatService.
// StreamEvents), of the admin panel's live view (AdminService.StreamConversationEvents) and
// of its inbox (AdminService.StreamInbox, resumed by cursor). Both streams take `after_message_id`: a reopened stream first
// replays the stored messages after the newest one held, so nothing is missed; `mergeById`
// holds each message once, so nothing doubles.
//
//   const live = new LiveStream({
//     open: (afterMessageId, signal) => client.streamEvents(id, { afterMessageId, signal }),
//     resumeAfter: () => newestId(messages),
//     onEvent: (ev) => ...,
//   });
//   live.start();  ...  live.stop();

import type { Message } from "../gen/frontdesk/common/v1/common_pb";
import type { ConversationEvent } from "../gen/frontdesk/events/v1/events_pb";

export type LinkState = "connecting" | "live" | "reconnecting";

/**
 * What to do after a stream ended or failed: "retry" counts a failure and waits (backoff)
 * before reopening; "again" reopens at once (a renewed credential, a restart); "stop" ends the loop.
 */
export type Next = "retry" | "again" | "stop";

/**
 * E: the stream's events; C: its resume cursor. A conversation's stream resumes after a
 * message id, the operators' inbox (AdminService.StreamInbox) after an event cursor.
 */
export interface LiveStreamOptions<E = ConversationEvent, C = string> {
  /** Opens one stream that first replays what came after `resume` (for a conversation: the stored messages after that id, "" = none). */
  open(resume: C, signal: AbortSignal): AsyncIterable<E>;
  /** Where a reopened stream resumes (for a conversation: the id of the newest message held). */
  resumeAfter(): C;
  /** Each event, in order; a returned promise is awaited before the next event is applied. */
  onEvent(ev: E): void | Promise<unknown>;
  /**
   * "connecting" before a try after none or only a restart, "reconnecting" while waiting to
   * retry and before that try, "live" at the first event of each try.
   */
  onLink?(state: LinkState): void;
  /** A stream failed; `restarted`: `restart()` aborted it. Default: "again" after a restart, else "retry". */
  onFailure?(err: unknown, restarted: boolean): Next | Promise<Next>;
  /** The server ended the stream (it restarts or drains). Default: "again". */
  onEnd?: Next;
  /** The wait before the next try after `failures` (1, 2, ...) failures in a row. Default: `backoffMs(failures - 1)`. */
  backoff?(failures: number): number;
  /**
   * Follow the browser's network: going offline drops the stream at once (it may hang), a retry
   * while offline waits for the "online" event (at most a minute).
   */
  followNetwork?: boolean;
}

/** Reconnect delay for the n-th consecutive failure: 0.5 s doubling to 15 s, with ±25% jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

const OFFLINE_WAIT_MS = 60_000;

/** One event stream (a conversation's, the inbox), reopened after every end or failure until `stop()`. */
export class LiveStream<E = ConversationEvent, C = string> {
  private generation = 0;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly onOffline = () => this.restart();
  private readonly onOnline = () => this.wake?.();

  constructor(private readonly options: LiveStreamOptions<E, C>) {}

  /** (Re)starts the loop; a running one is stopped first. */
  start(): void {
    this.stop();
    if (this.options.followNetwork && typeof window !== "undefined") {
      window.addEventListener("offline", this.onOffline);
      window.addEventListener("online", this.onOnline);
    }
    void this.loop(this.generation);
  }

  /** Ends the loop and aborts its stream; no callback is called after this. */
  stop(): void {
    this.generation++;
    this.abort?.abort();
    this.abort = undefined;
    this.wake?.();
    if (this.options.followNetwork && typeof window !== "undefined") {
      window.removeEventListener("offline", this.onOffline);
      window.removeEventListener("online", this.onOnline);
    }
  }

  /** Drops the current stream and reopens it at once (the network changed); the backoff starts over. */
  restart(): void {
    this.abort?.abort();
  }

  private async loop(generation: number): Promise<void> {
    const o = this.options;
    const current = () => generation === this.generation;
    let failures = 0;
    while (current()) {
      const abort = new AbortController();
      this.abort = abort;
      o.onLink?.(failures ? "reconnecting" : "connecting");
      let next: Next;
      try {
        let live = false;
        for await (const ev of o.open(o.resumeAfter(), abort.signal)) {
          if (!current()) return;
          if (!live) {
            live = true;
            failures = 0;
            o.onLink?.("live");
          }
          await o.onEvent(ev);
        }
        next = o.onEnd ?? "again";
      } catch (err) {
        if (!current()) return;
        const restarted = abort.signal.aborted;
        next = o.onFailure ? await o.onFailure(err, restarted) : restarted ? "again" : "retry";
      }
      if (!current() || next === "stop") return;
      if (next === "retry") {
        failures++;
        o.onLink?.("reconnecting");
        await this.sleep(o.backoff ? o.backoff(failures) : backoffMs(failures - 1));
        if (o.followNetwork && typeof navigator !== "undefined" && navigator.onLine === false) {
          await this.sleep(OFFLINE_WAIT_MS); // woken early by the "online" event
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
}

/** Adds stored messages to `held`: once each (the newer copy wins), in id order (ids are time-ordered). */
export function mergeById(held: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map(held.map((m) => [m.id, m]));
  for (const m of incoming) if (m.id) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The newest message's id ("" when there is none): `after_message_id` of a reopened stream. */
export function newestId(held: readonly Message[]): string {
  return held.length ? held[held.length - 1]!.id : "";
}
