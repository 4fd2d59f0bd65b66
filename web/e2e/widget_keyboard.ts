// A keyboard-only visitor: Tab reaches the launcher, Enter opens it (focus goes into the
// composer), typing and Enter send, Shift+Tab and Tab reach the answer's thumbs and the rating
// (each with a visible focus ring, each used with Enter or Space), Escape closes the panel and
// puts focus back on the launcher. Also the roles and labels assistive technology reads, and
// a citation without a URL (FRONTDESK_QUESTION's entry has none),
// which must stay text. Run by tests/web/test_widget_keyboard.py.

import type { Page } from "playwright-core";

import { check, env, launch, newPage, run, shot, waitForAnswer } from "./lib";

/** What has the focus: inside the widget's shadow root, its data-testid (or aria-label); else "page:<tag>". */
function focused(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const a = document.activeElement;
    if (a && a.shadowRoot) {
      const el = a.shadowRoot.activeElement;
      return el ? (el.getAttribute("data-testid") || el.getAttribute("aria-label") || el.tagName.toLowerCase()) : "widget";
    }
    return "page:" + (a ? a.tagName.toLowerCase() : "none");
  })()`);
}

/** The focused element's outline (the focus ring the visitor sees), e.g. "solid 2px". */
function focusRing(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const el = document.activeElement?.shadowRoot?.activeElement;
    if (!el) return "";
    const cs = getComputedStyle(el);
    return cs.outlineStyle === "none" ? "" : cs.outlineStyle + " " + cs.outlineWidth;
  })()`);
}

/** Presses `key` until `target` has the focus; returns the focus stops on the way. */
async function pressUntil(page: Page, key: string, target: string, limit = 40): Promise<string[]> {
  const path: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(key);
    const now = await focused(page);
    path.push(now);
    if (now === target) return path;
  }
  throw new Error(`${key} did not reach ${target} in ${limit} presses: ${path.join(" > ")}`);
}

function saved(page: Page): Promise<{ feedback?: Record<string, boolean>; rating?: number; conversationId?: string }> {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}"), env.widgetKey);
}

run(async () => {
  const question = process.env.FRONTDESK_QUESTION ?? "";
  check(question, "FRONTDESK_QUESTION is not set");
  const browser = await launch();
  const { page, errors } = await newPage(browser);
  await page.goto(env.demoUrl);
  const launcher = page.getByTestId("fd-launcher");
  await launcher.waitFor();

  // Tab from the top of the page to the launcher (past the page's own links and buttons)
  const toLauncher = await pressUntil(page, "Tab", "fd-launcher");
  const launcherRing = await focusRing(page);
  const launcherLabel = await launcher.getAttribute("aria-label");
  const expandedBefore = await launcher.getAttribute("aria-expanded");

  // Enter opens the panel and puts the focus into the message box
  await page.keyboard.press("Enter");
  await page.getByTestId("fd-panel").waitFor();
  await page.waitForFunction(`document.querySelector("frontdesk-widget").shadowRoot.activeElement?.dataset.testid === "fd-input"`);
  const expandedAfter = await launcher.getAttribute("aria-expanded");
  const log = page.getByRole("log");
  const logAttrs = { name: await log.getAttribute("aria-label"), live: await log.getAttribute("aria-live"),
                     testid: await log.getAttribute("data-testid") };
  const inputLabel = await page.getByLabel("Your message").getAttribute("data-testid");
  await page.getByTestId("fd-greeting").waitFor();  // the session is open: the tenant's name is known
  const dialogName = await page.getByRole("dialog").getAttribute("aria-label");

  // typed and sent with Enter
  await page.keyboard.type(question);
  await page.keyboard.press("Enter");
  await page.locator('[data-testid="fd-message-customer"][data-id]').first().waitFor({ timeout: 30_000 });
  const answer = await waitForAnswer(page, 0);
  check(answer !== "handoff", "the question was handed off instead of answered");
  const focusAfterSend = await focused(page);
  const busyAfter = await log.getAttribute("aria-busy");
  const aiAnswer = page.locator('[data-testid="fd-message-ai"]:not([data-streaming])').first();
  const answerId = (await aiAnswer.getAttribute("data-id")) ?? "";
  const citation = aiAnswer.getByTestId("fd-citation");
  const citationText = (await citation.innerText()).trim();
  const citationLinks = await citation.locator("a").count();
  const anyScriptLink = await page.evaluate(() => Array.from(
    document.querySelector("frontdesk-widget")!.shadowRoot!.querySelectorAll("a[href]"))
    .filter((a) => !/^https?:/i.test(a.getAttribute("href") ?? "")).length);

  // back from the message box to the answer's thumbs: thumbs up with Enter
  const toThumbs = await pressUntil(page, "Shift+Tab", "fd-thumbs-up");
  const thumbsRing = await focusRing(page);
  const thumbsLabel = await page.getByTestId("fd-thumbs-up").getAttribute("aria-label");
  await page.keyboard.press("Enter");
  await page.waitForFunction(([key, id]) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}")
    .feedback?.[id!] === true, [env.widgetKey, answerId]);
  const thumbsPressed = await page.getByTestId("fd-thumbs-up").getAttribute("aria-pressed");

  // on to the rating: four stars with Space
  const toRating = await pressUntil(page, "Tab", "fd-rate-4");
  const ratingRing = await focusRing(page);
  const ratingGroup = await page.getByRole("group", { name: "Rate this conversation" }).count();
  await page.keyboard.press("Space");
  await page.waitForFunction((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}").rating === 4,
                             env.widgetKey);
  await shot(page, "widget-keyboard");

  // Escape closes the panel; the focus is back on the launcher
  await page.keyboard.press("Escape");
  await page.getByTestId("fd-panel").waitFor({ state: "detached" });
  const focusAfterClose = await focused(page);
  const expandedClosed = await launcher.getAttribute("aria-expanded");
  const labelClosed = await launcher.getAttribute("aria-label");

  return {
    toLauncher, launcherRing, launcherLabel, expandedBefore, expandedAfter, dialogName, logAttrs, inputLabel,
    answer, answerId, focusAfterSend, busyAfter, citationText, citationLinks, anyScriptLink,
    toThumbs, thumbsRing, thumbsLabel, thumbsPressed, toRating, ratingRing, ratingGroup,
    focusAfterClose, expandedClosed, labelClosed, stored: await saved(page), pageErrors: errors,
  };
});
