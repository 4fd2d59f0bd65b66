// The visitor's session: its token from the tenant's widget key, kept (with the conversation
// id, feedback and rating) in localStorage; a visitor may have blocked that: then it lives in
// memory. An expired or unknown session is replaced by a new one without bothering the visitor.

import { Code, codeOf, FrontdeskClient } from "../api/client";

export interface Saved {
  token?: string;
  expiresAt?: number;  // ms
  tenantName?: string;
  greeting?: string;
  conversationId?: string;
  feedback?: Record<string, boolean>;
  rating?: number;
}

const RENEW_BEFORE_MS = 24 * 3600 * 1000;

export class VisitorSession {
  readonly client: FrontdeskClient;
  saved: Saved;
  private readonly storageKey: string;

  /** `onRenewed`: a new session was opened (its tenant name and greeting may have changed). */
  constructor(baseUrl: string, private readonly widgetKey: string, private readonly storage: Storage | undefined,
              private readonly onRenewed: (s: { tenantName: string; greeting: string }) => void) {
    this.client = new FrontdeskClient({ baseUrl });
    this.storageKey = `frontdesk.widget.${widgetKey}`;
    this.saved = this.load();
    this.client.token = this.saved.token;
  }

  private load(): Saved {
    try {
      return JSON.parse(this.storage?.getItem(this.storageKey) ?? "{}") as Saved;
    } catch {
      return {};
    }
  }

  save(patch: Partial<Saved>): void {
    this.saved = { ...this.saved, ...patch };
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(this.saved));
    } catch { /* storage full or blocked: keep it in memory */ }
  }

  /** No token, or one that expires within a day: get a new one before starting. */
  get stale(): boolean {
    const s = this.saved;
    return !s.token || !s.expiresAt || s.expiresAt - Date.now() < RENEW_BEFORE_MS;
  }

  /** A new visitor token; the previous one (even expired) keeps an anonymous visitor's history when still valid. */
  async renew(): Promise<void> {
    const previousToken = this.saved.token ?? "";
    this.client.token = undefined;
    const session = await this.client.createVisitorSession(this.widgetKey, { previousToken });
    const expiresAt = session.expiresAt ? Number(session.expiresAt.seconds) * 1000 : Date.now() + 3600_000;
    this.save({ token: session.token, expiresAt, tenantName: session.tenantName, greeting: session.greeting });
    this.onRenewed({ tenantName: session.tenantName, greeting: session.greeting });
  }

  /** Runs `call`; when the session turns out expired or unknown, renews it once and runs it again. */
  async authed<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (codeOf(err) !== Code.Unauthenticated) throw err;
      await this.renew();
      return call();
    }
  }
}
