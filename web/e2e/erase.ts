// A customer's erasure from the admin panel in Chromium against the real mesh (tests/web/
// test_erase.py runs it): a visitor asks; the owner opens that conversation, presses "Erase
// customer's data", confirms, and lands on the conversations list, which says what went and no
// longer lists the conversation (another customer's still is). The test then checks over gRPC that nothing of it is left.

import { FrontdeskClient } from "../src/api/client";
import { check, env, launch, newPage, run, shot, signInToAdmin } from "./lib";

const QUESTION = "Please delete everything you have about me, order 5150";

run(async () => {
  const visitor = new FrontdeskClient({ baseUrl: env.webUrl });
  await visitor.createVisitorSession(env.widgetKey);
  const conversationId = await visitor.startConversation({ page: "https://shop.example/privacy" });
  await visitor.chat.sendMessage({ conversationId, text: QUESTION });
  const someoneElse = new FrontdeskClient({ baseUrl: env.webUrl });
  await someoneElse.createVisitorSession(env.widgetKey);
  const kept = await someoneElse.startConversation({ page: "https://shop.example/" });
  await someoneElse.chat.sendMessage({ conversationId: kept, text: "Do you ship to Norway?" });

  const browser = await launch();
  const { page, errors } = await newPage(browser);
  await signInToAdmin(page);
  await page.getByRole("heading", { level: 1, name: "System status" }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Conversations" }).click();
  const row = page.locator(`[data-conversation="${conversationId}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole("link").click();
  await page.getByRole("heading", { level: 1, name: "Conversation" }).waitFor();
  await page.getByText(QUESTION).first().waitFor();

  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await page.getByRole("button", { name: "Erase customer's data" }).click();
  const notice = page.getByText("The customer's data was erased");
  await notice.waitFor({ timeout: 60_000 });
  const said = (await notice.innerText()).replace(/\s+/g, " ").trim();
  await shot(page, "erase-done");
  await page.getByRole("heading", { level: 1, name: "Conversations" }).waitFor();
  await page.locator(`[data-conversation="${kept}"]`).waitFor({ timeout: 30_000 }); // the list has loaded
  const stillListed = await page.locator(`[data-conversation="${conversationId}"]`).count();
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  return { conversationId, visitorToken: visitor.token, asked, said, stillListed, url: page.url() };
});
