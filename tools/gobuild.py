"""Build a Go tool the tests use from the Go module proxy, once, into the cache.

The tools are Go modules kept in this repository (deploy/validate, tools/grpctools) whose
go.sum pins every dependency. A build lands in ``~/.cache/frontdesk/tools/<name>-<hash>/``,
keyed by a hash of the module's go.mod, go.sum and .go files, so a later run costs a stat
and a changed pin builds anew. Module downloads and the build cache are shared with
tools/servers/s3 (MinIO) under ``~/.cache/frontdesk/go``. Concurrent test processes wait
on a file lock instead of building twice.

    python tools/gobuild.py grpctools    # prints the folder with the built binaries
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (module folder, main packages to build)
TOOLS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "deploy-validate": (ROOT / "deploy" / "validate", (".",)),
    "grpctools": (
        ROOT / "tools" / "grpctools",
        ("github.com/fullstorydev/grpcurl/cmd/grpcurl", "github.com/bojand/ghz/cmd/ghz"),
    ),
}


def cache_root() -> Path:
    env = os.environ.get("FRONTDESK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "frontdesk"


def go_binary() -> str:
    go = os.environ.get("FRONTDESK_GO") or shutil.which("go")
    for candidate in (go, "/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("the go tool is needed to build the test tools (PATH or FRONTDESK_GO)")


def go_env() -> dict[str, str]:
    go_cache = cache_root() / "go"
    return dict(
        os.environ,
        GOPATH=str(go_cache / "path"),
        GOMODCACHE=str(go_cache / "mod"),
        GOCACHE=str(go_cache / "build"),
        GOTOOLCHAIN="local",
        GOWORK="off",
        CGO_ENABLED="0",
        GOFLAGS="-mod=readonly",
    )  # go.sum must already hold every module


def _source_hash(module: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(module.iterdir()):
        if path.suffix == ".go" or path.name in ("go.mod", "go.sum"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build(name: str) -> Path:
    """The folder holding the tool's built binaries; builds them (minutes, once) when missing."""
    module, packages = TOOLS[name]
    install = cache_root() / "tools" / f"{name}-{_source_hash(module)}"
    done = install / ".built"
    if done.is_file():
        return install
    install.mkdir(parents=True, exist_ok=True)
    with open(install / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it
        if done.is_file():
            return install
        tmp = install / f".tmp{os.getpid()}"
        tmp.mkdir(exist_ok=True)
        try:
            result = subprocess.run(
                [go_binary(), "build", "-trimpath", "-o", str(tmp) + os.sep, *packages],
                cwd=module,
                env=go_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"building {name} failed:\n{result.stderr[-4000:]}")
            for binary in tmp.iterdir():
                os.replace(binary, install / binary.name)
            done.touch()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return install


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "grpctools"))
