// The embeddable widget. A tenant's page adds one tag:
//
//   <script src="https://support.example.com/widget.js" data-widget-key="wk_..." async></script>
//
// Optional attributes: data-api-base (where the gateway serves gRPC-web; default: where
// widget.js came from), data-open="true" (start with the panel open).
// The widget lives in a shadow root on its own <frontdesk-widget> element, with its styles
// inside that root: the page's CSS cannot select into it, and its CSS cannot leak out.
// window.FrontdeskWidget.open() / .close() let the page open it from its own buttons.

import { createRoot } from "react-dom/client";

import { App } from "./App";
import { ChatController } from "./controller";
import css from "./widget.css?inline";

declare global {
  interface Window {
    FrontdeskWidget?: { open(): void; close(): void; controller: ChatController };
  }
}

// only set while this file first runs (not in a later DOMContentLoaded handler)
const OWN_SCRIPT = document.currentScript as HTMLScriptElement | null;

function currentScript(): HTMLScriptElement | null {
  const own = OWN_SCRIPT;
  if (own?.dataset.widgetKey) return own;
  // loaded as a module or injected later: find our tag by its attribute
  return document.querySelector<HTMLScriptElement>("script[data-widget-key]");
}

// Tailwind sizes are in rem, which would follow the host page's <html> font size; the widget
// keeps its own scale.
function remToPx(text: string): string {
  return text.replace(/(-?\d*\.?\d+)rem\b/g, (_, n: string) => `${Number.parseFloat(n) * 16}px`);
}

// @property rules are ignored inside shadow roots, yet Tailwind's shadows, rings and transforms
// rely on their initial values: register them on the document (they only declare custom properties).
function registerProperties(text: string): void {
  const rules = text.match(/@property\s+--tw-[\w-]+\s*\{[^}]*\}/g);
  if (!rules || document.getElementById("frontdesk-widget-properties")) return;
  const style = document.createElement("style");
  style.id = "frontdesk-widget-properties";
  style.textContent = rules.join("\n");
  document.head.appendChild(style);
}

function mount(): void {
  if (document.querySelector("frontdesk-widget")) return;  // the tag was included twice
  const script = currentScript();
  const widgetKey = script?.dataset.widgetKey?.trim();
  if (!widgetKey) {
    console.error("frontdesk widget: add data-widget-key=\"wk_...\" to its <script> tag");
    return;
  }
  const base = script?.dataset.apiBase || (script?.src ? new URL(".", script.src).href : location.origin);
  let storage: Storage | undefined;
  try {
    storage = window.localStorage;
  } catch { /* blocked (third-party storage settings): the session lives in memory */ }

  const host = document.createElement("frontdesk-widget");
  const shadow = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  const sheet = remToPx(css);
  style.textContent = sheet;
  shadow.appendChild(style);
  registerProperties(sheet);
  const container = document.createElement("div");
  shadow.appendChild(container);
  document.body.appendChild(host);

  const controller = new ChatController(base.replace(/\/+$/, ""), widgetKey, storage);
  const openKey = `frontdesk.widget.${widgetKey}.open`;
  let initiallyOpen = script?.dataset.open === "true";
  try {
    initiallyOpen = initiallyOpen || sessionStorage.getItem(openKey) === "1";
  } catch { /* no session storage */ }
  const remember = (open: boolean) => {
    try {
      sessionStorage.setItem(openKey, open ? "1" : "0");
    } catch { /* no session storage */ }
  };

  const root = createRoot(container);
  // the page's open()/close() re-mount the UI in that state (keyed), the visitor's clicks do not
  const render = (open: boolean) => {
    remember(open);
    root.render(<App key={open ? "open" : "closed"} controller={controller} initiallyOpen={open}
                     onOpenChange={remember} />);
  };
  render(initiallyOpen);
  window.FrontdeskWidget = { open: () => render(true), close: () => render(false), controller };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount, { once: true });
else mount();
