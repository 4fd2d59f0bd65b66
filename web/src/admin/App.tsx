// The shell: the sign-in page until there is a session, then the navigation and the page
// of the current route. Losing the session anywhere (expired or refused token) comes back here.

import { useEffect, useSyncExternalStore } from "react";

import { api } from "./api";
import { Button, cx, ErrorBoundary, Link } from "./components";
import { PresenceState } from "../gen/frontdesk/events/v1/events_pb";
import { inbox, reasonText, useInbox } from "./inbox";
import { navigate, useRoute } from "./router";
import { AccessPage } from "./pages/Access";
import { AiSettingsPage } from "./pages/AiSettings";
import { AnalyticsPage } from "./pages/Analytics";
import { AuditLogPage } from "./pages/AuditLog";
import { ConversationsPage } from "./pages/Conversations";
import { ConversationView } from "./pages/ConversationView";
import { KnowledgePage } from "./pages/Knowledge";
import { LoginPage } from "./pages/Login";
import { SavedRepliesPage } from "./pages/SavedReplies";
import { StatusPage } from "./pages/Status";

const NAV: { to: string; label: string }[] = [
  { to: "/", label: "System status" },
  { to: "/conversations", label: "Conversations" },
  { to: "/replies", label: "Saved replies" },
  { to: "/knowledge", label: "Knowledge base" },
  { to: "/ai", label: "AI settings" },
  { to: "/access", label: "API keys & operators" },
  { to: "/analytics", label: "Analytics" },
  { to: "/audit", label: "Audit log" },
];

function useSession() {
  return useSyncExternalStore((fn) => api.subscribe(fn), () => api.session);
}

export function App() {
  const session = useSession();
  const route = useRoute();
  const live = useInbox();

  // one live inbox per signed-in tab; a new sign-in starts a new one
  const token = session?.token;
  useEffect(() => {
    if (!token) return;
    inbox.start();
    return () => inbox.stop();
  }, [token]);

  // a bookmarked sign-in page, once signed in, is the start page
  useEffect(() => {
    if (session && route === "/login") navigate("/", true);
  }, [session, route]);

  if (!session) return <LoginPage reason={api.signedOut} />;

  let page;
  const conversation = /^\/conversations\/([^/]+)$/.exec(route);
  if (route === "/" || route === "/login") page = <StatusPage />;
  else if (route === "/conversations") page = <ConversationsPage />;
  else if (conversation) page = <ConversationView id={decodeURIComponent(conversation[1]!)} />;
  else if (route === "/replies") page = <SavedRepliesPage />;
  else if (route === "/knowledge") page = <KnowledgePage />;
  else if (route === "/ai") page = <AiSettingsPage />;
  else if (route === "/access") page = <AccessPage />;
  else if (route === "/analytics") page = <AnalyticsPage />;
  else if (route === "/audit") page = <AuditLogPage />;
  else page = <p className="text-sm">There is no page here. <Link to="/">Back to the system status</Link>.</p>;

  const active = NAV.filter((n) => n.to === "/" ? route === "/" : route.startsWith(n.to)).at(-1)?.to;
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <nav aria-label="Main" className="border-b border-slate-200 bg-slate-900 text-slate-100 md:w-56 md:border-b-0 md:border-r">
        <div className="px-4 py-4">
          <p className="text-lg font-semibold">frontdesk</p>
          <p className="truncate text-xs text-slate-400" title={session.tenant}>tenant: {session.tenant}</p>
        </div>
        <ul className="flex flex-wrap gap-1 px-2 pb-3 md:flex-col">
          {NAV.map((n) => (
            <li key={n.to}>
              <Link to={n.to} className={cx("block rounded-md px-3 py-1.5 text-sm",
                                            active === n.to ? "bg-slate-700 text-white" : "text-slate-300 hover:bg-slate-800")}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
        <div className="px-4 pb-4 text-xs text-slate-400">
          <p className="truncate">{session.displayName || "operator"} ({session.role})</p>
          <p data-testid="inbox-link" aria-live="polite">
            {live.link === "live" ? "Inbox: live" : live.link === "reconnecting" ? "Inbox: reconnecting…" : "Inbox: connecting…"}
          </p>
          <label className="mt-2 flex items-center gap-2">
            <span>Status</span>
            <select aria-label="Your status" className="rounded bg-slate-800 px-1 py-0.5 text-slate-100"
                    value={live.presence} onChange={(e) => inbox.setPresence(Number(e.target.value) as PresenceState)}>
              <option value={PresenceState.ONLINE}>Online</option>
              <option value={PresenceState.AWAY}>Away</option>
            </select>
          </label>
          <Button className="mt-2" onClick={() => void inbox.signOff().then(() =>
            api.endSession({ kind: "signed_out", message: "You have signed out." }))}>
            Sign out
          </Button>
        </div>
      </nav>
      <main className="min-w-0 flex-1 p-4 md:p-6">
        {live.waiting && (
          <div role="alert" data-testid="inbox-alert"
               className="mb-4 flex items-center justify-between gap-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm">
            <span>
              A customer is waiting ({reasonText(live.waiting.reason)}).{" "}
              <Link to={`/conversations/${encodeURIComponent(live.waiting.conversationId)}`}>Open the conversation</Link>
            </span>
            <Button onClick={() => inbox.dismiss()}>Dismiss</Button>
          </div>
        )}
        {/* a page that fails to render leaves the navigation usable */}
        <ErrorBoundary key={route}>{page}</ErrorBoundary>
      </main>
    </div>
  );
}
