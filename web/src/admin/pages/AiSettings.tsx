// The tenant's AI: backend and model, write-only API key, sampling and the answer threshold,
// the system prompt, which tools the AI may call, and the tenant's own HTTP tools.

import { useEffect, useState, type FormEvent } from "react";

import { Code, codeOf } from "../../api/client";
import { api } from "../api";
import { Badge, Button, Card, ErrorBanner, Field, inputClass, Notice, PageHeader, Spinner, Table, Td, useAction, useLoad } from "../components";
import type { AiSettings, HttpTool } from "../../gen/frontdesk/admin/v1/admin_pb";

const BACKENDS: [string, string][] = [
  ["", "Deployment default"],
  ["llamacpp", "llama.cpp (local open model)"],
  ["openai", "OpenAI-compatible (vLLM, Ollama, OpenAI)"],
  ["anthropic", "Anthropic Claude"],
  ["gemini", "Google Gemini"],
  ["echo", "Echo (testing)"],
];
const BUILTIN_TOOLS: [string, string][] = [
  ["search_knowledge_base", "Search the knowledge base"],
  ["handoff_to_human", "Hand off to a person"],
  ["conversation_history", "Read the conversation's history"],
];

interface Form {
  backend: string;
  model: string;
  baseUrl: string;
  temperature: string;
  maxTokens: string;
  answerThreshold: string;
  requestsPerMinute: string;
  toolChoice: string;
  systemPrompt: string;
  enabledTools: string[];
  apiKey: string;
  clearApiKey: boolean;
}

function toForm(s: AiSettings): Form {
  return {
    backend: s.backend, model: s.model, baseUrl: s.baseUrl, temperature: String(Math.round(s.temperature * 100) / 100),
    maxTokens: String(s.maxTokens), answerThreshold: String(Math.round(s.answerThreshold * 100) / 100),
    requestsPerMinute: String(s.requestsPerMinute), toolChoice: s.toolChoice,
    systemPrompt: s.systemPrompt, enabledTools: [...s.enabledTools], apiKey: "", clearApiKey: false,
  };
}

