// The operator's workspace in Chromium against the real mesh (tests/web/test_workspace.py runs it):
// the owner saves a reply (/refund, with variables) on the saved-replies page; a visitor
// asks; the operator opens that conversation, writes a private note, takes over, reads the
// copilot's summary and inserts a suggested reply, types
// "/ref", picks the saved reply (their name filled in, the customer's left to edit), edits
// and sends it. The visitor's own stream gets the reply and never the note; after a reload
// the note is still on the conversation page; a search for the customer's words finds and
// opens the conversation.

import type { Page } from "playwright-core";

import { FrontdeskClient, type ConversationEvent } from "../src/api/client";
import { Role } from "../src/gen/frontdesk/common/v1/common_pb";
import { check, env, launch, newPage, run, shot, signInToAdmin, until } from "./lib";

const QUESTION = "I would like my money back for order 1234";
const NOTE = "Order 1234 was returned on Monday; refund approved by the owner";
const SAVED = "Hi {customer_name}, this is {agent_name}: your refund is on its way.";

async function nav(page: Page, label: string, heading: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

run(async () => {
  const visitor = new FrontdeskClient({ baseUrl: env.webUrl });
  await visitor.createVisitorSession(env.widgetKey);
  const conversationId = await visitor.startConversation({ page: "https://shop.example/orders" });
  const events: ConversationEvent[] = [];
  const stop = new AbortController();
  void (async () => {
    try {
      for await (const ev of visitor.streamEvents(conversationId, { signal: stop.signal })) events.push(ev);
    } catch { /* ended by stop.abort() */ }
  })();
  const asked = await visitor.chat.sendMessage({ conversationId, text: QUESTION });
  await until("the AI's answer or handoff", () => events.find(
    (e) => e.kind.case === "message" && e.kind.value.role !== Role.CUSTOMER && e.kind.value.id > asked.message!.id), 120_000);

  const browser = await launch();
  const { page, errors } = await newPage(browser);
  await signInToAdmin(page);
  await page.getByRole("heading", { level: 1, name: "System status" }).waitFor();

  // -- a saved reply ----------------------------------------------------------------------------
  await nav(page, "Saved replies", "Saved replies");
  await page.getByLabel("Shortcut").fill("/refund");
  await page.getByLabel("Title").fill("Refund on its way");
  await page.getByRole("textbox", { name: /^Reply/ }).fill(SAVED);
  await page.getByRole("button", { name: "Save reply" }).click();
  const savedRow = page.locator('[data-reply="refund"]');
  await savedRow.waitFor();
  const savedRowText = (await savedRow.innerText()).replace(/\s+/g, " ").trim();
  await shot(page, "workspace-saved-replies");

  // -- the conversation: a note, then the saved reply ----------------------------------------------
  await nav(page, "Conversations", "Conversations");
  const row = page.locator(`[data-conversation="${conversationId}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole("link").click();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await page.getByLabel("Add a note").fill(NOTE);
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByTestId("notes").getByText(NOTE, { exact: true }).waitFor();

  await page.getByRole("button", { name: "Take over" }).click();
  await page.getByTestId("conversation-status").getByText("Operator handling").waitFor();
  // the copilot: the summary quotes the customer (with the order number), a suggestion is one click away
  const summary = page.getByTestId("summary");
  await summary.getByText(QUESTION, { exact: true }).waitFor();
  await summary.getByText("1234", { exact: true }).waitFor();
  const reply = page.getByLabel("Reply to the customer");
  await page.getByTestId("suggestions").locator("li").first().waitFor();
  // the policy is unsure about "my money back for order 1234" (it handed over): of its candidates
  // the operator picks the refund entry
  const refund = page.getByTestId("suggestions").locator("li").filter({ hasText: /refund/i });
  const suggestion = (await refund.count()) ? refund.first() : page.getByTestId("suggestions").locator("li").first();
  await suggestion.getByRole("button", { name: "Insert" }).click();
  const suggested = await reply.inputValue();
  check(suggested.length > 0 && (await suggestion.innerText()).includes(suggested.split("\n")[0]!),
        `the suggestion was inserted (${suggested})`);
  await shot(page, "workspace-copilot");
  await reply.fill("/ref");
  const saved = page.getByTestId("canned-suggestions").getByRole("button").filter({ hasText: "/refund" });
  await saved.waitFor();
  await saved.click();
  const inserted = await reply.inputValue();
  const sent = inserted.replace("{customer_name}", "Alex");
  await reply.fill(sent);
  await shot(page, "workspace-reply-from-saved");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.getByTestId("transcript").getByText(sent, { exact: true }).waitFor();

  // -- the visitor: the reply, never the note ------------------------------------------------------
  const got = await until("the operator's reply on the visitor's stream", () => events.find(
    (e) => e.kind.case === "message" && e.kind.value.role === Role.AGENT && e.kind.value.text === sent));
  const text = (v: unknown) => JSON.stringify(v ?? {}, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  const visitorSawNote = events.some((e) => text(e.kind.value).includes("refund approved"));
  stop.abort();

  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await page.getByTestId("notes").getByText(NOTE, { exact: true }).waitFor();
  await shot(page, "workspace-note");
  // -- search: the customer's words find the conversation ----------------------------------------
  await nav(page, "Conversations", "Conversations");
  await page.getByLabel("Search messages").fill("money 1234");
  await page.getByLabel("Search messages").press("Enter");
  const hit = page.locator("[data-hit]").filter({ hasText: "my money back" }).first();
  await hit.waitFor({ timeout: 30_000 });
  const searchHit = (await hit.innerText()).replace(/\s+/g, " ").trim();
  await shot(page, "workspace-search");
  await hit.getByRole("link").click();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  const openedFromSearch = page.url();
  // the owner's audit log has the saved reply and the takeover
  await nav(page, "Audit log", "Audit log");
  const audit = page.locator('[data-audit="AdminService.SaveCannedResponse"]').first();
  await audit.waitFor();
  const auditRow = await audit.innerText();
  await page.locator('[data-audit="AdminService.TakeOver"]').first().waitFor();
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  return {
    conversationId, visitorToken: visitor.token, savedRowText, inserted, sent, suggested,
    agentMessageId: got.kind.case === "message" ? got.kind.value.id : "", visitorSawNote, auditRow,
    searchHit, openedFromSearch,
  };
});
