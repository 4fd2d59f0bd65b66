"""The operator's system status (AdminService.GetSystemStatus) names every service of
the mesh with its real health, and the AI job queue."""

from __future__ import annotations

from frontdesk_pb.admin.v1 import admin_pb2
from tests.e2e.helpers import Client


async def test_status_reports_every_service_and_the_job_queue(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        op = await c.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
        status = await c.admin.GetSystemStatus(admin_pb2.GetSystemStatusRequest(), metadata=op, timeout=10)
    health = {s.name: s.health for s in status.services}
    assert health == {
        name: "SERVING" for name in ("gateway", "conversation", "inference", "speech", "analytics", "nats")
    }
    assert "JOBS" in {q.stream for q in status.queues}
    # and `frontdesk status` says the same
    out = mesh.cli("status", "--json")
    assert out.returncode == 0, out.stderr
    assert all(name in out.stdout for name in health)
