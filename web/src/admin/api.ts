// The admin panel's connection to frontdesk: its clients on the one gRPC-web transport of
// ../api/client, the operator's token (kept in sessionStorage: gone with the tab) and its
// expiry. Every API type comes from ../gen; the sentences for failures from ../api/client.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

import { AdminService } from "../gen/frontdesk/admin/v1/admin_pb";
import { AnalyticsService } from "../gen/frontdesk/analytics/v1/analytics_pb";
import { AuthService } from "../gen/frontdesk/auth/v1/auth_pb";
import { KnowledgeService } from "../gen/frontdesk/knowledge/v1/knowledge_pb";
import { createTransport, rateLimitPatience } from "../api/client";

export interface Session {
  token: string;
  expiresAtMs: number;
  operatorId: string;
  role: string; // owner, admin or agent
  displayName: string;
  tenant: string; // the slug signed in with
}

const SESSION_KEY = "frontdesk.admin.session";

/** Why the operator is back on the sign-in page; shown above the form. */
export type SignedOutReason = { message: string; kind: "expired" | "signed_out" };

type Listener = () => void;

class AdminApi {
  session: Session | null = readSession();
  signedOut: SignedOutReason | null = null;
  private listeners = new Set<Listener>();
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;

  readonly admin: Client<typeof AdminService>;
  readonly auth: Client<typeof AuthService>;
  readonly knowledge: Client<typeof KnowledgeService>;
  readonly analytics: Client<typeof AnalyticsService>;

  constructor(baseUrl: string) {
    // A token the gateway no longer accepts (expired, signed with an old secret, operator
    // deleted) ends the session wherever it happens, unary call or stream.
    const expiry: Interceptor = (next) => async (req) => {
      const sentWith = this.session?.token;
      const watch = (err: unknown) => {
        const e = ConnectError.from(err);
        if (e.code === Code.Unauthenticated && sentWith && sentWith === this.session?.token
            && req.service.typeName !== AuthService.typeName) {
          this.endSession({ kind: "expired", message: `Your session has ended (${e.rawMessage}). Please sign in again.` });
        }
      };
      try {
        const res = await next(req);
        if (!res.stream) return res;
        const messages = res.message;
        return {
          ...res,
          message: (async function* () {
            try {
              yield* messages;
            } catch (err) {
              watch(err);
              throw err;
            }
          })(),
        };
      } catch (err) {
        watch(err);
        throw err;
      }
    };
    const transport = createTransport(baseUrl, () => this.session?.token, { interceptors: [expiry, rateLimitPatience] });
    this.admin = createClient(AdminService, transport);
    this.auth = createClient(AuthService, transport);
    this.knowledge = createClient(KnowledgeService, transport);
    this.analytics = createClient(AnalyticsService, transport);
    this.armExpiry();
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed() {
    for (const fn of this.listeners) fn();
  }

  async login(tenant: string, email: string, password: string): Promise<void> {
    const res = await this.auth.operatorLogin({ tenant, email, password }, { timeoutMs: 15_000 });
    this.session = {
      token: res.token,
      expiresAtMs: res.expiresAt ? timestampDate(res.expiresAt).getTime() : Date.now() + 3600_000,
      operatorId: res.operatorId,
      role: res.role,
      displayName: res.displayName,
      tenant,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    this.signedOut = null;
    this.armExpiry();
    this.changed();
  }

  endSession(reason: SignedOutReason) {
    if (!this.session) return;
    this.session = null;
    this.signedOut = reason;
    sessionStorage.removeItem(SESSION_KEY);
    clearTimeout(this.expiryTimer);
    this.changed();
  }

  /** Signs out at the token's expiry even when no call fails (an idle panel). */
  private armExpiry() {
    clearTimeout(this.expiryTimer);
    const s = this.session;
    if (!s) return;
    const left = s.expiresAtMs - Date.now();
    const expired = () => this.endSession({ kind: "expired", message: "Your session has expired. Please sign in again." });
    if (left <= 0) {
      this.session = null; // expired while the tab was closed: start on the sign-in page
      this.signedOut = { kind: "expired", message: "Your session has expired. Please sign in again." };
      sessionStorage.removeItem(SESSION_KEY);
    } else if (left < 2 ** 31 - 1) {
      this.expiryTimer = setTimeout(expired, left);
    }
  }

  get canManage(): boolean {
    return this.session?.role === "owner" || this.session?.role === "admin";
  }
}

function readSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== "string" || !s.token || typeof s.expiresAtMs !== "number") return null;
    return {
      token: s.token, expiresAtMs: s.expiresAtMs, operatorId: String(s.operatorId ?? ""), role: String(s.role ?? ""),
      displayName: String(s.displayName ?? ""), tenant: String(s.tenant ?? ""),
    };
  } catch {
    return null; // storage disabled or corrupt: sign in again
  }
}

// the gateway that served this page also serves gRPC-web (or Envoy in front of both)
export const api = new AdminApi(window.location.origin);

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts && (ts.seconds > 0n || ts.nanos > 0) ? timestampDate(ts) : undefined;
}

export function formatTime(ts: Timestamp | undefined): string {
  const d = toDate(ts);
  return d ? d.toLocaleString() : "–";
}
