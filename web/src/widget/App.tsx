// The widget's UI: a launcher button and a chat panel. Everything a visitor, the AI or an
// agent wrote is rendered as JSX text (text nodes), never as HTML.

import { Fragment, useCallback, useEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent, type ReactNode } from "react";

import { ConversationStatus, Role, type Attachment, type Citation, type Message } from "../gen/frontdesk/common/v1/common_pb";
import type { ChatController, ChatState, Pending, Streaming } from "./controller";
import { Icon, IconButton } from "../shared/icons";
import { Recorder } from "./recorder";

const MAX_FILES = 5;

export function App({ controller, initiallyOpen, onOpenChange }: {
  controller: ChatController;
  initiallyOpen: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const [open, setOpen] = useState(initiallyOpen);
  const launcher = useRef<HTMLButtonElement>(null);

  const toggle = useCallback((next: boolean) => {
    setOpen(next);
    onOpenChange(next);
    if (!next) launcher.current?.focus();
  }, [onOpenChange]);

  useEffect(() => {
    if (open) void controller.start();
  }, [open, controller]);

  return (
    <div className="fixed right-5 bottom-5 flex flex-col items-end gap-3">
      {open && <Panel state={state} controller={controller} onClose={() => toggle(false)} />}
      <button
        ref={launcher}
        type="button"
        data-testid="fd-launcher"
        aria-expanded={open}
        aria-label={open ? "Close the chat" : "Chat with us"}
        onClick={() => toggle(!open)}
        className="flex size-14 cursor-pointer items-center justify-center rounded-full bg-brand text-white shadow-lg
               hover:bg-brand-dark focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-brand"
      >
        {open ? <Icon d="M6 6l12 12M18 6L6 18" /> : <Icon d="M4 5h16v11H8l-4 4z" />}
      </button>
    </div>
  );
}

function Panel({ state, controller, onClose }: { state: ChatState; controller: ChatController; onClose: () => void }) {
  const list = useRef<HTMLDivElement>(null);
  const onKey = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === "Escape") onClose();
  };
  // keep the newest message in view
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [state.messages.length, state.streaming, state.pending.length, state.aiTyping, state.transcriptions.length]);

  const lastAi = [...state.messages].reverse().find((m) => m.role === Role.AI);
  const human = state.status === ConversationStatus.HANDOFF || state.status === ConversationStatus.HUMAN;
  return (
    <section
      role="dialog"
      aria-label={`Chat with ${state.tenantName || "us"}`}
      data-testid="fd-panel"
      onKeyDown={onKey}
      className="flex h-[min(600px,calc(100vh-110px))] w-[min(380px,calc(100vw-40px))] flex-col overflow-hidden rounded-2xl
             border border-gray-200 bg-white shadow-2xl"
    >
      <header className="flex items-center justify-between bg-brand px-4 py-3 text-white">
        <div>
          <h2 className="text-base font-semibold" data-testid="fd-title">{state.tenantName || "Support"}</h2>
          <p className="text-xs opacity-90">
            {state.agentName ? `${state.agentName} is helping you` : human ? "A person will reply" : "Answers in seconds"}
          </p>
        </div>
        <button type="button" aria-label="Close the chat" onClick={onClose}
                className="cursor-pointer rounded p-1 hover:bg-white/20 focus-visible:outline-2 focus-visible:outline-white">
          <Icon d="M6 6l12 12M18 6L6 18" />
        </button>
      </header>

      {state.connection === "reconnecting" && (
        <p role="status" data-testid="fd-connection" className="bg-amber-50 px-4 py-1.5 text-xs text-amber-900">
          Connection lost. Reconnecting…
        </p>
      )}

      {/* a log: screen readers announce what is added; a streaming answer is announced once it is whole */}
      <div ref={list} data-testid="fd-messages" role="log" aria-label="Messages" aria-live="polite"
           aria-relevant="additions text" aria-busy={state.streaming.length > 0}
           className="flex flex-1 flex-col gap-2 overflow-y-auto bg-gray-50 px-3 py-3">
        {state.greeting && <Bubble side="left" testid="fd-greeting"><span data-testid="fd-text">{state.greeting}</span></Bubble>}
        {!state.ready && !state.error && <p className="text-center text-xs text-gray-500">Connecting…</p>}
        {state.messages.map((m) => (
          <Fragment key={m.id}>
            <MessageView m={m} state={state} controller={controller} />
            {m.id === state.agentJoinedAfter && <AgentJoined name={state.agentName} />}
          </Fragment>
        ))}
        {state.streaming.map((s) => <StreamingView key={s.replyId} s={s} />)}
        {state.pending.map((p) => <PendingView key={p.clientId} p={p} controller={controller} />)}
        {state.transcriptions.map((t) => (
          <p key={t.audioId} data-testid="fd-transcription" data-state={t.state} role="status"
             className={`self-end text-xs ${t.error ? "text-red-700" : "text-gray-500"}`}>
            {t.error || transcriptionLabel(t.state)}
          </p>
        ))}
        {state.aiTyping && state.streaming.length === 0 && <Typing />}
        {state.agentName && !state.messages.some((m) => m.id === state.agentJoinedAfter) && <AgentJoined name={state.agentName} />}
        {lastAi && state.conversationId && <Rating state={state} controller={controller} />}
      </div>

      {state.handoffNotice && (
        <p role="status" data-testid="fd-handoff" className="border-t border-blue-100 bg-blue-50 px-4 py-2 text-xs text-blue-900">
          <strong className="font-semibold">A person will reply.</strong> You can keep writing: our team answers in this chat.
        </p>
      )}
      {state.error && (
        <div role="alert" data-testid="fd-error" className="flex items-start gap-2 border-t border-red-100 bg-red-50 px-4 py-2 text-xs text-red-800">
          <span className="flex-1">{state.error}</span>
          <button type="button" className="cursor-pointer underline" onClick={() => controller.dismissError()}>Dismiss</button>
        </div>
      )}
      <Composer controller={controller} human={human} />
    </section>
  );
}