export function AiSettingsPage() {
  const settings = useLoad((signal) => api.admin.getAiSettings({}, { signal, timeoutMs: 15_000 }), []);
  const tools = useLoad(async (signal) => {
    try {
      return { tools: (await api.admin.listTools({}, { signal, timeoutMs: 15_000 })).tools, unavailable: false };
    } catch (err) {
      if (codeOf(err) === Code.Unimplemented) return { tools: [] as HttpTool[], unavailable: true };
      throw err;
    }
  }, []);
  const [form, setForm] = useState<Form>();
  const [hasKey, setHasKey] = useState(false);
  const save = useAction();
  const [saved, setSaved] = useState(false);
  const readOnly = !api.canManage;

  useEffect(() => {
    if (settings.data) {
      setForm(toForm(settings.data));
      setHasKey(settings.data.hasApiKey);
    }
  }, [settings.data]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!form) return;
    setSaved(false);
    const num = (v: string, name: string) => {
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n)) throw new Error(`${name} must be a number`);
      return n;
    };
    let values;
    try {
      values = { temperature: num(form.temperature, "Temperature"), maxTokens: Math.trunc(num(form.maxTokens, "Max tokens")),
                 answerThreshold: num(form.answerThreshold, "Answer threshold"),
                 requestsPerMinute: Math.trunc(num(form.requestsPerMinute, "Requests per minute")) };
    } catch (err) {
      save.setError((err as Error).message + ".");
      return;
    }
    const ok = await save.run(async () => {
      const updated = await api.admin.updateAiSettings({
        settings: { backend: form.backend, model: form.model.trim(), baseUrl: form.baseUrl.trim(), ...values,
                    systemPrompt: form.systemPrompt, enabledTools: form.enabledTools,
                    toolChoice: form.toolChoice.trim() },
        apiKey: form.apiKey, clearApiKey: form.clearApiKey,
      }, { timeoutMs: 15_000 });
      setForm(toForm(updated));
      setHasKey(updated.hasApiKey);
    });
    setSaved(ok);
  }

  const set = (k: keyof Form) => (e: { target: { value: string } }) => form && setForm({ ...form, [k]: e.target.value });
  const toggleTool = (name: string) => form && setForm({
    ...form, enabledTools: form.enabledTools.includes(name) ? form.enabledTools.filter((t) => t !== name) : [...form.enabledTools, name],
  });
  const toolChoices: [string, string][] = [...BUILTIN_TOOLS, ...(tools.data?.tools ?? []).map((t): [string, string] => [t.name, t.description])];
  for (const t of form?.enabledTools ?? []) if (!toolChoices.some(([n]) => n === t)) toolChoices.push([t, "(no longer defined)"]);

  return (
    <div className="space-y-4">
      <PageHeader title="AI settings" />
      {readOnly && <Notice>Only owners and admins can change these settings.</Notice>}
      <ErrorBanner error={settings.error} onRetry={settings.reload} />
      {!form && !settings.error && <Spinner />}
      {form && (
        <Card title="Model and answers">
          <form onSubmit={submit} className="grid gap-4 md:grid-cols-2">
            <fieldset disabled={readOnly} className="contents">
              <Field label="Backend">
                <select className={inputClass} value={form.backend} onChange={set("backend")}>
                  {BACKENDS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
                  {!BACKENDS.some(([v]) => v === form.backend) && <option value={form.backend}>{form.backend}</option>}
                </select>
              </Field>
              <Field label="Model" hint="Empty: the backend's default">
                <input className={inputClass} value={form.model} onChange={set("model")} />
              </Field>
              <Field label="Base URL" hint="OpenAI-compatible endpoint (vLLM, Ollama, …)">
                <input className={inputClass} value={form.baseUrl} onChange={set("baseUrl")} placeholder="https://…" />
              </Field>
              <Field label="API key" hint={hasKey ? "A key is stored; it is never shown. Leave empty to keep it." : "No key stored. It is write-only: never shown again."}>
                <input className={inputClass} type="password" autoComplete="off" value={form.apiKey} onChange={set("apiKey")}
                       placeholder={hasKey ? "•••••••• (stored)" : ""} />
                {hasKey && (
                  <label className="mt-1 flex items-center gap-2 text-xs">
                    <input type="checkbox" checked={form.clearApiKey} onChange={(e) => setForm({ ...form, clearApiKey: e.target.checked })} />
                    Remove the stored key
                  </label>
                )}
              </Field>
              <Field label="Temperature" hint="0 to 2">
                <input className={inputClass} type="number" step="0.05" min="0" max="2" value={form.temperature} onChange={set("temperature")} />
              </Field>
              <Field label="Max tokens" hint="0 = default, at most 4096">
                <input className={inputClass} type="number" step="1" min="0" max="4096" value={form.maxTokens} onChange={set("maxTokens")} />
              </Field>
              <Field label="Answer threshold" hint="Retrieval confidence (0 to 1) needed to answer instead of handing off; 0 = default">
                <input className={inputClass} type="number" step="0.01" min="0" max="1" value={form.answerThreshold} onChange={set("answerThreshold")} />
              </Field>
              <Field label="Requests per minute" hint="Your model key's quota, shared by every worker; 0 = no limit">
                <input className={inputClass} type="number" step="1" min="0" value={form.requestsPerMinute} onChange={set("requestsPerMinute")} />
              </Field>
              <Field label="Tool choice" hint="auto (the model decides), required, or an enabled tool's name to call first">
                <input className={inputClass} value={form.toolChoice} onChange={set("toolChoice")} placeholder="auto" />
              </Field>
              <div className="md:col-span-2">
                <Field label="System prompt" hint={`${form.systemPrompt.length} / 4000 characters`}>
                  <textarea className={inputClass} rows={5} maxLength={4000} value={form.systemPrompt} onChange={set("systemPrompt")} />
                </Field>
              </div>
              <fieldset className="md:col-span-2">
                <legend className="mb-1 text-sm font-medium text-slate-700">Tools the AI may call</legend>
                <div className="grid gap-1 md:grid-cols-2">
                  {toolChoices.map(([name, description]) => (
                    <label key={name} className="flex items-start gap-2 text-sm">
                      <input type="checkbox" className="mt-1" checked={form.enabledTools.includes(name)} onChange={() => toggleTool(name)} />
                      <span><span className="font-mono">{name}</span> <span className="text-slate-500">{description}</span></span>
                    </label>
                  ))}
                </div>
              </fieldset>
            </fieldset>
            <div className="md:col-span-2">
              <ErrorBanner error={save.error} />
              {saved && <Notice tone="success">Saved.</Notice>}
              {!readOnly && <Button type="submit" variant="primary" disabled={save.busy}>{save.busy ? "Saving…" : "Save settings"}</Button>}
            </div>
          </form>
        </Card>
      )}
      <ToolsCard tools={tools.data?.tools} unavailable={tools.data?.unavailable ?? false} error={tools.error}
                 reload={tools.reload} readOnly={readOnly} />
    </div>
  );
}

