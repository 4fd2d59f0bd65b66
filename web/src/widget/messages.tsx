// What the widget's message log shows: stored messages (customer, AI with sources and thumbs,
// agent, system), a streaming reply, a message being sent (or failed, with a retry), the
// typing indicator and the rating. Everything a visitor, the AI or an agent wrote is rendered
// as JSX text (text nodes), never as HTML.

import type { ReactNode } from "react";

import { Role, type Attachment, type Citation, type Message } from "../gen/frontdesk/common/v1/common_pb";
import { Icon } from "./icons";
import { safeUrl } from "../shared/url";
import type { ChatController, ChatState, Pending, Streaming } from "./controller";

export function MessageView({ m, state, controller }: { m: Message; state: ChatState; controller: ChatController }) {
  if (m.role === Role.SYSTEM) {
    return <p data-testid="fd-message-system" data-id={m.id} className="mx-4 text-center text-xs text-gray-600"><span data-testid="fd-text">{m.text}</span></p>;
  }
  if (m.role === Role.CUSTOMER) {
    return (
      <Bubble side="right" testid="fd-message-customer" id={m.id}>
        {m.voice && <span className="mb-0.5 block text-[11px] opacity-80">Voice message</span>}
        <span data-testid="fd-text">{m.text}</span>
        <Attachments items={m.attachments} controller={controller} />
      </Bubble>
    );
  }
  if (m.role === Role.AGENT) {
    return (
      <Bubble side="left" testid="fd-message-agent" id={m.id}>
        <span className="mb-0.5 block text-[11px] font-semibold text-gray-600">{m.authorName || "Support agent"}</span>
        <span data-testid="fd-text">{m.text}</span>
        <Attachments items={m.attachments} controller={controller} />
      </Bubble>
    );
  }
  const vote = state.feedback[m.id];
  return (
    <Bubble side="left" testid="fd-message-ai" id={m.id}>
      <span data-testid="fd-text">{m.text}</span>
      <Citations items={m.citations} />
      <div className="mt-1.5 flex items-center gap-1 text-gray-500">
        <span className="mr-1 text-[11px]">Helpful?</span>
        <Thumb up pressed={vote === true} onClick={() => void controller.feedback(m.id, true)} />
        <Thumb up={false} pressed={vote === false} onClick={() => void controller.feedback(m.id, false)} />
      </div>
    </Bubble>
  );
}

export function AgentJoined({ name }: { name: string }) {
  return name ? <p data-testid="fd-agent-joined" className="text-center text-xs text-gray-600">{name} joined the conversation</p> : null;
}

export function StreamingView({ s }: { s: Streaming }) {
  return (
    <Bubble side="left" testid="fd-message-ai" streaming>
      <span data-testid="fd-text">{s.text}</span>
      {s.gap && <span aria-hidden="true"> …</span>}
      <span className="ml-0.5 inline-block h-3.5 w-1.5 animate-pulse bg-gray-400 align-middle" aria-hidden="true" />
    </Bubble>
  );
}

export function PendingView({ p, controller }: { p: Pending; controller: ChatController }) {
  return (
    <div className="flex flex-col items-end gap-1">
      <Bubble side="right" testid="fd-message-customer" pending>
        <span data-testid="fd-text">{p.text}</span>
      </Bubble>
      {p.error ? (
        <p role="alert" data-testid="fd-send-error" className="max-w-[85%] text-right text-xs text-red-700">
          {p.error}{" "}
          <button type="button" data-testid="fd-retry" className="cursor-pointer font-semibold underline"
                  onClick={() => void controller.retry(p.clientId)}>Retry</button>{" "}
          <button type="button" className="cursor-pointer underline" onClick={() => controller.discard(p.clientId)}>Discard</button>
        </p>
      ) : <p className="text-[11px] text-gray-400">Sending…</p>}
    </div>
  );
}

