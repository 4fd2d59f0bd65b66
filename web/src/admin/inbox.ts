// The operators' live inbox: one AdminService.StreamInbox per signed-in tab, reopened after
// every drop from the last cursor it saw (so nothing that happened meanwhile is missed).
// Pages reload what they show when `version` moves, instead of polling; a customer handed to
// the team plays a short sound and shows a browser notification (permission asked once, at
// sign-in: a click the browser accepts as the user's).

import { useSyncExternalStore } from "react";

import { LiveStream, type LinkState } from "../api/live";
import type { InboxEvent } from "../gen/frontdesk/admin/v1/admin_pb";
import { ConversationStatus } from "../gen/frontdesk/common/v1/common_pb";
import { PresenceState } from "../gen/frontdesk/events/v1/events_pb";
import { api } from "./api";
import { HANDOFF_REASON } from "./labels";
import { navigate } from "./router";

export interface Waiting {
  conversationId: string;
  reason: string;
}

export interface InboxState {
  /** Moves when anything in the tenant's conversations changed (at most every RELOAD_MS). */
  version: number;
  link: LinkState;
  /** The latest conversation handed to the team, until dismissed. */
  waiting: Waiting | null;
  /** What this operator chose: online takes customers from auto-assignment, away keeps theirs. */
  presence: PresenceState;
}

const RELOAD_MS = 400; // a busy tenant's inbox reloads a list at most this often
const ASKED_KEY = "frontdesk.admin.notifications-asked";
const PRESENCE_KEY = "frontdesk.admin.presence";

function chosenPresence(): PresenceState {
  const saved = Number(sessionStorage.getItem(PRESENCE_KEY));
  return saved === PresenceState.AWAY ? PresenceState.AWAY : PresenceState.ONLINE;
}

class Inbox {
  private stream: LiveStream<InboxEvent, bigint | undefined> | undefined;
  private cursor: bigint | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();
  state: InboxState = { version: 0, link: "connecting", waiting: null, presence: chosenPresence() };

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.stream) return;
    this.cursor = undefined;
    this.stream = new LiveStream<InboxEvent, bigint | undefined>({
      open: (afterCursor, signal) => api.admin.streamInbox({ afterCursor }, { signal }),
      resumeAfter: () => this.cursor,
      onEvent: (ev) => this.apply(ev),
      onLink: (link) => this.set({ link }),
      followNetwork: true,
    });
    this.stream.start();
  }

  stop(): void {
    this.stream?.stop();
    this.stream = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Online or away (kept for this tab); the server hears it now and after every reconnect. */
  setPresence(presence: PresenceState): void {
    sessionStorage.setItem(PRESENCE_KEY, String(presence));
    this.set({ presence });
    this.tellPresence();
  }

  /** Signing out: this operator's waiting customers go to someone else now, not in 90 s. */
  async signOff(): Promise<void> {
    this.stop();
    try {
      await api.admin.setPresence({ state: PresenceState.OFFLINE }, { timeoutMs: 3_000 });
    } catch {
      // not seen for 90 s counts as offline too
    }
  }

  private tellPresence(): void {
    void api.admin.setPresence({ state: this.state.presence }, { timeoutMs: 15_000 }).catch(() => {
      // told again after the next reconnect
    });
  }

  dismiss(): void {
    this.set({ waiting: null });
  }

  private apply(ev: InboxEvent): void {
    this.cursor = ev.cursor;
    if (ev.kind.case === "caughtUp") {
      this.set({ version: this.state.version + 1 }); // load the list now: nothing is pending
      this.tellPresence(); // (again) after a reconnect: a long drop may have made us offline
      return;
    }
    if (ev.kind.case === "handedOff") {
      const waiting = { conversationId: ev.conversationId, reason: ev.kind.value.reason };
      this.set({ waiting });
      chime();
      notify(waiting);
    }
    // the waiting customer was taken over, resolved or given back to the AI: no longer waiting
    if (ev.kind.case === "statusChanged" && this.state.waiting?.conversationId === ev.conversationId
        && ev.kind.value.status !== ConversationStatus.HANDOFF) {
      this.set({ waiting: null });
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.set({ version: this.state.version + 1 });
    }, RELOAD_MS);
  }

  private set(change: Partial<InboxState>): void {
    this.state = { ...this.state, ...change };
    for (const fn of this.listeners) fn();
  }
}

export const inbox = new Inbox();

export function useInbox(): InboxState {
  return useSyncExternalStore((fn) => inbox.subscribe(fn), () => inbox.state);
}

/** Asks for notification permission the first time an operator signs in on this browser. */
export function askNotificationsOnce(): void {
  try {
    if (!("Notification" in window) || Notification.permission !== "default" || localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, "1");
    void Notification.requestPermission();
  } catch {
    // no notifications in this browser (or storage is blocked): the sound and banner remain
  }
}

export function reasonText(reason: string): string {
  return HANDOFF_REASON[reason] ?? (reason ? reason.replaceAll("_", " ") : "handed to the team");
}

function notify(w: Waiting): void {
  try {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    const n = new Notification("A customer is waiting", { body: reasonText(w.reason), tag: w.conversationId });
    n.onclick = () => {
      window.focus();
      navigate(`/conversations/${encodeURIComponent(w.conversationId)}`);
      n.close();
    };
  } catch {
    // the banner in the panel shows it too
  }
}

let audio: AudioContext | undefined;

/** A short two-tone chime (no sound file to ship); silent where the browser allows no audio yet. */
function chime(): void {
  try {
    audio ??= new AudioContext();
    const at = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at + i * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.2, at + i * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + i * 0.15 + 0.14);
      osc.connect(gain).connect(audio.destination);
      osc.start(at + i * 0.15);
      osc.stop(at + i * 0.15 + 0.15);
    }
  } catch {
    // no audio here
  }
}
