// The team's saved replies (canned responses): what an operator inserts by typing "/" and the
// shortcut in a conversation's reply box. Owners and admins save and delete them; agents use them.

import { useState, type FormEvent } from "react";

import { api, formatTime } from "../api";
import { Button, Card, ErrorBanner, Field, inputClass, Notice, PageHeader, Spinner, Table, Td, useAction, useLoad } from "../components";

const opts = { timeoutMs: 15_000 };

export function SavedRepliesPage() {
  const [version, setVersion] = useState(0);
  const list = useLoad((signal) => api.admin.listCannedResponses({}, { ...opts, signal }), [version]);
  const del = useAction();
  const manages = api.session?.role === "owner" || api.session?.role === "admin";
  const refresh = () => setVersion((v) => v + 1);

  return (
    <div className="space-y-4">
      <PageHeader title="Saved replies" />
      {manages ? <SaveReply onDone={refresh} />
        : <Notice>Owners and admins manage the saved replies; type / and a shortcut in a reply to use one.</Notice>}
      <Card title="Replies">
        <ErrorBanner error={list.error ?? del.error} onRetry={list.reload} />
        {!list.data && !list.error && <Spinner />}
        {list.data && (
          <Table head={["Shortcut", "Reply", "Saved", ""]}
                 empty={list.data.responses.length === 0 && <p className="p-3 text-sm text-slate-500">No saved replies yet.</p>}>
            {list.data.responses.map((r) => (
              <tr key={r.shortcut} data-reply={r.shortcut}>
                <Td><span className="font-mono text-indigo-700">/{r.shortcut}</span><span className="block text-xs">{r.title}</span></Td>
                <Td><span className="whitespace-pre-wrap break-words text-sm">{r.text}</span></Td>
                <Td className="whitespace-nowrap text-xs">{formatTime(r.updatedAt)}</Td>
                <Td className="text-right">
                  {manages && <Button variant="danger" disabled={del.busy} onClick={() => {
                    if (!window.confirm(`Delete the saved reply /${r.shortcut}?`)) return;
                    void del.run(async () => {
                      await api.admin.deleteCannedResponse({ shortcut: r.shortcut }, opts);
                      refresh();
                    });
                  }}>Delete</Button>}
                </Td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}

function SaveReply({ onDone }: { onDone: () => void }) {
  const [shortcut, setShortcut] = useState("");
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const save = useAction();
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await save.run(() => api.admin.saveCannedResponse({ response: { shortcut, title, text } }, opts));
    if (ok) {
      setShortcut("");
      setTitle("");
      setText("");
      onDone();
    }
  }
  return (
    <Card title="Save a reply">
      <form onSubmit={submit} className="space-y-3">
        <ErrorBanner error={save.error} />
        <div className="grid gap-3 md:grid-cols-2">
          <Field label="Shortcut" hint="Typed as /refund; saving an existing shortcut replaces its reply.">
            <input className={inputClass} value={shortcut} onChange={(e) => setShortcut(e.target.value)} maxLength={33} required />
          </Field>
          <Field label="Title">
            <input className={inputClass} value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} />
          </Field>
        </div>
        <Field label="Reply" hint="Variables: {customer_name}, {agent_name}, {company_name}: filled in when inserted where known.">
          <textarea className={inputClass} rows={4} value={text} onChange={(e) => setText(e.target.value)} maxLength={10_000} required />
        </Field>
        <Button type="submit" variant="primary" disabled={save.busy}>{save.busy ? "Saving…" : "Save reply"}</Button>
      </form>
    </Card>
  );
}
