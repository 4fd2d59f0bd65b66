// The widget's composer: the message box (Enter sends, Shift+Enter a new line), files to
// attach, the voice recorder, send, and "Talk to a person".

import { useEffect, useRef, useState } from "react";

import { Icon, IconButton } from "./icons";
import type { ChatController } from "./controller";
import { Recorder } from "./recorder";

const MAX_FILES = 5;

export function Composer({ controller, human }: { controller: ChatController; human: boolean }) {
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
