// API keys (the plaintext is shown once, when created) and the tenant's operators with roles.

import { useState, type FormEvent } from "react";

import { api, formatTime, toDate } from "../api";
import { Badge, Button, Card, ErrorBanner, Field, inputClass, Notice, PageHeader, Spinner, Table, Td, useAction, useLoad } from "../components";

const ROLES = ["owner", "admin", "agent"] as const;

export function AccessPage() {
  return (
    <div className="space-y-4">
      <PageHeader title="API keys & operators" />
      {api.canManage ? <ApiKeys /> : <Notice>Only owners and admins can see and manage API keys.</Notice>}
      <Operators />
      {api.canManage && <AutoResolve />}
    </div>
  );
}

function ApiKeys() {
  const keys = useLoad((signal) => api.admin.listApiKeys({}, { signal, timeoutMs: 15_000 }), []);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; plaintext: string }>();
  const create = useAction();
  const revoke = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await create.run(async () => {
      const res = await api.admin.createApiKey({ name: name.trim() }, { timeoutMs: 15_000 });
      setCreated({ name: res.key?.name || name.trim(), plaintext: res.plaintext });
    });
    if (ok) {
      setName("");
      keys.reload();
    }
  }

  return (
    <Card title="API keys">
      <p className="mb-3 text-sm text-slate-600">For your servers: they call the frontdesk API as your organisation. Only a hash is stored.</p>
      {created && (
        <div role="status" className="mb-3 rounded-md border border-emerald-300 bg-emerald-50 p-3 text-sm">
          <p className="font-medium">New key “{created.name}”. Copy it now: it will not be shown again.</p>
          <div className="mt-2 flex items-center gap-2">
            <code data-testid="new-api-key" className="break-all rounded bg-white px-2 py-1 font-mono text-xs">{created.plaintext}</code>
            <Button onClick={() => void navigator.clipboard?.writeText(created.plaintext)}>Copy</Button>
            <Button onClick={() => setCreated(undefined)}>Done</Button>
          </div>
        </div>
      )}
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-2">
        <Field label="Name"><input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. CRM integration" required /></Field>
        <Button type="submit" variant="primary" disabled={create.busy}>Create key</Button>
      </form>
      <ErrorBanner error={create.error} />
      <ErrorBanner error={revoke.error} />
      <ErrorBanner error={keys.error} onRetry={keys.reload} />
      {!keys.data && !keys.error && <Spinner />}
      {keys.data && (
        <Table head={["Name", "Created", "Last used", "State", ""]}
               empty={keys.data.keys.length === 0 && <p className="p-3 text-sm text-slate-500">No API keys.</p>}>
          {keys.data.keys.map((k) => {
            const revoked = toDate(k.revokedAt);
            return (
              <tr key={k.id} data-key={k.id}>
                <Td><span className="font-medium">{k.name || "(unnamed)"}</span><span className="block font-mono text-[11px] text-slate-400">{k.id}</span></Td>
                <Td className="text-xs">{formatTime(k.createdAt)}</Td>
                <Td className="text-xs">{formatTime(k.lastUsedAt)}</Td>
                <Td>{revoked ? <Badge tone="red">revoked {revoked.toLocaleDateString()}</Badge> : <Badge tone="green">active</Badge>}</Td>
                <Td className="text-right">
                  {!revoked && <Button variant="danger" disabled={revoke.busy} onClick={() => {
                    if (window.confirm(`Revoke the key “${k.name}”? Integrations using it stop working at once.`)) {
                      void revoke.run(async () => { await api.admin.revokeApiKey({ keyId: k.id }, { timeoutMs: 15_000 }); keys.reload(); });
                    }
                  }}>Revoke</Button>}
                </Td>
              </tr>
            );
          })}
        </Table>
      )}
    </Card>
  );
}

