import { api, formatTime } from "../api";
import { Badge, Card, ErrorBanner, PageHeader, Spinner, Table, Td, useLoad } from "../components";

const REFRESH_MS = 3000;

export function healthTone(health: string) {
  return health === "SERVING" ? "green" : health === "UNKNOWN" ? "amber" : "red";
}

export function StatusPage() {
  const status = useLoad((signal) => api.admin.getSystemStatus({}, { signal, timeoutMs: 10_000 }), [], REFRESH_MS);
  const s = status.data;
  const down = s?.services.filter((x) => x.health !== "SERVING") ?? [];
  return (
    <div>
      <PageHeader title="System status">
        <span className="text-xs text-slate-500">
          {s ? `checked ${formatTime(s.checkedAt)}` : ""} · refreshes every {REFRESH_MS / 1000} s
        </span>
      </PageHeader>
      <ErrorBanner error={status.error} onRetry={status.reload} />
      {!s && !status.error && <Spinner />}
      {s && (
        <div className="space-y-4">
          <p className="text-sm" data-testid="overall">
            {down.length === 0
              ? <Badge tone="green">All {s.services.length} services serving</Badge>
              : <Badge tone="red">{down.length} of {s.services.length} services not serving</Badge>}
          </p>
          <Card title="Services">
            <Table head={["Service", "Health", "Address", "Detail"]}>
              {s.services.map((svc) => (
                <tr key={svc.name + svc.address} data-service={svc.name}>
                  <Td className="font-medium">{svc.name}</Td>
                  <Td><Badge tone={healthTone(svc.health)}>{svc.health || "UNKNOWN"}</Badge></Td>
                  <Td className="font-mono text-xs">{svc.address}</Td>
                  <Td className="text-slate-600">{svc.detail}</Td>
                </tr>
              ))}
            </Table>
          </Card>
          <Card title="AI job queues">
            <Table head={["Stream", "Consumers", "Pending", "Ack pending", "Redelivered", "Idle workers"]}
                   empty={s.queues.length === 0 && <p className="p-2 text-sm text-slate-500">No queue information (is NATS reachable?).</p>}>
              {s.queues.map((q) => (
                <tr key={q.stream + q.consumer} data-queue={q.stream}>
                  <Td className="font-medium">{q.stream}</Td>
                  <Td>{q.consumer}</Td>
                  <Td>{q.pending.toString()}</Td>
                  <Td>{q.ackPending.toString()}</Td>
                  <Td>{q.redelivered > 0n ? <Badge tone="amber">{q.redelivered.toString()}</Badge> : "0"}</Td>
                  <Td>{q.workers}</Td>
                </tr>
              ))}
            </Table>
          </Card>
        </div>
      )}
    </div>
  );
}
