// The browser's one way into frontdesk, for the widget and the admin panel alike: typed clients
// generated from ../protos (src/gen), talking gRPC-web to the gateway (its built-in translator
// in the embedded default, or Envoy's grpc_web filter in production), with a bearer token; and
// what a person is told when a call fails. No API type here is written by hand.
//
// Only the widget's services (Auth, Chat) are imported here: the admin panel creates its own
// clients (AdminService, ...) on `createTransport`, so the widget bundle never contains them.

import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { MessageInitShape } from "@bufbuild/protobuf";

import {
  AuthService,
  type CreateVisitorSessionResponse,
  type CustomerIdentitySchema,
} from "../gen/frontdesk/auth/v1/auth_pb";
import { ChatService } from "../gen/frontdesk/chat/v1/chat_pb";
import type { ConversationEvent } from "../gen/frontdesk/events/v1/events_pb";

export { AuthService, ChatService, Code, ConnectError };
export type { ConversationEvent };

// -- the transport ---------------------------------------------------------------------------

export interface TransportOptions {
  /** fetch to use (tests, service workers); the global one by default. */
  fetch?: typeof globalThis.fetch;
  /** More interceptors, run inside the bearer one (the admin panel: session expiry, `rateLimitPatience`). */
  interceptors?: Interceptor[];
}

