// The widget's UI: a launcher button and a chat panel (its message log: messages.tsx; its
// composer: composer.tsx). Everything a visitor, the AI or an agent wrote is rendered as JSX
// text (text nodes), never as HTML.

import { Fragment, useCallback, useEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent } from "react";

import { ConversationStatus, Role } from "../gen/frontdesk/common/v1/common_pb";
import { Icon } from "./icons";
import { Composer } from "./composer";
import type { ChatController, ChatState } from "./controller";
import { AgentJoined, Bubble, MessageView, PendingView, Rating, StreamingView, transcriptionLabel, Typing } from "./messages";

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
  // snoozed is the team's own state: to the customer it is still with the team
  const human = state.status === ConversationStatus.HANDOFF || state.status === ConversationStatus.HUMAN
    || state.status === ConversationStatus.SNOOZED;
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
        {/* after an AI answer, and when the team has resolved the conversation */}
        {(lastAi || state.status === ConversationStatus.CLOSED) && state.conversationId &&
          <Rating state={state} controller={controller} resolved={state.status === ConversationStatus.CLOSED} />}
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
