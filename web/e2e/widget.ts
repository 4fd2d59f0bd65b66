// A visitor on the demo shop page: opens the widget, asks, watches the answer stream in, rates
// it, says something that looks like HTML (and is handed to a person), reloads and finds the same
// history. The host page's CSS, made hostile on purpose, must not change the widget.
// Run by tests/web/test_widget.py, which checks the result against the API.

import type { Page } from "playwright-core";

import { ask, check, env, installStreamWatch, launch, newPage, openWidget, run, shot, streamedTexts, timeline, waitForAnswer } from "./lib";

const QUESTION = "How do I reset my password?";
const HTML_LIKE = `<img src=x onerror="window.__fdInjected=1"><b>Hi</b> I want to talk to a real person please`;

const HOSTILE_CSS = `
  html { font-size: 5px !important; }
  body { line-height: 9 !important; text-transform: uppercase !important; letter-spacing: 4px !important;
         color: lime !important; font-family: "Comic Sans MS", cursive !important; }
  * { background: hotpink !important; color: lime !important; font-family: "Comic Sans MS", cursive !important;
      border: 7px dashed red !important; padding: 30px !important; }
  button, textarea, div, section, p, span { display: none !important; }
  frontdesk-widget { display: none !important; opacity: 0 !important; transform: scale(0.2) !important; }
`;

/** Computed styles and boxes of a few widget elements, to compare with the page's CSS on and off. */
async function widgetLook(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const root = document.querySelector("frontdesk-widget")?.shadowRoot;
    if (!root) throw new Error("no widget");
    const out: Record<string, string> = {};
    for (const id of ["fd-launcher", "fd-panel", "fd-input", "fd-send", "fd-title", "fd-messages"]) {
      const el = root.querySelector(`[data-testid="${id}"]`);
      if (!el) throw new Error(`no ${id}`);
      const cs = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      out[id] = [cs.display, cs.fontFamily, cs.fontSize, cs.lineHeight, cs.color, cs.backgroundColor, cs.borderTopWidth,
                 cs.paddingTop, cs.textTransform, cs.letterSpacing, Math.round(box.width), Math.round(box.height)].join(" | ");
    }
    return out;
  });
}

async function messageIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid^="fd-message-"][data-id]').evaluateAll((els) => els.map((e) => e.getAttribute("data-id") ?? ""));
}

function saved(page: Page): Promise<{ conversationId?: string; feedback?: Record<string, boolean>; rating?: number }> {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}"), env.widgetKey);
}

run(async () => {
  const browser = await launch();
  const { page, errors } = await newPage(browser);
  await page.goto(env.demoUrl);
  await page.getByTestId("fd-launcher").waitFor();
  await shot(page, "widget-closed");

  await openWidget(page);
  await page.getByTestId("fd-greeting").waitFor();
  const greeting = (await page.getByTestId("fd-greeting").innerText()).trim();
  const tenantName = (await page.getByTestId("fd-title").innerText()).trim();
  await shot(page, "widget-open");

  // a question, answered from the knowledge base, streamed
  await installStreamWatch(page);
  await ask(page, QUESTION);
  const answer = await waitForAnswer(page, 0);
  check(answer !== "handoff", "the FAQ question was handed off instead of answered");
  const streamed = await streamedTexts(page);
  const partial = streamed.filter((t) => t.length < answer.length && answer.startsWith(t.trim()));
  check(partial.length > 0, `no partial render of the answer before its final text (saw ${JSON.stringify(streamed)})`);
  const aiAnswer = page.locator('[data-testid="fd-message-ai"]:not([data-streaming])').first();
  const citations = await aiAnswer.getByTestId("fd-citation").allInnerTexts();
  // the cited FAQ entry has a URL: its citation is a link that opens apart from the host page
  const citationLinks = await aiAnswer.getByTestId("fd-citation").locator("a").evaluateAll((links) => links.map((a) => ({
    href: a.getAttribute("href"), text: a.textContent, target: a.getAttribute("target"), rel: a.getAttribute("rel") })));
  const answerId = (await aiAnswer.getAttribute("data-id")) ?? "";
  // what the visitor saw, in order: the typing indicator, then the answer streaming, then final
  const seen = await timeline(page);
  await shot(page, "widget-answer");

  // thumbs up on the answer, five stars for the conversation: stored once the call succeeded
  await aiAnswer.getByTestId("fd-thumbs-up").click();
  await page.waitForFunction(([key, id]) => {
    const s = JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}");
    return s.feedback?.[id!] === true;
  }, [env.widgetKey, answerId]);
  await page.getByTestId("fd-rate-5").click();
  await page.waitForFunction((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}").rating === 5,
                             env.widgetKey);
  check(await aiAnswer.getByTestId("fd-thumbs-up").getAttribute("aria-pressed") === "true", "thumbs up not shown as chosen");

  // something that looks like HTML is shown as text; asking for a person hands the conversation over
  await ask(page, HTML_LIKE);
  const shown = (await page.getByTestId("fd-message-customer").last().getByTestId("fd-text").textContent()) ?? "";
  const injected = await page.evaluate(() => ({
    images: document.querySelector("frontdesk-widget")!.shadowRoot!.querySelectorAll("img, b").length,
    ran: (window as unknown as { __fdInjected?: number }).__fdInjected ?? 0,
  }));
  await page.getByTestId("fd-handoff").waitFor({ timeout: 120_000 });
  const handoff = (await page.getByTestId("fd-handoff").innerText()).trim();
  await page.getByTestId("fd-message-system").first().waitFor();
  await shot(page, "widget-handoff");

  // the host page turns hostile: nothing in the widget may change
  const lookBefore = await widgetLook(page);
  await page.addStyleTag({ content: HOSTILE_CSS });
  const lookAfter = await widgetLook(page);
  const changed = Object.keys(lookBefore).filter((k) => lookBefore[k] !== lookAfter[k])
    .map((k) => `${k}: ${lookBefore[k]}  ->  ${lookAfter[k]}`);
  check(changed.length === 0, `the host page's CSS reached the widget:\n${changed.join("\n")}`);
  check(await page.getByTestId("fd-launcher").isVisible(), "the launcher is hidden by the host page's CSS");
  await shot(page, "widget-hostile-page");

  // a reload: the same conversation, every message once, the votes remembered
  const idsBefore = await messageIds(page);
  const { conversationId } = await saved(page);
  await page.reload();
  await page.getByTestId("fd-panel").waitFor();  // it was open: it opens again
  await page.waitForFunction((n) => {
    const root = document.querySelector("frontdesk-widget")?.shadowRoot;
    return (root?.querySelectorAll('[data-testid^="fd-message-"][data-id]').length ?? 0) >= n;
  }, idsBefore.length);
  const idsAfter = await messageIds(page);
  const thumbAfterReload = await page.locator(`[data-id="${answerId}"]`).getByTestId("fd-thumbs-up").getAttribute("aria-pressed");
  const handoffAfterReload = await page.getByTestId("fd-handoff").isVisible();

  return {
    greeting, tenantName, answer, answerId, streamed, citations, citationLinks, seen, conversationId, shown, injected, handoff,
    idsBefore, idsAfter, thumbAfterReload, handoffAfterReload, pageErrors: errors,
  };
});
