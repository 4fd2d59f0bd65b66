#!/usr/bin/env python3
"""Standalone smoke test: start the test Cassandra, use it through scylla-driver, stop it.

    /tmp/cqlvenv/bin/python tools/servers/cassandra/smoke_test.py [--data DIR] [--keep]

Needs scylla-driver in the interpreter (pip install scylla-driver==3.29.12).
Exit code 0 on success.  Prints timings and the server's RSS.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load_run():
    spec = importlib.util.spec_from_file_location("frontdesk_cassandra_run", HERE / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="data dir (default: fresh temp dir, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    ap.add_argument("--port", type=int, default=0)
    ns = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    run = _load_run()
    timings: dict[str, float] = {}

    def lap(name: str, t0: float) -> None:
        timings[name] = time.monotonic() - t0
        print(f"  {name:<28} {timings[name]:7.2f}s", flush=True)

    print(f"cassandra {run.CASSANDRA_VERSION}, cache {run.default_cache_dir()}")
    t = time.monotonic()
    from cassandra import __version__ as driver_version
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    lap("import scylla-driver", t)
    print(f"  scylla-driver {driver_version}")

    t = time.monotonic()
    lib = run.ensure_installed()
    lap("ensure_installed", t)
    print(f"  jars: {lib} ({len(list(lib.glob('*.jar')))} jars)")

    data = Path(ns.data) if ns.data else Path(tempfile.mkdtemp(prefix="cass-smoke-"))
    t_total = time.monotonic()
    t = time.monotonic()
    srv = run.start(data, ns.port)
    lap("start -> CQL ready", t)
    ok = False
    try:
        print(f"  server {srv.contact_point} pid {srv.pid}, RSS after start {srv.rss_bytes() / 2**20:.0f} MiB")

        t = time.monotonic()
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc="datacenter1"))
        )
        cluster = Cluster([srv.host], port=srv.port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
        session = cluster.connect()
        lap("driver connect", t)
        row = session.execute("SELECT release_version, cluster_name FROM system.local").one()
        print(
            f"  release_version={row.release_version} cluster={row.cluster_name} "
            f"protocol_version={cluster.protocol_version}"
        )

        t = time.monotonic()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS frontdesk_smoke WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        lap("CREATE KEYSPACE", t)
        t = time.monotonic()
        session.execute("""
            CREATE TABLE IF NOT EXISTS frontdesk_smoke.chat_log (
                tenant_id text,
                conversation_id uuid,
                seq int,
                ts timestamp,
                role text,
                body text,
                PRIMARY KEY ((tenant_id, conversation_id), seq)
            ) WITH CLUSTERING ORDER BY (seq ASC)""")
        lap("CREATE TABLE", t)

        t = time.monotonic()
        insert = session.prepare(
            "INSERT INTO frontdesk_smoke.chat_log (tenant_id, conversation_id, seq, ts, role, body) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        conv = uuid.uuid4()
        msgs = [
            ("user", "Hi, my order #123 has not arrived."),
            ("assistant", "Sorry about that! Let me check the tracking."),
            ("user", "Thanks \N{SLIGHTLY SMILING FACE}"),
        ]
        for i, (role, body) in enumerate(msgs):
            session.execute(insert, ("tenant-a", conv, i, datetime.now(UTC), role, body))
        session.execute(insert, ("tenant-b", conv, 0, datetime.now(UTC), "user", "other tenant"))
        lap("prepare + 4 INSERTs", t)

        t = time.monotonic()
        select = session.prepare(
            "SELECT seq, role, body FROM frontdesk_smoke.chat_log WHERE tenant_id = ? AND conversation_id = ?"
        )
        rows = list(session.execute(select, ("tenant-a", conv)))
        lap("SELECT", t)
        for r in rows:
            print(f"    {r.seq} {r.role:<9} {r.body}")
        got = [(r.role, r.body) for r in rows]
        assert got == msgs, f"read back {got!r}, expected {msgs!r}"
        assert len(list(session.execute(select, ("tenant-b", conv)))) == 1

        cluster.shutdown()
        print(f"  RSS after queries {srv.rss_bytes() / 2**20:.0f} MiB")
        ok = True
    finally:
        t = time.monotonic()
        pid = srv.pid
        rc = srv.stop()
        lap("stop (SIGTERM -> exit)", t)
        alive = os.path.exists(f"/proc/{pid}") and not _is_zombie(pid)
        print(f"  server exit code {rc}; process still alive: {alive}")
        if alive:
            ok = False
        if not ok:
            print("---- server log tail ----\n" + srv.log_tail(80))
        if not ns.data and not ns.keep:
            shutil.rmtree(data, ignore_errors=True)
    lap("total (start..stop)", t_total)
    print("SMOKE TEST PASSED" if ok else "SMOKE TEST FAILED")
    return 0 if ok else 1


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
