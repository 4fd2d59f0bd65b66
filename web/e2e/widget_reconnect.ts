// Bad input for the widget: the browser goes offline while the conversation moves on (a question
// asked and answered through the API meanwhile), a send fails at the network, and the stored
// session is unusable. The widget must catch up without duplicates, say what failed in words,
// and replace the session without bothering the visitor. Run by tests/web/test_widget.py.

import type { Page } from "playwright-core";

import { FrontdeskClient } from "../src/api/client";
import { ask, check, env, launch, newPage, openWidget, run, waitForAnswer } from "./lib";

const storageKey = () => `frontdesk.widget.${env.widgetKey}`;

async function messageIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid^="fd-message-"][data-id]').evaluateAll((els) => els.map((e) => e.getAttribute("data-id") ?? ""));
}

async function saved(page: Page): Promise<{ token?: string; conversationId?: string }> {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? "{}"), storageKey());
}

/** Asks through the API (Node's own fetch: the browser's offline mode does not apply) and waits for the stored answer. */
async function askElsewhere(token: string, conversationId: string, text: string): Promise<string> {
  const client = new FrontdeskClient({ baseUrl: env.webUrl, token });
  const abort = new AbortController();
  try {
    const events = client.streamEvents(conversationId, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await events.next();  // the current status: subscribed
    check(!first.done, "the stream ended at once");
    const sent = await client.chat.sendMessage({ conversationId, text });
    for (;;) {
      const next = await events.next();
      check(!next.done, "the stream ended before the answer");
      const ev = next.value;
      if (ev.kind.case === "message" && ev.kind.value.inReplyTo === sent.message?.id) return ev.kind.value.id;
      check(ev.kind.case !== "handoff", "the question was handed off");
    }
  } finally {
    abort.abort();
  }
}

run(async () => {
  const browser = await launch();
  const { context, page, errors } = await newPage(browser);
  await openWidget(page);
  await ask(page, "How long does delivery take?");
  check(await waitForAnswer(page, 0) !== "handoff", "the first question was handed off");
  const beforeOffline = await messageIds(page);
  const { token, conversationId } = await saved(page);
  check(token && conversationId, "no session or conversation in localStorage");

  // offline: the widget drops its stream and says it is reconnecting
  await context.setOffline(true);
  await page.getByTestId("fd-connection").waitFor();
  const reconnectingShown = (await page.getByTestId("fd-connection").innerText()).includes("Reconnecting");
  const answeredId = await askElsewhere(token, conversationId, "How can I track my order?");
  await context.setOffline(false);
  // back online: the missed question and answer appear, once each
  await page.locator(`[data-id="${answeredId}"]`).waitFor();
  await page.getByTestId("fd-connection").waitFor({ state: "detached" });
  const afterReconnect = await messageIds(page);
  const caughtUpAnswer = (await page.locator(`[data-id="${answeredId}"]`).getByTestId("fd-text").innerText()).trim();

  // a send that fails at the network: a sentence and a retry; the retry stores it once
  const sendPath = "**/frontdesk.chat.v1.ChatService/SendMessage";
  await page.route(sendPath, (route) => route.abort("connectionrefused"));
  await page.getByTestId("fd-input").fill("When do I get my refund?");
  await page.getByTestId("fd-send").click();
  await page.getByTestId("fd-send-error").waitFor();
  const sendError = (await page.getByTestId("fd-send-error").innerText()).trim();
  await page.unroute(sendPath);
  await page.getByTestId("fd-retry").click();
  await page.getByTestId("fd-send-error").waitFor({ state: "detached" });
  const refundAnswer = await waitForAnswer(page, 2);
  const refundQuestions = await page.locator('[data-testid="fd-message-customer"]', { hasText: "When do I get my refund?" }).count();
  const afterRetry = await messageIds(page);

  // the stored token is unusable (expired, or signed with a rotated secret): a new session, quietly
  await page.evaluate((key) => {
    const s = JSON.parse(localStorage.getItem(key) ?? "{}");
    localStorage.setItem(key, JSON.stringify({ ...s, token: "not-a-valid-token", expiresAt: Date.now() + 7 * 86400_000 }));
  }, storageKey());
  await page.reload();
  await page.getByTestId("fd-panel").waitFor();
  await page.getByTestId("fd-greeting").waitFor();
  await ask(page, "How long does delivery take?");
  const answerAfterBadToken = await waitForAnswer(page, 0);
  const errorAfterBadToken = await page.getByTestId("fd-error").count() ? await page.getByTestId("fd-error").innerText() : "";
  const renewed = await saved(page);
  check(renewed.token && renewed.token !== "not-a-valid-token", "the session was not renewed");

  // a file attached to a message: uploaded through the chat API, shown on the stored message
  await page.getByTestId("fd-file").setInputFiles({ name: "order-note.txt", mimeType: "text/plain",
                                                     buffer: Buffer.from("Order 1234: please gift-wrap it.\n") });
  await ask(page, "Please see my note");
  const attachment = (await page.locator('[data-testid="fd-message-customer"][data-id]').last()
    .getByTestId("fd-attachment").innerText()).trim();

  return {
    attachment,
    conversationId, beforeOffline, reconnectingShown, afterReconnect, caughtUpAnswer, sendError, refundAnswer,
    refundQuestions, afterRetry, answerAfterBadToken, errorAfterBadToken, pageErrors: errors,
  };
});
