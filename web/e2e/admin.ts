// The admin panel in Chromium against the real mesh (tests/web/test_admin.py runs it).
// A visitor (the generated ChatService client, as the widget uses it) starts a conversation;
// the operator signs in (after a wrong password), sees the system status and the
// conversation, watches it live, takes over and replies; the visitor's own event stream
// receives the agent's reply. Then each page once (screenshots), and a refused and an
// expired token both lead back to the sign-in page with a message.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import type { Page } from "playwright-core";

import { FrontdeskClient, type ConversationEvent } from "../src/api/client";
import { Role } from "../src/gen/frontdesk/common/v1/common_pb";
import { check, env, launch, newPage, run, shot, until } from "./lib";

const SESSION_KEY = "frontdesk.admin.session";
const FIRST_QUESTION = "How can I track my order?"; // in the demo FAQ: the AI answers
// markup a visitor might type: it must appear as these characters, never as elements
const SECOND_QUESTION = 'Where is my order? <img src=x onerror="window.__pwned=1"><b>urgent</b>';
const AGENT_REPLY = "Hi, this is Sam from support <i>here</i>. Your order ships today.";

/** The whole page (long pages: analytics, knowledge), into FRONTDESK_SCREENSHOTS. */
async function fullShot(page: Page, name: string) {
  if (!env.screenshots) return;
  mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: join(env.screenshots, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, password: string) {
  await page.getByLabel("Organisation").fill(env.tenant);
  await page.getByLabel("Email").fill(env.operatorEmail);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function nav(page: Page, label: string, heading: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

let current: Page | undefined; // the page to photograph when a step fails

run(async () => {
  try {
    return await scenario();
  } catch (err) {
    if (current) await shot(current, "admin-failure").catch(() => "");
    throw err;
  }
});

async function scenario() {
  // -- the visitor: a conversation with a first question, through ChatService -----------
  const visitor = new FrontdeskClient({ baseUrl: env.webUrl });
  await visitor.createVisitorSession(env.widgetKey);
  const conversationId = await visitor.startConversation({ page: "https://shop.example/orders" });
  const visitorEvents: ConversationEvent[] = [];
  const stop = new AbortController();
  void (async () => {
    try {
      for await (const ev of visitor.streamEvents(conversationId, { signal: stop.signal })) visitorEvents.push(ev);
    } catch { /* ended by stop.abort() */ }
  })();
  const asked = await visitor.chat.sendMessage({ conversationId, text: FIRST_QUESTION });
  // settled before the operator looks: the answer (or a handoff notice) is stored
  await until("the answer to the first question", () => visitorEvents.find(
    (e) => e.kind.case === "message" && e.kind.value.role !== Role.CUSTOMER && e.kind.value.id > asked.message!.id), 120_000);

  const browser = await launch();
  const { page, errors } = await newPage(browser);
  current = page;
  page.on("dialog", (d) => void d.accept()); // confirm() of delete / revoke

  // -- sign-in: a wrong password first ----------------------------------------------------
  await page.goto(env.adminUrl);
  await page.getByRole("heading", { name: "frontdesk admin" }).waitFor();
  await signIn(page, "not-the-password");
  const refused = page.getByRole("alert");
  await refused.waitFor();
  const wrongPasswordMessage = (await refused.innerText()).trim();
  check(/not correct/.test(wrongPasswordMessage), `wrong password message: ${wrongPasswordMessage}`);
  await shot(page, "admin-login");
  await signIn(page, env.operatorPassword);

  // -- system status ------------------------------------------------------------------------
  await page.getByRole("heading", { level: 1, name: "System status" }).waitFor();
  const conversationRow = page.locator('[data-service="conversation"]');
  await conversationRow.getByText("SERVING").waitFor();
  await page.locator('[data-service="gateway"]').getByText("SERVING").waitFor();
  const services = await page.locator("[data-service]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-service")));
  const queues = await page.locator("[data-queue]").count();
  await shot(page, "admin-status");

  // -- the conversation, in the list and live -------------------------------------------------
  await nav(page, "Conversations", "Conversations");
  const row = page.locator(`[data-conversation="${conversationId}"]`);
  await row.waitFor({ timeout: 30_000 }); // the list refreshes itself
  await shot(page, "admin-conversations");
  await row.getByRole("link").click();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await page.getByText("live", { exact: true }).waitFor();
  const transcript = page.getByTestId("transcript");
  await transcript.locator('[data-role="Customer"] [data-testid="message-text"]', { hasText: FIRST_QUESTION }).waitFor();

  // a message sent now arrives through the live stream (no reload), and so does what follows
  // it (the AI's answer, or the handoff notice)
  const before = await transcript.locator("[data-message]").count();
  await visitor.chat.sendMessage({ conversationId, text: SECOND_QUESTION });
  const second = transcript.locator('[data-role="Customer"] [data-testid="message-text"]', { hasText: "Where is my order?" });
  await second.waitFor();
  await transcript.locator("[data-message]").nth(before + 1).waitFor({ timeout: 120_000 });
  const liveRoles = await transcript.locator("[data-message]").evaluateAll((els) => els.map((e) => e.getAttribute("data-role")));
  const secondText = await second.innerText();
  check(secondText === SECOND_QUESTION, `the visitor's text is shown as typed, got ${JSON.stringify(secondText)}`);
  const injected = await transcript.locator("img, b").count();
  check(injected === 0, "markup in a message became elements");
  check(!(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)), "a message ran script");

  // -- takeover and the agent's reply ------------------------------------------------------
  await page.getByRole("button", { name: "Take over" }).click();
  await page.getByTestId("conversation-status").getByText("Operator handling").waitFor();
  await page.getByLabel("Reply to the customer").fill(AGENT_REPLY);
  await page.getByRole("button", { name: "Send" }).click();
  await transcript.locator('[data-role="Agent"] [data-testid="message-text"]', { hasText: "Sam from support" }).waitFor();
  await shot(page, "admin-conversation");
  // the AI's tool calls: a list, "none", or "not recorded here" (never an error or a blank)
  await page.getByRole("button", { name: "Show" }).click();
  const toolCalls = page.getByText(/called no tools|does not record|ms ·/).first();
  await toolCalls.waitFor();

  const agentMessage = await until("the agent's reply on the visitor's stream", () => {
    const ev = visitorEvents.find((e) => e.kind.case === "message" && e.kind.value.role === Role.AGENT);
    return ev?.kind.case === "message" ? ev.kind.value : undefined;
  });
  const joined = visitorEvents.some((e) => e.kind.case === "agentJoined");
  stop.abort();

  // a deep link (reload inside the app) is served by the gateway's SPA fallback
  await page.reload();
  await page.getByTestId("conversation-status").getByText("Operator handling").waitFor();

  // -- the other pages -------------------------------------------------------------------------
  await nav(page, "Knowledge base", "Knowledge base");
  await page.getByRole("heading", { name: "Entries" }).waitFor();
  await page.locator("[data-entry]").first().or(page.getByText("The knowledge base is empty")).waitFor();
  const csv = "id,question,answer\ne2e-returns,How do I return an item?,Send it back within 30 days.\nbroken-line-without-answer\n";
  await page.locator('input[type="file"]').setInputFiles({ name: "faq.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByRole("button", { name: "Upload" }).click();
  const ingestion = page.getByTestId("ingestion");
  await ingestion.getByText("done").waitFor();
  const ingestionText = (await ingestion.innerText()).replace(/\s+/g, " ");
  check(/1 line\(s\) rejected/.test(ingestionText), `the bad line is reported: ${ingestionText}`);
  const uploaded = page.locator('[data-entry="e2e-returns"]');
  await uploaded.waitFor();
  // the tenant tests how the AI answers from its published knowledge base
  const cases = [
    '{"turns": ["hello there"], "expect": "reply", "category": "small_talk"}',
    '{"turns": ["Wie setze ich mein Passwort zurück?"], "expect": "reset-password", "category": "language"}',
    '{"turns": ["what is the capital of France?"], "expect": "handoff", "category": "out_of_scope"}',
  ].join("\n");
  await page.getByLabel("Test conversations").fill(cases);
  await page.getByRole("button", { name: "Run the test" }).click();
  const evaluation = page.getByTestId("evaluation-report");
  await evaluation.waitFor({ timeout: 120_000 });
  const evaluated = (await evaluation.innerText()).replace(/\s+/g, " ");
  check(/^3 cases: 100\.0% answered right, 0\.0% answered wrong/.test(evaluated), `evaluation report: ${evaluated}`);
  check(await evaluation.locator("[data-category]").count() === 3, "one row per category");
  await fullShot(page, "admin-knowledge");
  await uploaded.getByRole("button", { name: "Delete" }).click();
  await uploaded.waitFor({ state: "detached" });

  await nav(page, "AI settings", "AI settings");
  const temperature = page.getByLabel("Temperature");
  await temperature.waitFor();
  await temperature.fill("0.3");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Saved.", { exact: true }).waitFor();
  await page.getByRole("heading", { name: "HTTP tools" }).waitFor();
  await fullShot(page, "admin-ai");

  await nav(page, "API keys & operators", "API keys & operators");
  await page.getByLabel("Name", { exact: true }).first().fill("e2e integration");
  await page.getByRole("button", { name: "Create key" }).click();
  const plaintext = (await page.getByTestId("new-api-key").innerText()).trim();
  check(plaintext.length >= 20, "the new key's plaintext is shown once");
  await page.locator(`[data-operator="${env.operatorEmail}"]`).waitFor();
  await fullShot(page, "admin-access");
  const keyRow = page.locator("[data-key]", { hasText: "e2e integration" });
  await keyRow.getByRole("button", { name: "Revoke" }).click();
  await keyRow.getByText(/revoked/).waitFor();
  // auto-resolve: set, kept after a reload, set back to never (the demo tenant is shared)
  const idle = page.getByLabel("Resolve idle conversations");
  const idleIs = (value: string) => page.waitForFunction((v) =>
    (document.querySelector("select[aria-label='Resolve idle conversations']") as HTMLSelectElement | null)?.value === v, value);
  await idle.selectOption({ label: "after 1 day" });
  await idleIs("1440");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "API keys & operators" }).waitFor();
  await idleIs("1440");
  const autoResolveKept = await idle.inputValue();
  await idle.selectOption({ label: "never" });
  await idleIs("0");

  await nav(page, "Analytics", "Analytics");
  const tiles = page.locator('[data-tile="Questions"]');
  const unavailable = page.getByText("The analytics service is not available");
  await tiles.or(unavailable).first().waitFor({ timeout: 30_000 });
  const analytics = (await tiles.count()) > 0 ? (await tiles.innerText()).replace(/\s+/g, " ") : "unavailable";
  await fullShot(page, "admin-analytics");

  // -- sessions the gateway refuses ------------------------------------------------------------
  const stored = await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY);
  check(stored, "the session is kept in sessionStorage");
  const withToken = async (token: string, expiresAtMs: number) => {
    await page.evaluate(([k, value]) => sessionStorage.setItem(k!, value!),
                        [SESSION_KEY, JSON.stringify({ ...JSON.parse(stored), token, expiresAtMs })]);
    await page.goto(env.adminUrl);
    await page.getByRole("heading", { name: "frontdesk admin" }).waitFor();
    return (await page.getByRole("status").innerText()).trim();
  };
  const inAnHour = Date.now() + 3600_000;
  const invalidMessage = await withToken("not-a-token", inAnHour);
  check(/session has ended/i.test(invalidMessage), `invalid token message: ${invalidMessage}`);
  const expiredMessage = await withToken(process.env.FRONTDESK_EXPIRED_TOKEN ?? "", inAnHour);
  check(/expired/i.test(expiredMessage), `expired token message: ${expiredMessage}`);
  await shot(page, "admin-session-expired");
  // a session past its expiry never reaches the server: straight to sign-in
  const pastMessage = await withToken(JSON.parse(stored).token, Date.now() - 1000);
  check(/expired/i.test(pastMessage), `past expiry message: ${pastMessage}`);
  check(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY) === null, "the refused session is forgotten");

  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  return {
    conversationId, visitorToken: visitor.token, wrongPasswordMessage, services, queues, liveRoles,
    agentMessage: { id: agentMessage.id, text: agentMessage.text, role: agentMessage.role }, joined,
    ingestion: ingestionText, analytics, invalidMessage, expiredMessage, pastMessage, autoResolveKept,
  };
}
