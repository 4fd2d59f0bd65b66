// The audit log (owners): every change the team or an API key made, refused attempts included,
// newest first, a page at a time; downloadable as JSON lines for an archive or a SIEM.

import { useState } from "react";

import type { AuditEntry } from "../../gen/frontdesk/admin/v1/admin_pb";
import { api, formatTime, toDate } from "../api";
import { Badge, Button, Card, ErrorBanner, Notice, PageHeader, Spinner, Table, Td, useAction, useLoad } from "../components";

const PAGE = 100;
const opts = { timeoutMs: 15_000 };

function asJson(e: AuditEntry) {
  return {
    id: e.id, at: toDate(e.at)?.toISOString() ?? "", actor_kind: e.actorKind, actor_id: e.actorId, actor_name: e.actorName,
    actor_role: e.actorRole, method: e.method, target: e.target, outcome: e.outcome,
  };
}

export function AuditLogPage() {
  const [pages, setPages] = useState<string[]>([""]);
  const token = pages.at(-1) ?? "";
  const log = useLoad((signal) => api.admin.listAuditLog({ pageSize: PAGE, pageToken: token }, { ...opts, signal }), [token]);
  const download = useAction();

  async function saveAll() {
    await download.run(async () => {
      const lines: string[] = [];
      let next = "";
      do {
        const page = await api.admin.listAuditLog({ pageSize: 500, pageToken: next }, opts);
        for (const e of page.entries) lines.push(JSON.stringify(asJson(e)));
        next = page.nextPageToken;
      } while (next);
      const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "application/x-ndjson" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `audit-${new Date().toISOString().slice(0, 10)}.jsonl`;
      a.click();
      URL.revokeObjectURL(url);
    });
  }

  if (api.session?.role !== "owner") {
    return <div><PageHeader title="Audit log" /><Notice>Only owners can read the audit log.</Notice></div>;
  }
  return (
    <div className="space-y-4">
      <PageHeader title="Audit log">
        <Button disabled={download.busy} onClick={() => void saveAll()}>{download.busy ? "Preparing…" : "Download (JSON lines)"}</Button>
      </PageHeader>
      <ErrorBanner error={log.error ?? download.error} onRetry={log.reload} />
      {!log.data && !log.error && <Spinner />}
      {log.data && (
        <Card>
          <Table head={["When", "Who", "Action", "What", "Outcome"]}
                 empty={log.data.entries.length === 0 && <p className="p-3 text-sm text-slate-500">Nothing recorded yet.</p>}>
            {log.data.entries.map((e) => (
              <tr key={e.id} data-audit={e.method}>
                <Td className="whitespace-nowrap text-xs">{formatTime(e.at)}</Td>
                <Td className="text-xs">{e.actorName || e.actorId} <span className="text-slate-500">({e.actorKind === "api_key" ? "API key" : e.actorRole})</span></Td>
                <Td className="font-mono text-xs">{e.method}</Td>
                <Td className="break-all text-xs">{Object.entries(e.target).map(([k, v]) => `${k}: ${v}`).join(" · ")}</Td>
                <Td>{e.outcome === "ok" ? <Badge tone="green">ok</Badge> : <Badge tone="red">{e.outcome.toLowerCase().replaceAll("_", " ")}</Badge>}</Td>
              </tr>
            ))}
          </Table>
          <div className="mt-3 flex items-center justify-between text-sm">
            <span className="text-slate-500">Page {pages.length}</span>
            <div className="flex gap-2">
              <Button disabled={pages.length <= 1} onClick={() => setPages((p) => p.slice(0, -1))}>Newer</Button>
              <Button disabled={!log.data.nextPageToken} onClick={() => setPages((p) => [...p, log.data!.nextPageToken])}>Older</Button>
            </div>
          </div>
        </Card>
      )}
    </div>
  );
}
