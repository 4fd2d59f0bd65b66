// A voice message from the widget, for real: Chromium's fake microphone plays a WAV of a spoken
// question (espeak-ng, made by tests/web/test_voice_message.py: FRONTDESK_VOICE_WAV), the
// widget records it with MediaRecorder until its own recording timer says the whole utterance
// is in (FRONTDESK_VOICE_SECONDS), sends it to SpeechService.SubmitAudio, shows the
// transcription's progress, then the transcript as the visitor's voice message and the answer.

import { check, env, fakeMicrophone, installStreamWatch, launch, newPage, openWidget, run, shot, timeline,
         waitForAnswer } from "./lib";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

run(async () => {
  const wav = required("FRONTDESK_VOICE_WAV");
  const seconds = Number(required("FRONTDESK_VOICE_SECONDS"));
  const browser = await launch({ args: fakeMicrophone(wav) });
  const { page, errors } = await newPage(browser, { permissions: ["microphone"] });
  await openWidget(page);
  await page.getByTestId("fd-greeting").waitFor();
  await installStreamWatch(page);

  const record = page.getByTestId("fd-record");
  check(await record.getAttribute("aria-label") === "Record a voice message", "the record button is not offered");
  await record.click();
  const timer = page.getByTestId("fd-recording");
  await timer.waitFor();
  check(await record.getAttribute("aria-pressed") === "true", "the record button does not show it is recording");
  // the recorder's own count of recorded seconds: the file has been played into it by then
  await page.waitForFunction((n) => {
    const el = document.querySelector("frontdesk-widget")?.shadowRoot?.querySelector<HTMLElement>('[data-testid="fd-recording"]');
    return Number(el?.dataset.seconds ?? 0) >= n;
  }, seconds, { timeout: 60_000 });
  const timerText = (await timer.innerText()).trim();
  await shot(page, "widget-voice-recording");
  check(await record.getAttribute("aria-label") === "Stop recording and send", "the stop button is not labelled");
  await record.click();
  await timer.waitFor({ state: "detached" });

  // the transcript arrives as the visitor's (voice) message, then the AI answers it
  const voice = page.locator('[data-testid="fd-message-customer"][data-id]', { hasText: "Voice message" });
  await voice.waitFor({ timeout: 120_000 });
  const transcript = (await voice.getByTestId("fd-text").innerText()).trim();
  const voiceId = (await voice.getAttribute("data-id")) ?? "";
  const answer = await waitForAnswer(page, 0);
  const answerId = (await page.locator('[data-testid="fd-message-ai"]:not([data-streaming])').first().getAttribute("data-id")) ?? "";
  const progressLeft = await page.getByTestId("fd-transcription").count();
  await shot(page, "widget-voice-answered");

  const conversationId = await page.evaluate((key) => JSON.parse(localStorage.getItem(`frontdesk.widget.${key}`) ?? "{}")
    .conversationId as string, env.widgetKey);
  return { conversationId, timerText, transcript, voiceId, answer, answerId, progressLeft, seen: await timeline(page), pageErrors: errors };
});