function Operators() {
  const ops = useLoad((signal) => api.admin.listOperators({}, { signal, timeoutMs: 15_000 }), []);
  const change = useAction();
  const manage = api.canManage;
  const blank = { email: "", displayName: "", role: "agent", password: "" };
  const [f, setF] = useState(blank);
  const create = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (f.password.length < 8) {
      create.setError("The password needs at least 8 characters.");
      return;
    }
    const ok = await create.run(() => api.admin.createOperator({ ...f, email: f.email.trim(), displayName: f.displayName.trim() },
                                                               { timeoutMs: 15_000 }));
    if (ok) {
      setF(blank);
      ops.reload();
    }
  }

  return (
    <Card title="Operators">
      <p className="mb-3 text-sm text-slate-600">Owners manage everything; admins manage settings, keys and agents; agents handle conversations.</p>
      <ErrorBanner error={ops.error} onRetry={ops.reload} />
      <ErrorBanner error={change.error} />
      {!ops.data && !ops.error && <Spinner />}
      {ops.data && (
        <Table head={["Name", "Email", "Role", "Since", ""]}>
          {ops.data.operators.map((o) => (
            <tr key={o.id} data-operator={o.email}>
              <Td className="font-medium">{o.displayName || "–"}{o.id === api.session?.operatorId && <span className="ml-1 text-xs text-slate-500">(you)</span>}</Td>
              <Td>{o.email}</Td>
              <Td>
                {manage ? (
                  <select aria-label={`Role of ${o.email}`} className={inputClass} value={o.role} disabled={change.busy}
                          onChange={(e) => void change.run(async () => {
                            await api.admin.updateOperator({ operatorId: o.id, role: e.target.value }, { timeoutMs: 15_000 });
                            ops.reload();
                          })}>
                    {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                ) : <Badge>{o.role}</Badge>}
              </Td>
              <Td className="text-xs">{formatTime(o.createdAt)}</Td>
              <Td className="text-right">
                {manage && o.id !== api.session?.operatorId && <Button variant="danger" disabled={change.busy} onClick={() => {
                  if (window.confirm(`Remove the operator ${o.email}?`)) {
                    void change.run(async () => { await api.admin.deleteOperator({ operatorId: o.id }, { timeoutMs: 15_000 }); ops.reload(); });
                  }
                }}>Remove</Button>}
              </Td>
            </tr>
          ))}
        </Table>
      )}
      {manage && (
        <form onSubmit={submit} className="mt-4 grid gap-3 border-t border-slate-100 pt-4 md:grid-cols-5">
          <Field label="Email"><input className={inputClass} type="email" value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} required /></Field>
          <Field label="Name"><input className={inputClass} value={f.displayName} onChange={(e) => setF({ ...f, displayName: e.target.value })} /></Field>
          <Field label="Role">
            <select className={inputClass} value={f.role} onChange={(e) => setF({ ...f, role: e.target.value })}>
              {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </Field>
          <Field label="Password" hint="at least 8 characters">
            <input className={inputClass} type="password" autoComplete="new-password" value={f.password} onChange={(e) => setF({ ...f, password: e.target.value })} required />
          </Field>
          <div className="flex items-end"><Button type="submit" variant="primary" disabled={create.busy}>Add operator</Button></div>
          <div className="md:col-span-5"><ErrorBanner error={create.error} /></div>
        </form>
      )}
    </Card>
  );
}

const IDLE_CHOICES: [number, string][] = [
  [0, "never"], [60, "after 1 hour"], [240, "after 4 hours"], [1440, "after 1 day"], [4320, "after 3 days"],
  [10080, "after 7 days"],
];

/** The tenant's auto-resolve time: conversations nobody wrote in for that long are resolved. */
function AutoResolve() {
  const tenant = useLoad((signal) => api.admin.getTenant({}, { signal, timeoutMs: 15_000 }), []);
  const save = useAction();
  const current = tenant.data?.autoResolveAfterMinutes ?? 0;
  const choices = IDLE_CHOICES.some(([m]) => m === current) ? IDLE_CHOICES
    : [...IDLE_CHOICES, [current, `after ${current} minutes`] as [number, string]];
  return (
    <Card title="Auto-resolve">
      <p className="mb-2 text-xs text-slate-500">
        Resolve conversations nobody has written in for a while; the customer is told and can write again any time.
        Never one waiting for a person, nor one whose customer still waits for a reply.
      </p>
      <ErrorBanner error={tenant.error ?? save.error} onRetry={tenant.reload} />
      {tenant.data && (
        <label className="flex items-center gap-2 text-sm">
          <span>Resolve idle conversations</span>
          <select aria-label="Resolve idle conversations" className={inputClass} value={current} disabled={save.busy}
                  onChange={(e) => void save.run(async () => {
                    await api.admin.updateTenant({ autoResolveAfterMinutes: Number(e.target.value) }, { timeoutMs: 15_000 });
                    tenant.reload();
                  })}>
            {choices.map(([m, label]) => <option key={m} value={m}>{label}</option>)}
          </select>
        </label>
      )}
    </Card>
  );
}
