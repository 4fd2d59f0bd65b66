// The operators' live inbox in Chromium against the real mesh (tests/web/test_inbox.py runs it):
// an operator has the conversation list open; a customer asks for a person; the list shows that
// conversation and a banner says a customer is waiting, with no reload and no polling (the page
// has none: the inbox stream tells it). Then the operator's browser goes offline, a second
// customer asks for a person meanwhile, and once back online the inbox resumes from its cursor
// and shows the second one too. From the banner to the conversation, which the operator then
// assigns on the team, snoozes and wakes again, and labels.

import type { Page } from "playwright-core";

import { FrontdeskClient } from "../src/api/client";
import { check, env, launch, newPage, run, shot, signInToAdmin } from "./lib";

async function customerAsksForAPerson(question: string): Promise<string> {
  const visitor = new FrontdeskClient({ baseUrl: env.webUrl });
  await visitor.createVisitorSession(env.widgetKey);
  const conversationId = await visitor.startConversation({ page: "https://shop.example/help" });
  // the person first, then the question: the AI (which might hand over for a reason of its
  // own, racing this) does not answer a conversation waiting for a person
  await visitor.chat.requestHuman({ conversationId, reason: "wants a person" });
  await visitor.chat.sendMessage({ conversationId, text: question });
  return conversationId;
}

async function waitingBanner(page: Page, conversationId: string) {
  const alert = page.getByTestId("inbox-alert");
  await alert.getByText("asked for a person").waitFor();
  const href = await alert.getByRole("link", { name: "Open the conversation" }).getAttribute("href");
  check(href?.includes(encodeURIComponent(conversationId)), `the banner links to ${href}, not ${conversationId}`);
}

run(async () => {
  const browser = await launch();
  const { page, errors } = await newPage(browser);
  await signInToAdmin(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Conversations" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await page.getByTestId("inbox-link").getByText("Inbox: live").waitFor();

  const first = await customerAsksForAPerson("My bike was delivered broken, I need someone");
  await waitingBanner(page, first);
  await page.locator(`tr[data-conversation="${first}"]`).waitFor();
  await shot(page, "inbox-handoff-live");

  // offline: the stream drops; what happens meanwhile comes after the cursor once back
  await page.context().setOffline(true);
  await page.getByTestId("inbox-link").getByText("Inbox: reconnecting…").waitFor();
  await page.getByRole("button", { name: "Dismiss" }).click();
  const second = await customerAsksForAPerson("Second customer: please call me back");
  await page.context().setOffline(false);
  await waitingBanner(page, second);
  await page.locator(`tr[data-conversation="${second}"]`).waitFor();
  await page.getByTestId("inbox-link").getByText("Inbox: live").waitFor();

  // one click from the banner to the conversation
  await page.getByTestId("inbox-alert").getByRole("link", { name: "Open the conversation" }).click();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await page.getByText("Second customer: please call me back").first().waitFor();
  // the operator is online (the panel said so at sign-in), so auto-assignment may have given it
  // to them already; either way they hand it to nobody, then to the first on the team list
  const owner = page.getByLabel("Assigned to");
  await owner.locator("option").nth(1).waitFor({ state: "attached" });
  await owner.selectOption("");
  await page.waitForFunction(() => (document.querySelector("select[aria-label='Assigned to']") as HTMLSelectElement | null)?.value === "");
  await owner.selectOption({ index: 1 });
  // the select shows the stored owner: it changes once AssignConversation has answered
  await page.waitForFunction(() => (document.querySelector("select[aria-label='Assigned to']") as HTMLSelectElement | null)?.value !== "");
  const assignedTo = await owner.inputValue();
  check(assignedTo !== "", "an operator was chosen");
  await page.getByTestId("conversation-status").getByText("Waiting for a person").waitFor();
  // put aside for four hours, then woken by hand: waiting for a person again
  await page.getByRole("button", { name: "Snooze", exact: true }).click();
  await page.getByTestId("conversation-status").getByText("Snoozed").waitFor();
  await page.getByText(/^Snoozed until /).waitFor();
  await page.getByRole("button", { name: "Wake up now" }).click();
  await page.getByTestId("conversation-status").getByText("Waiting for a person").waitFor();
  // labelled for the team: stored in lower case, sorted
  await page.getByLabel("Labels").fill("VIP, Callback");
  await page.getByRole("button", { name: "Save labels" }).click();
  await page.waitForFunction(() => (document.getElementById("labels") as HTMLInputElement | null)?.value === "callback, vip");
  // going offline may log a failed request; anything else on the page is a fault
  const real = errors.filter((e) => !/network|fetch|ERR_INTERNET_DISCONNECTED/i.test(e));
  check(real.length === 0, `page errors: ${real.join("; ")}`);
  return { first, second, assignedTo };
});
