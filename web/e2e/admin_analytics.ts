// The admin panel's analytics in Chromium against the real mesh (tests/web/test_admin_analytics.py
// runs it after some activity of the demo tenant's customers, once analytics has counted it).
// The operator signs in and opens Analytics; the script reads what the page SHOWS (tiles,
// cost per backend, most negative conversations) and the sentiment badges of the
// conversation list, and prints them; the test compares them with the AnalyticsService RPCs.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import type { Page } from "playwright-core";

import { check, env, launch, newPage, run } from "./lib";

async function nav(page: Page, label: string, heading: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).innerText()).replace(/\s+/g, " ").trim();
}

run(async () => {
  const watched = (process.env.FRONTDESK_WATCH_CONVERSATIONS ?? "").split(",").filter(Boolean);
  const browser = await launch();
  const { page, errors } = await newPage(browser, { viewport: { width: 1440, height: 900 } });
  await page.goto(env.adminUrl);
  await page.getByLabel("Organisation").fill(env.tenant);
  await page.getByLabel("Email").fill(env.operatorEmail);
  await page.getByLabel("Password").fill(env.operatorPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();

  // -- the analytics page: tiles, backends, most negative conversations -----------------
  await nav(page, "Analytics", "Analytics");
  await page.locator('[data-tile="Questions"]').waitFor({ timeout: 30_000 });
  const tiles: Record<string, string> = {};
  for (const tile of await page.locator("[data-tile]").all()) {
    const label = (await tile.getAttribute("data-tile")) ?? "";
    tiles[label] = (await tile.locator("p").nth(1).innerText()).trim();
  }
  const backends: Record<string, string[]> = {};
  for (const row of await page.locator("[data-backend]").all()) {
    const cells = await row.locator("td").allInnerTexts();
    backends[(await row.getAttribute("data-backend")) ?? ""] = cells.map((c) => c.trim());
  }
  // the negative-conversations table loads on its own
  await page.locator("[data-negative-conversation]").first().waitFor({ timeout: 30_000 });
  const negative: { id: string; label: string; badge: string }[] = [];
  for (const row of await page.locator("[data-negative-conversation]").all()) {
    negative.push({
      id: (await row.getAttribute("data-negative-conversation")) ?? "",
      label: (await row.locator("[data-sentiment]").getAttribute("data-sentiment")) ?? "",
      badge: (await row.locator("[data-sentiment]").innerText()).trim(),
    });
  }
  const negativeTotal = await textOf(page, "text=/conversation\\(s\\) with customer messages/");
  if (env.screenshots) {
    mkdirSync(env.screenshots, { recursive: true });
    await page.screenshot({ path: join(env.screenshots, "admin-analytics.png"), fullPage: true });
  }

  // -- the conversation list: a sentiment badge per conversation -------------------------
  await nav(page, "Conversations", "Conversations");
  const badges: Record<string, string> = {};
  for (const id of watched) {
    const row = page.locator(`[data-conversation="${id}"]`);
    await row.waitFor({ timeout: 30_000 });
    const badge = row.locator("[data-sentiment]");
    await badge.or(row.getByText("–", { exact: true })).first().waitFor();
    badges[id] = (await badge.count()) ? `${await badge.getAttribute("data-sentiment")} ${(await badge.innerText()).trim()}` : "";
  }
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  return { tiles, backends, negative, negativeTotal, badges };
});
