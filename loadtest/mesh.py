"""`frontdesk run` for the load scripts (loadtest/bench.py, loadtest/soak.py): the echo backend,
free ports, every rate limit lifted (every simulated customer comes from loopback), started
in `data_dir`; returns once it says `frontdesk ready`. Its output keeps being read (the
supervisor's restarts), so the pipe never fills."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from launcher.supervisor import free_port

ROOT = Path(__file__).resolve().parent.parent
UNLIMITED = "1000000"


def start_mesh(data_dir: Path, **settings: str) -> tuple[subprocess.Popen, dict]:
    """`settings`: more FRONTDESK_* variables (without the prefix), e.g. nats_url="..."."""
    ports = {
        name: free_port() for name in ("gateway", "conversation", "inference", "speech", "analytics", "nats", "web")
    }
    env = dict(os.environ)
    env.update({f"FRONTDESK_{k.upper()}_PORT": str(v) for k, v in ports.items()})
    env.update(
        {
            "FRONTDESK_DATA_DIR": str(data_dir),
            "FRONTDESK_BACKEND": "echo",
            "FRONTDESK_LOG_LEVEL": "WARNING",
            **{
                f"FRONTDESK_{name}": UNLIMITED
                for name in (
                    "TENANT_RATE",
                    "TENANT_BURST",
                    "VISITOR_RATE",
                    "VISITOR_BURST",
                    "SESSION_RATE_PER_ADDRESS",
                    "SESSION_BURST_PER_ADDRESS",
                    "SESSION_RATE_PER_WIDGET",
                    "SESSION_BURST_PER_WIDGET",
                )
            },
            "FRONTDESK_WORKER_CONCURRENCY": "64",
            "FRONTDESK_METRICS_BASE_PORT": "0",
            "FRONTDESK_ANSWER_POLICY": "none",
            **{f"FRONTDESK_{k.upper()}": str(v) for k, v in settings.items()},
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "launcher", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "frontdesk ready" in line:
            break
    else:
        raise SystemExit(f"the mesh did not start; see {data_dir / 'logs'}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, env