function ToolsCard({ tools, unavailable, error, reload, readOnly }:
  { tools?: HttpTool[]; unavailable: boolean; error: unknown; reload: () => void; readOnly: boolean }) {
  const del = useAction();
  return (
    <Card title="HTTP tools">
      <p className="mb-3 text-sm text-slate-600">Your own systems the AI may call (order status, bookings, …). Requests can be signed with a secret.</p>
      {unavailable && <Notice tone="warning">Tools are not available on this server yet (the server does not implement them).</Notice>}
      <ErrorBanner error={error} onRetry={reload} />
      <ErrorBanner error={del.error} />
      {tools && !unavailable && (
        <Table head={["Name", "Method", "URL", "Timeout", "Signed", ""]}
               empty={tools.length === 0 && <p className="p-3 text-sm text-slate-500">No tools yet.</p>}>
          {tools.map((t) => (
            <tr key={t.name} data-tool={t.name}>
              <Td><span className="font-mono">{t.name}</span><span className="block text-xs text-slate-500">{t.description}</span></Td>
              <Td>{t.method || "POST"}</Td>
              <Td className="break-all font-mono text-xs">{t.url}</Td>
              <Td>{t.timeoutMs ? `${t.timeoutMs} ms` : "default"}</Td>
              <Td>{t.hasSecret ? <Badge tone="green">yes</Badge> : "no"}</Td>
              <Td className="text-right">
                {!readOnly && <Button variant="danger" disabled={del.busy} onClick={() => {
                  if (window.confirm(`Delete the tool ${t.name}?`)) {
                    void del.run(async () => { await api.admin.deleteTool({ name: t.name }, { timeoutMs: 15_000 }); reload(); });
                  }
                }}>Delete</Button>}
              </Td>
            </tr>
          ))}
        </Table>
      )}
      {!readOnly && !unavailable && <NewTool onCreated={reload} />}
    </Card>
  );
}

function NewTool({ onCreated }: { onCreated: () => void }) {
  const blank = { name: "", description: "", parametersSchema: '{"type": "object", "properties": {}}', url: "", method: "POST",
                  timeoutMs: "5000", secret: "" };
  const [f, setF] = useState(blank);
  const create = useAction();
  const set = (k: keyof typeof blank) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      JSON.parse(f.parametersSchema);
    } catch {
      create.setError("The parameters schema is not valid JSON.");
      return;
    }
    const ok = await create.run(() => api.admin.createTool({
      tool: { name: f.name.trim(), description: f.description.trim(), parametersSchema: f.parametersSchema, url: f.url.trim(),
              method: f.method, timeoutMs: Number(f.timeoutMs) || 0 },
      signingSecret: f.secret,
    }, { timeoutMs: 15_000 }));
    if (ok) {
      setF(blank);
      onCreated();
    }
  }
  return (
    <form onSubmit={submit} className="mt-4 grid gap-3 border-t border-slate-100 pt-4 md:grid-cols-2">
      <h3 className="text-sm font-semibold md:col-span-2">Add a tool</h3>
      <div className="md:col-span-2"><ErrorBanner error={create.error} /></div>
      <Field label="Name" hint="lower case, digits and _"><input className={inputClass} value={f.name} onChange={set("name")} pattern="[a-z][a-z0-9_]{0,63}" required /></Field>
      <Field label="URL" hint="must be allowed by the deployment"><input className={inputClass} value={f.url} onChange={set("url")} type="url" required /></Field>
      <Field label="Method">
        <select className={inputClass} value={f.method} onChange={set("method")}><option>POST</option><option>GET</option></select>
      </Field>
      <Field label="Timeout (ms)"><input className={inputClass} type="number" min="0" value={f.timeoutMs} onChange={set("timeoutMs")} /></Field>
      <div className="md:col-span-2"><Field label="Description" hint="What the model reads to decide to call it"><input className={inputClass} value={f.description} onChange={set("description")} required /></Field></div>
      <div className="md:col-span-2"><Field label="Parameters (JSON Schema)"><textarea className={`${inputClass} font-mono`} rows={4} value={f.parametersSchema} onChange={set("parametersSchema")} /></Field></div>
      <Field label="Signing secret (optional, write-only)"><input className={inputClass} type="password" autoComplete="off" value={f.secret} onChange={set("secret")} /></Field>
      <div className="flex items-end"><Button type="submit" variant="primary" disabled={create.busy}>Add tool</Button></div>
    </form>
  );
}
