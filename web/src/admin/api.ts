// The admin panel's connection to frontdesk: one gRPC-web transport to the gateway that
// served this page, the operator's token (kept in sessionStorage: gone with the tab), and
// the sentences people see when a call fails. Every API type comes from ../gen.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

import { AdminService } from "../gen/frontdesk/admin/v1/admin_pb";
import { AnalyticsService } from "../gen/frontdesk/analytics/v1/analytics_pb";
import { AuthService } from "../gen/frontdesk/auth/v1/auth_pb";
import { KnowledgeService } from "../gen/frontdesk/knowledge/v1/knowledge_pb";
import { retryAfterSeconds } from "../api/client";

export { Code, ConnectError };

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
    const bearer: Interceptor = (next) => async (req) => {
      const token = this.session?.token;
      if (token && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
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
    // The gateway limits each operator's request rate; its refusal (RESOURCE_EXHAUSTED with
    // retry-after) comes before anything is done, so a unary call is simply sent again after
    // the wait it names: pages that load several things at once do not show an error.
    const patience: Interceptor = (next) => async (req) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await next(req);
        } catch (err) {
          const wait = retryAfterSeconds(err);
          if (req.stream || wait === undefined || wait > 5 || attempt >= 3 || req.signal.aborted) throw err;
          await new Promise((r) => setTimeout(r, Math.max(50, wait * 1000)));
        }
      }
    };
    const transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true,
                                               interceptors: [bearer, expiry, patience] });
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

function sentence(text: string): string {
  const t = text.trim().replace(/[.\s]+$/, "");
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : "";
}

/** A sentence for people, from any failure of an RPC (or of the network under it). */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  const detail = sentence(e.rawMessage);
  const withDetail = (lead: string) => (detail ? `${lead}: ${detail}.` : `${lead}.`);
  if (e.code === Code.Unknown && /fetch|network|load failed/i.test(e.rawMessage)) {
    return "Cannot reach the frontdesk server. Check the connection and try again.";
  }
  switch (e.code) {
    case Code.Unauthenticated:
      return withDetail("You are not signed in, or your session has ended");
    case Code.PermissionDenied:
      return withDetail("Your role does not allow this");
    case Code.NotFound:
      return withDetail("Not found (it may have been deleted)");
    case Code.InvalidArgument:
      return withDetail("Please check what you entered");
    case Code.FailedPrecondition:
      return withDetail("This cannot be done right now");
    case Code.AlreadyExists:
      return withDetail("That already exists");
    case Code.ResourceExhausted: {
      const wait = retryAfterSeconds(err);
      return wait !== undefined ? `Too many requests; please wait ${Math.ceil(wait)} s and try again.`
        : withDetail("Too many requests or a limit was reached");
    }
    case Code.Unavailable:
      return "The service is temporarily unavailable. Please try again in a moment.";
    case Code.DeadlineExceeded:
      return "The server took too long to answer. Please try again.";
    case Code.Unimplemented:
      return "This server does not offer this feature (yet).";
    case Code.Canceled:
      return "The request was cancelled.";
    default:
      return withDetail(`Something went wrong on the server (${Code[e.code] ?? e.code})`);
  }
}

export function errorCode(err: unknown): Code {
  return ConnectError.from(err).code;
}

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts && (ts.seconds > 0n || ts.nanos > 0) ? timestampDate(ts) : undefined;
}

export function formatTime(ts: Timestamp | undefined): string {
  const d = toDate(ts);
  return d ? d.toLocaleString() : "–";
}
