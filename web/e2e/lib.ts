// The browser-test harness: playwright-core driving Debian's Chromium against a running mesh.
// tests/web/conftest.py (fixture `run_e2e`) starts the mesh and runs a script as
//   node --import tsx e2e/<script>.ts
// with the URLs and credentials below in its environment. A script is
//
//   import { run, launch, env, check } from "./lib";
//   run(async () => {
//     const browser = await launch();
//     const { page } = await newPage(browser);
//     await page.goto(env.demoUrl);
//     ...
//     return { whatever: "the test checks" };   // printed as one JSON line on stdout
//   });
//
// `run` prints the returned object as JSON, closes every browser it launched, and exits
// non-zero (with the error and the pages' console errors on stderr) when anything throws.
// Playwright's CSS and text locators pierce open shadow roots, so `page.getByTestId(...)`
// finds the widget's elements inside its shadow DOM.
// Functions passed to page.evaluate must not define named inner functions (tsx adds a
// `__name` helper the page lacks): use arrow expressions inline, or pass a string.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (tests/web/conftest.py sets it)`);
  return value;
}

/** What conftest.py passes in; each is read when first used. */
export const env = {
  get webUrl() { return required("FRONTDESK_WEB_URL"); },          // the gateway's web port: gRPC-web + pages
  get demoUrl() { return required("FRONTDESK_DEMO_URL"); },        // the demo host page with the widget
  get adminUrl() { return required("FRONTDESK_ADMIN_URL"); },      // the admin panel
  get widgetKey() { return required("FRONTDESK_WIDGET_KEY"); },    // the demo tenant's widget key
  get tenant() { return required("FRONTDESK_TENANT"); },           // the demo tenant's slug (operator login)
  get operatorEmail() { return required("FRONTDESK_OPERATOR_EMAIL"); },
  get operatorPassword() { return required("FRONTDESK_OPERATOR_PASSWORD"); },
  get screenshots() { return process.env.FRONTDESK_SCREENSHOTS ?? ""; },  // where shot() writes; "" = nowhere
};

export const CHROMIUM = process.env.FRONTDESK_CHROMIUM ?? "/usr/bin/chromium";

const browsers: Browser[] = [];
const consoleErrors: string[] = [];

export interface LaunchOptions {
  /** more Chromium switches, e.g. a fake microphone playing a file (see `fakeMicrophone`) */
  args?: string[];
}

/** Debian's Chromium, headless; closed by `run` at the end. Each call starts its own browser. */
export async function launch(options: LaunchOptions = {}): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-background-networking", ...(options.args ?? [])],
  });
  browsers.push(browser);
  return browser;
}

/**
 * Switches for `launch({ args })`: getUserMedia is granted without asking and its microphone
 * plays `wavPath` (PCM WAV) once, then silence.
 */
export function fakeMicrophone(wavPath: string): string[] {
  return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
          `--use-file-for-fake-audio-capture=${wavPath}%noloop`];
}

/**
 * A fresh context (its own storage) and page. Page errors and console errors are collected
 * into `errors` (and reported by `run` on failure).
 */
export async function newPage(browser: Browser, options: Parameters<Browser["newContext"]>[0] = {}):
  Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => { errors.push(String(err)); consoleErrors.push(`pageerror: ${String(err)}`); });
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`console: ${msg.text()}`);
  });
  return { context, page, errors };
}

