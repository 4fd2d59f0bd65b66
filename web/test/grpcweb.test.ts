// The generated TypeScript client against a REAL gateway serving gRPC-web: the mesh and
// translator that tests/gateway/test_grpcweb_ts_client.py starts (or any running one):
//   FRONTDESK_WEB_URL=http://127.0.0.1:8080 FRONTDESK_WIDGET_KEY=wk_... npm --prefix web test

import assert from "node:assert/strict";
import { test } from "node:test";

import { Code, ConnectError, FrontdeskClient, retryAfterSeconds, type ConversationEvent } from "../src/api/client";
import { ConversationStatus, Role } from "../src/gen/frontdesk/common/v1/common_pb";
import type { TokenDelta } from "../src/gen/frontdesk/events/v1/events_pb";

const baseUrl = process.env.FRONTDESK_WEB_URL;
const widgetKey = process.env.FRONTDESK_WIDGET_KEY;
if (!baseUrl || !widgetKey) {
  throw new Error("set FRONTDESK_WEB_URL (the gateway's gRPC-web address) and FRONTDESK_WIDGET_KEY (a tenant's widget key)");
}

async function nextEvent(events: AsyncIterator<ConversationEvent>, ms = 30_000): Promise<ConversationEvent> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
  });
  try {
    const next = await Promise.race([events.next(), timeout]);
    if (next.done) throw new Error("the event stream ended");
    return next.value;
  } finally {
    clearTimeout(timer);
  }
}

test("a visitor asks a question and the reply streams back over gRPC-web", { timeout: 90_000 }, async () => {
  const client = new FrontdeskClient({ baseUrl });
  const session = await client.createVisitorSession(widgetKey);
  assert.match(session.visitorId, /^v_/);
  assert.equal(session.tenantName, "Demo Company");
  assert.ok(session.expiresAt && session.expiresAt.seconds > BigInt(Math.floor(Date.now() / 1000)));

  const who = await client.auth.whoAmI({});
  assert.equal(who.kind, "visitor");
  assert.equal(who.subject, session.visitorId);

  const conversationId = await client.startConversation({ page: "https://shop.example/help" });
  const abort = new AbortController();
  const events = client.streamEvents(conversationId, { signal: abort.signal })[Symbol.asyncIterator]();
  try {
    const first = await nextEvent(events, 15_000);
    assert.equal(first.kind.case, "statusChanged");
    assert.equal(first.conversationId, conversationId);
    if (first.kind.case === "statusChanged") assert.equal(first.kind.value.status, ConversationStatus.AI);

    const sent = await client.chat.sendMessage({ conversationId, text: "How do I reset my password?" });
    assert.ok(sent.message && sent.queuedForAi);
    const asked = sent.message.id;

    const deltas: TokenDelta[] = [];
    let reply;
    while (!reply) {
      const ev = await nextEvent(events, 60_000);
      if (ev.kind.case === "token" && ev.kind.value.inReplyTo === asked) deltas.push(ev.kind.value);
      if (ev.kind.case === "message" && ev.kind.value.inReplyTo === asked) reply = ev.kind.value;
    }
    assert.ok(deltas.length >= 2, `the reply should arrive as several token deltas, got ${deltas.length}`);
    assert.deepEqual(deltas.map((d) => d.index), deltas.map((_, i) => i));
    assert.equal(deltas.map((d) => d.text).join("").trim(), reply.text);
    assert.equal(reply.role, Role.AI);
    assert.match(reply.text, /reset my password/);
    assert.ok(deltas.every((d) => d.replyId === reply.id));

    const history = await client.chat.listMessages({ conversationId });
    assert.deepEqual(history.messages.map((m) => m.id), [asked, reply.id]);
  } finally {
    abort.abort();
  }
});

test("errors arrive as gRPC status codes with their trailers", { timeout: 60_000 }, async () => {
  const anonymous = new FrontdeskClient({ baseUrl });
  await assert.rejects(anonymous.startConversation(), (err: unknown) => {
    const e = ConnectError.from(err);
    assert.equal(e.code, Code.Unauthenticated);
    assert.match(e.rawMessage, /missing credentials/);
    assert.equal(e.metadata.get("x-frontdesk-error"), "1");
    return true;
  });

  const owner = new FrontdeskClient({ baseUrl });
  await owner.createVisitorSession(widgetKey);
  const conversationId = await owner.startConversation();
  const stranger = new FrontdeskClient({ baseUrl });
  await stranger.createVisitorSession(widgetKey);
  await assert.rejects(stranger.chat.getConversation({ conversationId }),
                       (err: unknown) => ConnectError.from(err).code === Code.NotFound);
  // a stream fails the same way, from its trailers
  await assert.rejects(async () => {
    for await (const _ of stranger.streamEvents(conversationId)) { /* nothing may arrive */ }
  }, (err: unknown) => ConnectError.from(err).code === Code.NotFound);

  let limited: number | undefined;
  for (let i = 0; i < 80 && limited === undefined; i++) {  // burst 20 at 5/s
    try {
      await stranger.auth.whoAmI({});
    } catch (err) {
      limited = retryAfterSeconds(err);
      assert.ok(limited !== undefined, `expected RESOURCE_EXHAUSTED, got ${String(err)}`);
    }
  }
  assert.ok(limited !== undefined && limited > 0, "the rate limit never answered with retry-after");
});
