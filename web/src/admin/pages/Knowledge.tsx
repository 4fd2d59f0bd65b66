// The tenant's knowledge base: entries, uploads (FAQ CSV/JSONL, documents) with the
// ingestion job's progress and rejected lines, single FAQ entries, deletion, and a
// retrieval check that shows what the AI would find for a question.

import { useRef, useState, type FormEvent } from "react";

import { api, formatTime } from "../api";
import { Badge, Button, Card, ErrorBanner, Field, inputClass, Notice, PageHeader, Spinner, Table, Td, useAction, useLoad } from "../components";
import { EvaluationCard } from "../evaluation";
import type { IngestionJob, SearchResponse } from "../../gen/frontdesk/knowledge/v1/knowledge_pb";

const PAGE_SIZE = 50;
const ACCEPT = ".csv,.jsonl,.md,.markdown,.txt,.html,.htm,.pdf";

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

export function KnowledgePage() {
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages.at(-1) ?? "";
  const [version, setVersion] = useState(0);
  const list = useLoad((signal) => api.knowledge.listEntries({ pageSize: PAGE_SIZE, pageToken }, { signal, timeoutMs: 20_000 }),
                       [pageToken, version]);
  const del = useAction();
  const refresh = () => setVersion((v) => v + 1);

  return (
    <div className="space-y-4">
      <PageHeader title="Knowledge base" />
      <Upload onDone={refresh} />
      <AddFaq onDone={refresh} />
      <Card title="Entries">
        <ErrorBanner error={list.error} onRetry={list.reload} />
        <ErrorBanner error={del.error} />
        {!list.data && !list.error && <Spinner />}
        {list.data && (
          <>
            <Table head={["Title", "Kind", "Chunks", "Updated", ""]}
                   empty={list.data.entries.length === 0 && <p className="p-3 text-sm text-slate-500">The knowledge base is empty. Upload a FAQ file or a document.</p>}>
              {list.data.entries.map((e) => (
                <tr key={e.id} data-entry={e.id}>
                  <Td><span className="font-medium">{e.title || e.id}</span><span className="block font-mono text-[11px] text-slate-400">{e.id}</span></Td>
                  <Td><Badge tone={e.kind === "faq" ? "indigo" : "sky"}>{e.kind}</Badge></Td>
                  <Td>{e.chunks}</Td>
                  <Td className="whitespace-nowrap text-xs">{formatTime(e.updatedAt)}</Td>
                  <Td className="text-right">
                    <Button variant="danger" disabled={del.busy} onClick={() => {
                      if (!window.confirm(`Delete “${e.title || e.id}” from the knowledge base?`)) return;
                      void del.run(async () => {
                        await api.knowledge.deleteEntry({ id: e.id }, { timeoutMs: 20_000 });
                        refresh();
                      });
                    }}>Delete</Button>
                  </Td>
                </tr>
              ))}
            </Table>
            <div className="mt-3 flex justify-end gap-2">
              <Button disabled={pages.length <= 1} onClick={() => setPages((p) => p.slice(0, -1))}>Previous</Button>
              <Button disabled={!list.data.nextPageToken} onClick={() => setPages((p) => [...p, list.data!.nextPageToken])}>Next</Button>
            </div>
          </>
        )}
      </Card>
      <SearchCheck />
      <EvaluationCard />
    </div>
  );
}

