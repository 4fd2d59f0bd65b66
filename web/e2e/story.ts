// The story, end to end in one browser, two people:
// a visitor opens the widget on the demo page, asks, watches the answer stream in and rates it;
// an operator (a second browser context: own storage, own session) signs in to the admin
// panel, finds THAT conversation in the list, opens it, takes over and replies; the visitor
// sees the agent join and the reply in the widget. Screenshots of both sides at each step
// (story-*.png). Run by tests/web/test_story.py, which checks the result against the API.

import type { Page } from "playwright-core";

import { ask, check, env, installStreamWatch, launch, newPage, openWidget, run, shot, streamedTexts, timeline,
         waitForAnswer } from "./lib";

const QUESTION = "When is customer support available?";
const AGENT_REPLY = "Hello, this is a person from the support team. Anything else I can help with?";

function saved(page: Page): Promise<{ conversationId?: string; feedback?: Record<string, boolean>; rating?: number }> {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}"), env.widgetKey);
}

run(async () => {
  const browser = await launch();

  // -- the visitor ------------------------------------------------------------------------------
  const visitor = await newPage(browser);
  const vp = visitor.page;
  await openWidget(vp);
  await installStreamWatch(vp);
  await ask(vp, QUESTION);
  const answer = await waitForAnswer(vp, 0);
  check(answer !== "handoff", "the FAQ question was handed off instead of answered");
  const streamed = await streamedTexts(vp);
  check(streamed.some((t) => t.length < answer.length && answer.startsWith(t.trim())),
        `the answer was not shown in parts (saw ${JSON.stringify(streamed)})`);
  const aiAnswer = vp.locator('[data-testid="fd-message-ai"]:not([data-streaming])').first();
  const answerId = (await aiAnswer.getAttribute("data-id")) ?? "";
  const { conversationId } = await saved(vp);
  check(conversationId, "no conversation stored by the widget");

  await aiAnswer.getByTestId("fd-thumbs-up").click();
  await vp.getByTestId("fd-rate-4").click();
  await vp.waitForFunction((key) => {
    const s = JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}");
    return s.rating === 4 && Object.values(s.feedback ?? {}).includes(true);
  }, env.widgetKey);
  await shot(vp, "story-1-visitor-answered");

  // -- the operator, in a second context ---------------------------------------------------------
  const operator = await newPage(browser);
  const op = operator.page;
  await op.goto(env.adminUrl);
  await op.getByLabel("Organisation").fill(env.tenant);
  await op.getByLabel("Email").fill(env.operatorEmail);
  await op.getByLabel("Password").fill(env.operatorPassword);
  await op.getByRole("button", { name: "Sign in" }).click();
  await op.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Conversations" }).click();
  await op.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  // THAT conversation: its row shows its id (the list refreshes itself)
  const row = op.getByRole("row").filter({ hasText: conversationId });
  await row.waitFor({ timeout: 30_000 });
  const rowText = (await row.innerText()).replace(/\s+/g, " ").trim();
  await shot(op, "story-2-operator-list");

  await row.getByRole("link").first().click();
  await op.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await op.getByText("live", { exact: true }).waitFor();
  const transcript = op.getByTestId("transcript");
  await transcript.getByText(QUESTION, { exact: true }).waitFor();
  await transcript.getByText(answer, { exact: true }).waitFor();
  const headerText = (await op.getByText(conversationId, { exact: true }).first().innerText()).trim();

  await op.getByRole("button", { name: "Take over" }).click();
  await op.getByTestId("conversation-status").getByText("Operator handling").waitFor();
  await op.getByLabel("Reply to the customer").fill(AGENT_REPLY);
  await op.getByRole("button", { name: "Send", exact: true }).click();
  await transcript.getByText(AGENT_REPLY, { exact: true }).waitFor();
  await shot(op, "story-3-operator-replied");

  // -- the visitor again: the agent joined and replied, in the widget -----------------------------
  const joined = vp.getByTestId("fd-agent-joined");
  await joined.waitFor({ timeout: 60_000 });
  const agentBubble = vp.getByTestId("fd-message-agent").filter({ hasText: AGENT_REPLY });
  await agentBubble.waitFor({ timeout: 60_000 });
  const agentMessageId = (await agentBubble.getAttribute("data-id")) ?? "";
  const agentText = (await agentBubble.getByTestId("fd-text").innerText()).trim();
  const joinedText = (await joined.innerText()).trim();
  // where the notice sits: after the AI's answer, before the agent's reply (in reading order)
  const order = await vp.getByTestId("fd-messages").evaluate((log) => Array.from(
    log.querySelectorAll('[data-testid="fd-message-ai"], [data-testid="fd-agent-joined"], [data-testid="fd-message-agent"]'))
    .map((el) => el.getAttribute("data-testid")));
  const panelHeader = (await vp.getByTestId("fd-panel").locator("header").innerText()).replace(/\s+/g, " ").trim();
  const placeholder = (await vp.getByTestId("fd-input").getAttribute("placeholder")) ?? "";
  await shot(vp, "story-4-visitor-sees-agent");

  const seen = await timeline(vp);

  // a reload keeps who is helping and where they joined (from the history, not the live event)
  await vp.reload();
  await openWidget(vp, vp.url());
  await vp.getByTestId("fd-message-agent").filter({ hasText: AGENT_REPLY }).waitFor({ timeout: 60_000 });
  await vp.getByTestId("fd-agent-joined").waitFor({ timeout: 30_000 });
  const orderAfterReload = await vp.getByTestId("fd-messages").evaluate((log) => Array.from(
    log.querySelectorAll('[data-testid="fd-message-ai"], [data-testid="fd-agent-joined"], [data-testid="fd-message-agent"]'))
    .map((el) => el.getAttribute("data-testid")));
  const headerAfterReload = (await vp.getByTestId("fd-panel").locator("header").innerText()).replace(/\s+/g, " ").trim();

  check(visitor.errors.length === 0 && operator.errors.length === 0,
        `page errors: ${[...visitor.errors, ...operator.errors].join("; ")}`);
  return {
    conversationId, answer, answerId, stored: await saved(vp), rowText, headerText, agentMessageId, agentText,
    joinedText, order, panelHeader, placeholder, seen, orderAfterReload, headerAfterReload,
  };
});