/** Saves a PNG named `name`.png into FRONTDESK_SCREENSHOTS (when set); returns its path or "". */
export async function shot(page: Page, name: string): Promise<string> {
  if (!env.screenshots) return "";
  mkdirSync(env.screenshots, { recursive: true });
  const path = join(env.screenshots, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Waits until `probe` gives a value (what a stream delivers; no timing is asserted: the limit only ends a hang). */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Signs in to the admin panel as the demo tenant's operator. */
export async function signInToAdmin(page: Page): Promise<void> {
  await page.goto(env.adminUrl);
  await page.getByLabel("Organisation").fill(env.tenant);
  await page.getByLabel("Email").fill(env.operatorEmail);
  await page.getByLabel("Password").fill(env.operatorPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Throws (failing the script) unless `condition`. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Runs `main`, prints its result as one JSON line, closes the browsers, exits 0; or 1 on error. */
export function run(main: () => Promise<unknown>): void {
  const done = async (code: number) => {
    await Promise.allSettled(browsers.map((b) => b.close()));
    process.exit(code);
  };
  main().then(
    async (result) => {
      process.stdout.write(`${JSON.stringify(result ?? {})}\n`);
      await done(0);
    },
    async (err: unknown) => {
      // what the pages looked like when it failed, beside the other screenshots
      let n = 0;
      for (const page of browsers.flatMap((b) => b.contexts().flatMap((c) => c.pages()))) {
        const path = await shot(page, `failure-${++n}`).catch(() => "");
        if (path) process.stderr.write(`screenshot of a page at the failure: ${path}\n`);
      }
      process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      if (consoleErrors.length) process.stderr.write(`browser errors:\n  ${consoleErrors.join("\n  ")}\n`);
      await done(1);
    },
  );
}

// -- the widget ------------------------------------------------------------------------

/** Opens the demo page and the widget's panel; resolves when the composer is ready. */
export async function openWidget(page: Page, url = env.demoUrl): Promise<void> {
  if (page.url() !== url) await page.goto(url);
  const launcher = page.getByTestId("fd-launcher");
  await launcher.waitFor();
  if ((await launcher.getAttribute("aria-expanded")) !== "true") await launcher.click();
  await page.getByTestId("fd-input").waitFor();
}

/** Types `text` into the widget and sends it; resolves when the customer's message is shown as sent. */
export async function ask(page: Page, text: string): Promise<void> {
  const before = await page.getByTestId("fd-message-customer").count();
  await page.getByTestId("fd-input").fill(text);
  await page.getByTestId("fd-send").click();
  await page.locator('[data-testid="fd-message-customer"]:not([data-pending])').nth(before).waitFor({ timeout: 30_000 });
}

/**
 * Resolves with the text of the `nth` (0-based) AI answer once it is final (not streaming),
 * or with "handoff" when the conversation was handed to a person instead.
 */
export async function waitForAnswer(page: Page, nth: number, timeoutMs = 120_000): Promise<string> {
  const answer = page.locator('[data-testid="fd-message-ai"]:not([data-streaming])').nth(nth);
  const handoff = page.getByTestId("fd-handoff");
  await answer.or(handoff).first().waitFor({ timeout: timeoutMs });
  if (await answer.count() > 0 && await answer.isVisible()) return (await answer.getByTestId("fd-text").innerText()).trim();
  return "handoff";
}

/**
 * Records, inside the page, from DOM mutations (no timing involved):
 * - every text the widget showed in a streaming (partial) AI bubble: `streamedTexts(page)`;
 * - the order in which things appeared: `timeline(page)`, entries "typing" (the typing
 *   indicator appeared), "streaming" (a partial answer appeared), "answer:<id>" (a final AI
 *   answer), "customer:<id>" (a stored customer message), "transcription:<state>" (the voice
 *   message's progress), "agent-joined", "agent:<id>" (an agent's message).
 * Call it after the widget is open (its shadow root exists).
 */
export async function installStreamWatch(page: Page): Promise<void> {
  // a string, not a function: tsx would wrap named inner functions in its __name helper,
  // which does not exist in the page
  await page.evaluate(`(() => {
    const seen = (window.__fdStreamed = []);
    const timeline = (window.__fdTimeline = []);
    const present = new Set();
    const root = document.querySelector("frontdesk-widget")?.shadowRoot;
    if (!root) throw new Error("the widget's shadow root is not there");
    const look = () => {
      for (const el of root.querySelectorAll('[data-testid="fd-message-ai"][data-streaming] [data-testid="fd-text"]')) {
        const text = el.textContent || "";
        if (text && seen[seen.length - 1] !== text) seen.push(text);
      }
      const now = new Set();
      if (root.querySelector('[data-testid="fd-typing"]')) now.add("typing");
      if (root.querySelector('[data-testid="fd-message-ai"][data-streaming]')) now.add("streaming");
      if (root.querySelector('[data-testid="fd-agent-joined"]')) now.add("agent-joined");
      for (const el of root.querySelectorAll('[data-testid="fd-message-ai"][data-id]:not([data-streaming])')) now.add("answer:" + el.dataset.id);
      for (const el of root.querySelectorAll('[data-testid="fd-message-customer"][data-id]')) now.add("customer:" + el.dataset.id);
      for (const el of root.querySelectorAll('[data-testid="fd-message-agent"][data-id]')) now.add("agent:" + el.dataset.id);
      for (const el of root.querySelectorAll('[data-testid="fd-transcription"]')) now.add("transcription:" + el.dataset.state);
      for (const key of now) if (!present.has(key)) timeline.push(key);
      present.clear();
      for (const key of now) present.add(key);
    };
    look();
    new MutationObserver(look).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
}

export async function streamedTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __fdStreamed?: string[] }).__fdStreamed ?? []);
}

export async function timeline(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __fdTimeline?: string[] }).__fdTimeline ?? []);
}