export function Bubble({ side, testid, id, streaming, pending, children }: {
  side: "left" | "right"; testid: string; id?: string; streaming?: boolean; pending?: boolean; children: ReactNode;
}) {
  const tone = side === "right" ? "self-end bg-brand text-white rounded-br-sm" : "self-start bg-white text-gray-900 border border-gray-200 rounded-bl-sm";
  return (
    <div data-testid={testid} data-id={id} data-streaming={streaming ? "" : undefined} data-pending={pending ? "" : undefined}
         className={`max-w-[85%] rounded-2xl px-3 py-2 break-words whitespace-pre-wrap ${tone} ${pending ? "opacity-70" : ""}`}>
      {children}
    </div>
  );
}

function Citations({ items }: { items: Citation[] }) {
  if (!items.length) return null;
  return (
    <ul aria-label="Sources" className="mt-1.5 flex flex-wrap gap-1 whitespace-normal">
      {items.map((c) => {
        const label = c.title || c.sourceId;
        const href = safeUrl(c.url);
        return (
          <li key={c.sourceId} data-testid="fd-citation" className="rounded bg-gray-100 px-1.5 py-0.5 text-[11px] text-gray-700">
            Source: {href ? <a href={href} target="_blank" rel="noopener noreferrer" className="underline">{label}</a> : label}
          </li>
        );
      })}
    </ul>
  );
}

function Attachments({ items, controller }: { items: Attachment[]; controller: ChatController }) {
  if (!items.length) return null;
  return (
    <ul className="mt-1 flex flex-col gap-0.5 whitespace-normal">
      {items.map((a) => (
        <li key={a.id}>
          <button type="button" data-testid="fd-attachment" onClick={() => void controller.openAttachment(a.id)}
                  className="cursor-pointer text-left text-xs underline">
            {a.filename} ({formatBytes(Number(a.sizeBytes))})
          </button>
        </li>
      ))}
    </ul>
  );
}

function Thumb({ up, pressed, onClick }: { up: boolean; pressed: boolean; onClick: () => void }) {
  return (
    <button type="button" data-testid={up ? "fd-thumbs-up" : "fd-thumbs-down"} aria-pressed={pressed}
            aria-label={up ? "Helpful" : "Not helpful"} onClick={onClick}
            className={`cursor-pointer rounded p-1 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-brand
                    ${pressed ? (up ? "text-green-700" : "text-red-700") : ""}`}>
      <Icon size={14} d={up ? "M7 11v9H4v-9zM7 11l4-8c1.5 0 2.5 1 2.5 2.5V9h5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.3 20H7"
                            : "M17 13V4h3v9zM17 13l-4 8c-1.5 0-2.5-1-2.5-2.5V15h-5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 6.7 4H17"} />
    </button>
  );
}

export function Rating({ state, controller, resolved }: { state: ChatState; controller: ChatController; resolved: boolean }) {
  const ask = resolved ? "This conversation is resolved. How did we do?" : "How was this conversation?";
  return (
    <div data-testid="fd-rating" role="group" aria-label="Rate this conversation" className="mt-2 self-center text-center">
      <p className="text-xs text-gray-600">{state.rating ? "Thanks for your rating!" : ask}</p>
      <div className="mt-0.5 flex justify-center">
        {[1, 2, 3, 4, 5].map((n) => (
          <button key={n} type="button" data-testid={`fd-rate-${n}`} aria-label={`Rate ${n} of 5`}
                  aria-pressed={state.rating === n} onClick={() => void controller.rate(n)}
                  className={`cursor-pointer px-0.5 text-xl leading-none focus-visible:outline-2 focus-visible:outline-brand
                          ${n <= state.rating ? "text-amber-500" : "text-gray-300 hover:text-amber-400"}`}>
            ★
          </button>
        ))}
      </div>
    </div>
  );
}

export function Typing() {
  return (
    <div data-testid="fd-typing" role="status" aria-label="The assistant is typing"
         className="flex gap-1 self-start rounded-2xl border border-gray-200 bg-white px-3 py-3">
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
    </div>
  );
}

export function transcriptionLabel(state: string): string {
  switch (state) {
    case "transcribing": return "Transcribing your voice message…";
    case "failed": return "We could not understand that recording.";
    default: return "Voice message received, transcribing soon…";
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