/** A gRPC-web transport to `baseUrl` that sends `authorization: Bearer <token>` when `token()` has one. */
export function createTransport(baseUrl: string, token: () => string | undefined,
                                options: TransportOptions = {}): Transport {
  const bearer: Interceptor = (next) => async (req) => {
    const t = token();
    if (t && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${t}`);
    return next(req);
  };
  const fetchImpl = options.fetch;
  return createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true, // application/grpc-web+proto: what the gateway and Envoy serve
    interceptors: [bearer, ...(options.interceptors ?? [])],
    // connect-web binds the global fetch itself; a custom one is wrapped the same way
    ...(fetchImpl ? { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetchImpl(input, init) } : {}),
  });
}

/**
 * The gateway limits each operator's request rate; its refusal (RESOURCE_EXHAUSTED with
 * retry-after) comes before anything is done, so a unary call is simply sent again after the
 * wait it names (at most 5 s, 3 times): pages that load several things at once show no error.
 */
export const rateLimitPatience: Interceptor = (next) => async (req) => {
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

/**
 * What the widget needs (AuthService and ChatService), sharing one transport and one credential.
 */
export class FrontdeskClient {
  readonly auth: Client<typeof AuthService>;
  readonly chat: Client<typeof ChatService>;
  readonly transport: Transport;
  token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: FrontdeskOptions) {
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.transport = createTransport(options.baseUrl.replace(/\/+$/, ""), () => this.token, { fetch: options.fetch });
    this.auth = createClient(AuthService, this.transport);
    this.chat = createClient(ChatService, this.transport);
  }

  /** A widget visitor's session from the tenant's public widget key; later calls carry its token. */
  async createVisitorSession(
    widgetKey: string,
    extra: { previousToken?: string; identity?: MessageInitShape<typeof CustomerIdentitySchema> } = {},
  ): Promise<CreateVisitorSessionResponse> {
    const session = await this.auth.createVisitorSession({ ...extra, widgetKey }, { timeoutMs: this.timeoutMs });
    this.token = session.token;
    return session;
  }

  /** Starts a conversation and returns its id. */
  async startConversation(attributes: Record<string, string> = {}): Promise<string> {
    const { conversation } = await this.chat.startConversation({ attributes }, { timeoutMs: this.timeoutMs });
    if (!conversation) throw new ConnectError("the gateway returned no conversation", Code.Internal);
    return conversation.id;
  }

  /**
   * Live events of one conversation: the current status first, then typing, token deltas,
   * final messages, handoff, agent joined. With `afterMessageId` the stored messages after it
   * come first (reconnecting without gaps). End it with `signal` (or by leaving the loop).
   * `../api/live` keeps such a stream open, reconnecting.
   */
  streamEvents(conversationId: string, options: { afterMessageId?: string; signal?: AbortSignal } = {}):
    AsyncIterable<ConversationEvent> {
    return this.chat.streamEvents({ conversationId, afterMessageId: options.afterMessageId ?? "" },
                                  { signal: options.signal });
  }
}

export interface FrontdeskOptions {
  /** Where the gateway serves gRPC-web, e.g. "http://127.0.0.1:8080" or "https://support.example.com". */
  baseUrl: string;
  /** A credential to start with (visitor or operator token, or API key); createVisitorSession sets one. */
  token?: string;
  /** Default deadline of unary calls, sent as grpc-timeout (streams have none). */
  timeoutMs?: number;
  /** fetch to use (tests, service workers); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

// -- failures --------------------------------------------------------------------------------

/** The gRPC status of any error (Unknown for non-gRPC errors). */
export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

/** True when the call failed because it was aborted by us (AbortController), not by the server. */
export function isAbort(err: unknown): boolean {
  if (err instanceof DOMException && err.name === "AbortError") return true;
  return err instanceof ConnectError && err.code === Code.Canceled;
}

/** Seconds to wait before retrying a rate-limited call (RESOURCE_EXHAUSTED + retry-after), else undefined. */
export function retryAfterSeconds(err: unknown): number | undefined {
  const e = ConnectError.from(err);
  if (e.code !== Code.ResourceExhausted) return undefined;
  const value = Number.parseFloat(e.metadata.get("retry-after") ?? "");
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Who reads the sentence: a visitor in the widget (plain words; the server's own words where
 * they were written for people), or an operator in the admin panel (the kind of failure, then
 * the server's detail).
 */
export type Audience = "visitor" | "operator";

// How a sentence is made: a string as it is; `said`: the server's words when it wrote some
// (INVALID_ARGUMENT, NOT_FOUND, ...: written for people), else this; `lead`: this, then
// ": <the server's detail>." when there is one.
type Words = string | { said: string } | { lead: string };

const UNREACHABLE = "We could not reach the server. Check your connection; we will keep trying.";
const NOT_ACCEPTED = { said: "That could not be accepted." };
const TOO_SLOW = "The server took too long to answer. Please try again.";

/** The one table: per gRPC status, [what a visitor reads, what an operator reads]; none: DEFAULT's. */
const WORDS: Partial<Record<Code, [visitor: Words | undefined, operator?: Words]>> = {
  [Code.InvalidArgument]: [NOT_ACCEPTED, { lead: "Please check what you entered" }],
  [Code.FailedPrecondition]: [NOT_ACCEPTED, { lead: "This cannot be done right now" }],
  [Code.OutOfRange]: [NOT_ACCEPTED],
  [Code.AlreadyExists]: [NOT_ACCEPTED, { lead: "That already exists" }],
  [Code.NotFound]: [{ said: "That no longer exists." }, { lead: "Not found (it may have been deleted)" }],
  [Code.PermissionDenied]: ["You are not allowed to do that.", { lead: "Your role does not allow this" }],
  [Code.Unauthenticated]: ["Your session has expired. Please sign in again.",
                           { lead: "You are not signed in, or your session has ended" }],
  [Code.ResourceExhausted]: ["Too many requests right now. Please wait a moment and try again.",
                             { lead: "Too many requests or a limit was reached" }],
  [Code.DeadlineExceeded]: [TOO_SLOW, TOO_SLOW],
  [Code.Unavailable]: [UNREACHABLE, "The service is temporarily unavailable. Please try again in a moment."],
  [Code.Canceled]: [UNREACHABLE, "The request was cancelled."],
  [Code.Aborted]: [UNREACHABLE],
  [Code.Unimplemented]: [undefined, "This server does not offer this feature (yet)."],
};

const DEFAULT: Record<Audience, (code: Code) => Words> = {
  visitor: () => "Something went wrong on our side. Please try again in a moment.",
  operator: (code) => ({ lead: `Something went wrong on the server (${Code[code] ?? code})` }),
};

const NETWORK: Record<Audience, string> = {
  visitor: UNREACHABLE,
  operator: "Cannot reach the frontdesk server. Check the connection and try again.",
};

/**
 * A human sentence for any failure of a call (or of the network under it), for `audience`:
 * never a stack trace or a blank screen.
 */
export function describeError(err: unknown, audience: Audience): string {
  const e = ConnectError.from(err);
  if (isNetworkFailure(e)) return NETWORK[audience];
  const wait = retryAfterSeconds(e);
  if (audience === "operator" && wait !== undefined) return `Too many requests; please wait ${Math.ceil(wait)} s and try again.`;
  const words = WORDS[e.code]?.[audience === "visitor" ? 0 : 1] ?? DEFAULT[audience](e.code);
  if (typeof words === "string") return words;
  if ("said" in words) {
    const said = e.rawMessage.trim();
    return said ? capitalize(said.length > 300 ? `${said.slice(0, 300)}…` : said) : words.said;
  }
  const detail = capitalize(e.rawMessage.trim().replace(/[.\s]+$/, ""));
  return detail ? `${words.lead}: ${detail}.` : `${words.lead}.`;
}

/** fetch() itself failed (offline, refused, reset): connect reports it as UNKNOWN with the TypeError as cause. */
function isNetworkFailure(e: ConnectError): boolean {
  if (e.code !== Code.Unknown) return false;
  return e.cause instanceof TypeError || /failed to fetch|networkerror|load failed|network error/i.test(e.rawMessage);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
