// The browser's way into frontdesk: typed clients generated from ../protos (src/gen),
// talking gRPC-web to the gateway (its built-in translator in the embedded default, or
// Envoy's grpc_web filter in production). No API type here is written by hand.

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

/** A gRPC-web transport to `baseUrl` that sends `authorization: Bearer <token>` when `token()` has one. */
export function createTransport(baseUrl: string, token: () => string | undefined,
                                fetchImpl?: typeof globalThis.fetch): Transport {
  const bearer: Interceptor = (next) => async (req) => {
    const t = token();
    if (t && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${t}`);
    return next(req);
  };
  return createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true, // application/grpc-web+proto: what the gateway and Envoy serve
    interceptors: [bearer],
    // connect-web binds the global fetch itself; a custom one is wrapped the same way
    ...(fetchImpl ? { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetchImpl(input, init) } : {}),
  });
}

/**
 * What the widget needs (AuthService and ChatService), sharing one transport and one credential.
 * The admin panel adds `createAdminClient` (./admin) on the same transport; the widget bundle
 * never imports it.
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
    this.transport = createTransport(options.baseUrl.replace(/\/+$/, ""), () => this.token, options.fetch);
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
   */
  streamEvents(conversationId: string, options: { afterMessageId?: string; signal?: AbortSignal } = {}):
    AsyncIterable<ConversationEvent> {
    return this.chat.streamEvents({ conversationId, afterMessageId: options.afterMessageId ?? "" },
                                  { signal: options.signal });
  }
}

/** Seconds to wait before retrying a rate-limited call (RESOURCE_EXHAUSTED + retry-after), else undefined. */
export function retryAfterSeconds(err: unknown): number | undefined {
  const e = ConnectError.from(err);
  if (e.code !== Code.ResourceExhausted) return undefined;
  const value = Number.parseFloat(e.metadata.get("retry-after") ?? "");
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