function MessageView({ m, state, controller }: { m: Message; state: ChatState; controller: ChatController }) {
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

function AgentJoined({ name }: { name: string }) {
  return name ? <p data-testid="fd-agent-joined" className="text-center text-xs text-gray-600">{name} joined the conversation</p> : null;
}

function StreamingView({ s }: { s: Streaming }) {
  return (
    <Bubble side="left" testid="fd-message-ai" streaming>
      <span data-testid="fd-text">{s.text}</span>
      {s.gap && <span aria-hidden="true"> …</span>}
      <span className="ml-0.5 inline-block h-3.5 w-1.5 animate-pulse bg-gray-400 align-middle" aria-hidden="true" />
    </Bubble>
  );
}

function PendingView({ p, controller }: { p: Pending; controller: ChatController }) {
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

function Bubble({ side, testid, id, streaming, pending, children }: {
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

function Rating({ state, controller }: { state: ChatState; controller: ChatController }) {
  return (
    <div data-testid="fd-rating" role="group" aria-label="Rate this conversation" className="mt-2 self-center text-center">
      <p className="text-xs text-gray-600">{state.rating ? "Thanks for your rating!" : "How was this conversation?"}</p>
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

function Typing() {
  return (
    <div data-testid="fd-typing" role="status" aria-label="The assistant is typing"
         className="flex gap-1 self-start rounded-2xl border border-gray-200 bg-white px-3 py-3">
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
      <span className="fd-dot size-1.5 rounded-full bg-gray-500" />
    </div>
  );
}

function Composer({ controller, human }: { controller: ChatController; human: boolean }) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = () => {
    if (!text.trim() && !files.length) return;
    void controller.send(text, files);
    setText("");
    setFiles([]);
  };
  return (
    <form className="border-t border-gray-200 bg-white p-2" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {files.length > 0 && (
        <ul className="mb-1 flex flex-wrap gap-1">
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`} className="flex items-center gap-1 rounded bg-gray-100 px-1.5 py-0.5 text-xs">
              {f.name}
              <button type="button" aria-label={`Remove ${f.name}`} className="cursor-pointer"
                      onClick={() => setFiles(files.filter((_, j) => j !== i))}>×</button>
            </li>
          ))}
        </ul>
      )}
      <div className="flex items-end gap-1">
        <label className="sr-only" htmlFor="fd-input">Your message</label>
        <textarea
          id="fd-input"
          ref={input}
          data-testid="fd-input"
          rows={1}
          maxLength={10_000}
          value={text}
          placeholder={human ? "Write to our team…" : "Ask a question…"}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              submit();
            }
          }}
          className="max-h-28 min-h-9 flex-1 resize-none rounded-lg border border-gray-300 px-2.5 py-2 text-sm
                 focus:border-brand focus:outline-none"
        />
        <input ref={picker} type="file" multiple hidden data-testid="fd-file"
               accept="image/*,application/pdf,text/plain,audio/*"
               onChange={(e) => {
                 const chosen = Array.from((e.target as HTMLInputElement).files ?? []);
                 setFiles([...files, ...chosen].slice(0, MAX_FILES));
                 (e.target as HTMLInputElement).value = "";
               }} />
        <IconButton label="Attach a file" testid="fd-attach" onClick={() => picker.current?.click()}
                    d="M15.5 6.5l-7 7a2 2 0 0 0 2.8 2.8l7-7a4 4 0 0 0-5.6-5.6l-7 7a6 6 0 0 0 8.5 8.5l6-6" />
        <Recorder onRecorded={(blob) => void controller.sendVoice(blob)} />
        <button type="submit" data-testid="fd-send" aria-label="Send"
                className="flex size-9 cursor-pointer items-center justify-center rounded-lg bg-brand text-white hover:bg-brand-dark
                       focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-brand">
          <Icon size={18} d="M4 12l16-8-6 16-2-7z" />
        </button>
      </div>
      {!human && (
        <button type="button" data-testid="fd-request-human" onClick={() => void controller.requestHuman()}
                className="mt-1 cursor-pointer text-[11px] text-gray-500 underline hover:text-gray-700">
          Talk to a person
        </button>
      )}
    </form>
  );
}

function transcriptionLabel(state: string): string {
  switch (state) {
    case "transcribing": return "Transcribing your voice message…";
    case "failed": return "We could not understand that recording.";
    default: return "Voice message received, transcribing soon…";
  }
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
  } catch {
    return "";
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
