// A tiny history router for the panel's few pages: paths under the app's base (/admin/).
// The gateway answers any /admin/<route> with admin/index.html, so reloads and links work.

import { useSyncExternalStore } from "react";

const BASE = import.meta.env.BASE_URL.replace(/\/+$/, ""); // "/admin"

function current(): string {
  const path = window.location.pathname;
  const inside = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return inside.replace(/\/+$/, "") || "/";
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((fn) => fn()));

export function navigate(to: string, replace = false) {
  const url = BASE + (to.startsWith("/") ? to : `/${to}`);
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  listeners.forEach((fn) => fn());
}

export function href(to: string): string {
  return BASE + to;
}

/** The current route ("/", "/conversations", "/conversations/c_123", ...). */
export function useRoute(): string {
  return useSyncExternalStore((fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, current);
}