function Upload({ onDone }: { onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [job, setJob] = useState<IngestionJob>();
  const [file, setFile] = useState("");
  const upload = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const f = input.current?.files?.[0];
    if (!f) {
      upload.setError("Choose a file first.");
      return;
    }
    setFile(f.name);
    setJob(undefined);
    await upload.run(async () => {
      const data = new Uint8Array(await f.arrayBuffer());
      let j = await api.knowledge.importFile({ filename: f.name, contentType: f.type, data }, { timeoutMs: 300_000 });
      setJob(j);
      // ingestion may run as a job: follow it until it ends
      while (j.state === "queued" || j.state === "running" || j.state === "training") {
        await sleep(1000);
        j = await api.knowledge.getIngestionJob({ jobId: j.id }, { timeoutMs: 15_000 });
        setJob(j);
      }
      onDone();
    });
    if (input.current) input.current.value = "";
  }

  const pct = job && job.total > 0 ? Math.round((100 * job.done) / job.total) : undefined;
  return (
    <Card title="Upload">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <Field label="File" hint="FAQ as CSV (id,question,answer[,examples][,url]) or JSONL; documents as Markdown, HTML, PDF or text">
          <input ref={input} name="file" type="file" accept={ACCEPT} className="text-sm" />
        </Field>
        <Button type="submit" variant="primary" disabled={upload.busy}>{upload.busy ? "Uploading…" : "Upload"}</Button>
      </form>
      <div className="mt-3">
        <ErrorBanner error={upload.error} />
        {job && (
          <div data-testid="ingestion">
            <p className="text-sm">
              {file}: <Badge tone={job.state === "done" ? "green" : job.state === "failed" ? "red" : "amber"}>{job.state}</Badge>{" "}
              {job.done} of {job.total} imported{pct !== undefined ? ` (${pct}%)` : ""}
            </p>
            {pct !== undefined && (
              <div className="mt-1 h-2 w-full max-w-md rounded bg-slate-200" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
                <div className="h-2 rounded bg-indigo-500" style={{ width: `${pct}%` }} />
              </div>
            )}
            {job.error && <Notice tone="warning">{job.error}</Notice>}
            {job.errors.length > 0 && (
              <div className="mt-2 text-sm">
                <p className="font-medium">{job.errors.length} line(s) rejected; the rest was imported:</p>
                <ul className="max-h-40 list-disc overflow-y-auto pl-5 text-xs text-red-800">
                  {job.errors.map((le, i) => <li key={i}>line {le.line}: {le.error}</li>)}
                </ul>
              </div>
            )}
          </div>
        )}
      </div>
    </Card>
  );
}

function AddFaq({ onDone }: { onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ id: "", question: "", answer: "", examples: "", url: "" });
  const save = useAction();
  const [saved, setSaved] = useState("");
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await save.run(() => api.knowledge.upsertFaqEntries({
      entries: [{ id: form.id.trim(), question: form.question.trim(), answer: form.answer.trim(), url: form.url.trim(),
                  examples: form.examples.split("\n").map((x) => x.trim()).filter(Boolean) }],
    }, { timeoutMs: 120_000 }));
    if (ok) {
      setSaved(form.id.trim());
      setForm({ id: "", question: "", answer: "", examples: "", url: "" });
      onDone();
    }
  }

  return (
    <Card title="FAQ entry" actions={<Button onClick={() => setOpen(!open)}>{open ? "Hide" : "Add or replace an entry"}</Button>}>
      {saved && <Notice tone="success">Saved “{saved}”.</Notice>}
      {open && (
        <form onSubmit={submit} className="grid gap-3 md:grid-cols-2">
          <ErrorBanner error={save.error} />
          <Field label="Id" hint="The same id replaces an entry"><input className={inputClass} value={form.id} onChange={set("id")} required /></Field>
          <Field label="Link (optional)"><input className={inputClass} value={form.url} onChange={set("url")} type="url" /></Field>
          <Field label="Question"><input className={inputClass} value={form.question} onChange={set("question")} required /></Field>
          <Field label="Other phrasings" hint="One a line"><textarea className={inputClass} rows={2} value={form.examples} onChange={set("examples")} /></Field>
          <div className="md:col-span-2"><Field label="Answer"><textarea className={inputClass} rows={3} value={form.answer} onChange={set("answer")} required /></Field></div>
          <div><Button type="submit" variant="primary" disabled={save.busy}>Save entry</Button></div>
        </form>
      )}
    </Card>
  );
}

function SearchCheck() {
  const [query, setQuery] = useState("");
  const [result, setResult] = useState<SearchResponse>();
  const search = useAction();
  return (
    <Card title="Check retrieval">
      <form className="flex gap-2" onSubmit={(e) => {
        e.preventDefault();
        if (query.trim()) void search.run(async () => setResult(await api.knowledge.search({ query, limit: 5 }, { timeoutMs: 20_000 })));
      }}>
        <input aria-label="Question" className={inputClass} placeholder="A customer's question" value={query} onChange={(e) => setQuery(e.target.value)} />
        <Button type="submit" disabled={search.busy}>Search</Button>
      </form>
      <ErrorBanner error={search.error} />
      {result && (
        <div className="mt-3 text-sm">
          <p>Answer confidence: <strong>{result.confidence.toFixed(2)}</strong> (the AI hands off below the tenant's threshold)</p>
          <ol className="mt-2 list-decimal space-y-1 pl-5">
            {result.hits.map((h) => (
              <li key={h.chunkId || h.entryId}><span className="font-medium">{h.title || h.entryId}</span> ({h.score.toFixed(2)}): <span className="text-slate-600">{h.text.slice(0, 240)}</span></li>
            ))}
          </ol>
          {result.hits.length === 0 && <p className="text-slate-500">Nothing found.</p>}
        </div>
      )}
    </Card>
  );
}
