// An operator's day in Chromium against the real mesh (tests/web/test_operators_day.py runs it,
// on a tenant of its own with two agents and a saved reply):
// both agents have the conversation list open, online; a customer in the widget asks for a
// person; the handoff reaches both inboxes live and is auto-assigned to one of them. That one
// opens it, reads the copilot's summary, adds a private note, takes over, sends the saved reply
// by its shortcut and resolves the conversation. The customer sees the reply (never the note)
// and the rating prompt, and rates it; the agent finds the conversation by the customer's
// words, and the analytics page shows their first response, resolution and the team's rating.

import type { Page } from "playwright-core";

import { check, env, launch, newPage, openWidget, run, shot } from "./lib";

const day = {
  tenant: process.env.FRONTDESK_DAY_TENANT ?? "",
  widgetKey: process.env.FRONTDESK_DAY_WIDGET_KEY ?? "",
  password: process.env.FRONTDESK_DAY_PASSWORD ?? "",
  agents: JSON.parse(process.env.FRONTDESK_DAY_AGENTS ?? "[]") as { id: string; name: string; email: string }[],
};
const QUESTION = "The rear brake squeaks since the service on Monday, can someone look at it?";
const NOTE = "Service was done by Sam; check the brake pads first";

async function signIn(page: Page, email: string) {
  await page.goto(env.adminUrl);
  await page.getByLabel("Organisation").fill(day.tenant);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(day.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "System status" }).waitFor();
}

async function nav(page: Page, label: string, heading: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

run(async () => {
  check(day.agents.length === 2 && day.widgetKey, "the test names a tenant with two agents");
  const browser = await launch();

  // -- two agents, online, with the inbox open ----------------------------------------------------
  const desks = [];
  for (const agent of day.agents) {
    const { page, errors } = await newPage(browser);
    await signIn(page, agent.email);
    await nav(page, "Conversations", "Conversations");
    await page.getByTestId("inbox-link").getByText("Inbox: live").waitFor();
    await page.getByLabel("Your status").selectOption({ label: "Online" }).catch(() => undefined);
    desks.push({ agent, page, errors });
  }

  // -- the customer asks for a person in the widget ---------------------------------------------------
  const { page: customer } = await newPage(browser);
  const demo = new URL(env.demoUrl);
  demo.searchParams.set("key", day.widgetKey);
  await openWidget(customer, demo.toString());
  await customer.getByTestId("fd-request-human").click();
  await customer.getByTestId("fd-input").fill(QUESTION);
  await customer.getByTestId("fd-send").click();
  await customer.locator('[data-testid="fd-message-customer"]:not([data-pending])').first().waitFor({ timeout: 30_000 });
  const conversationId = await customer.evaluate((key) =>
    (JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}") as { conversationId?: string }).conversationId ?? "",
  day.widgetKey);
  check(conversationId, "the widget started a conversation");

  // -- it reaches both inboxes live and is given to one of them -----------------------------------------
  for (const desk of desks) {
    await desk.page.locator(`tr[data-conversation="${conversationId}"]`).waitFor({ timeout: 30_000 });
  }
  await shot(desks[0]!.page, "day-inbox");
  const first = desks[0]!.page;
  await first.locator(`tr[data-conversation="${conversationId}"]`).getByRole("link").click();
  await first.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await first.waitForFunction(() =>
    (document.querySelector("select[aria-label='Assigned to']") as HTMLSelectElement | null)?.value?.startsWith("op_"),
  undefined, { timeout: 30_000 });
  const assignedTo = await first.getByLabel("Assigned to").inputValue();
  const desk = desks.find((d) => d.agent.id === assignedTo);
  check(desk, `auto-assigned to one of the two agents (${assignedTo})`);
  const page = desk.page;
  if (page !== first) {
    await page.locator(`tr[data-conversation="${conversationId}"]`).getByRole("link").click();
    await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  }

  // -- the copilot's summary, a note, the saved reply, resolved --------------------------------------------
  await page.getByTestId("summary").getByText(QUESTION, { exact: true }).waitFor();
  await page.getByLabel("Add a note").fill(NOTE);
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByTestId("notes").getByText(NOTE, { exact: true }).waitFor();
  await page.getByRole("button", { name: "Take over" }).click();
  await page.getByTestId("conversation-status").getByText("Operator handling").waitFor();
  const reply = page.getByLabel("Reply to the customer");
  await reply.fill("/bra");
  await page.getByTestId("canned-suggestions").getByRole("button").filter({ hasText: "/brakes" }).click();
  const sent = (await reply.inputValue()).replace("{customer_name}", "there");
  await reply.fill(sent);
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.getByTestId("transcript").getByText(sent, { exact: true }).waitFor();
  await shot(page, "day-reply");
  await page.getByRole("button", { name: "Resolve", exact: true }).click();
  await page.getByTestId("conversation-status").getByText("Resolved").waitFor();

  // -- the customer: the reply, the rating prompt, never the note -------------------------------------------
  const widget = customer.getByTestId("fd-message-agent").filter({ hasText: "brakes" });
  await widget.first().waitFor({ timeout: 30_000 });
  const rating = customer.getByTestId("fd-rating");
  await rating.getByText("This conversation is resolved. How did we do?").waitFor({ timeout: 30_000 });
  await customer.getByTestId("fd-rate-4").click();
  await rating.getByText("Thanks for your rating!").waitFor();
  await shot(customer, "day-customer-rated");
  const customerSawNote = (await customer.locator("body").innerText()).includes("brake pads");

  // -- found again by the customer's words --------------------------------------------------------------------
  await nav(page, "Conversations", "Conversations");
  await page.getByLabel("Search messages").fill("rear brake squeaks");
  await page.getByLabel("Search messages").press("Enter");
  await page.locator("[data-hit]").filter({ hasText: "rear brake squeaks" }).first().waitFor({ timeout: 30_000 });
  const hits = await page.locator("[data-hit]").count();

  // -- the analytics page: this agent's figures and the team's rating -------------------------------------------
  await nav(page, "Analytics", "Analytics");
  const row = page.locator(`[data-operator-stat="${assignedTo}"]`);
  const rated = page.locator('[data-tile="Satisfaction, with the team"]');
  // the events (first response, resolve, rating) reach analytics a moment later, each on its own
  const counted = async () => (await row.isVisible()) && (await rated.innerText()).includes("(1)")
    && (await row.locator("td").nth(3).innerText()).trim() === "1";
  for (let i = 0; i < 60 && !(await counted()); i++) {
    await page.waitForTimeout(1000);
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Analytics" }).waitFor();
    await page.getByTestId("team-figures").waitFor();
  }
  await row.waitFor();
  await page.getByTestId("team-figures").scrollIntoViewIfNeeded();
  // the customer who was waiting has been helped: the banner is gone
  check(await page.getByTestId("inbox-alert").count() === 0, "the waiting banner is still shown after the resolve");
  const operatorRow = (await row.innerText()).replace(/\s+/g, " ").trim();
  const teamRating = (await page.locator('[data-tile="Satisfaction, with the team"]').innerText()).replace(/\s+/g, " ");
  await shot(page, "day-analytics");
  const errors = desks.flatMap((d) => d.errors);
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  return { conversationId, assignedTo, sent, customerSawNote, hits, operatorRow, teamRating };
});
