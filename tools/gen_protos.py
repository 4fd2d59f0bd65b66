"""Generate the Python stubs from protos/ (the one contract) with grpcio-tools.

Usage: python tools/gen_protos.py [--check]
Output goes under frontdesk/ (frontdesk/<service>/v1/*_pb2.py), mirroring the proto
packages. --check regenerates into a temporary directory and fails if the committed
stubs differ, so stale generated code cannot land.
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "frontdesk"


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))


def generate(out: Path) -> list[Path]:
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    produced = []
    for d in sorted({p.parent for p in out.rglob("*_pb2*.py*")}):
        # every generated folder is a package so the stubs import each other normally
        rel = d.relative_to(out)
        while rel.parts and rel != Path(PACKAGE):
            init = out / rel / "__init__.py"
            if not init.exists():
                init.write_text("# Generated from protos/ by tools/gen_protos.py; do not edit.\n")
            rel = rel.parent
    for p in out.rglob("*"):
        if p.is_file() and (p.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")) or p.name == "__init__.py"):
            produced.append(p.relative_to(out))
    return sorted(produced)


def generated_in_tree() -> set[Path]:
    found = set()
    for p in (ROOT / PACKAGE).rglob("*"):
        if p.is_file() and p.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")):
            found.add(p.relative_to(ROOT))
    return found


def main() -> int:
    check = "--check" in sys.argv[1:]
    if not check:
        for stale in generated_in_tree():
            (ROOT / stale).unlink()
        generate(ROOT)
        print(f"generated stubs for {len(proto_files())} proto files")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stubs = {p for p in fresh if p.name != "__init__.py"}
        problems = [
            str(p) for p in stubs if not (ROOT / p).exists() or not filecmp.cmp(Path(tmp) / p, ROOT / p, shallow=False)
        ]
        problems += [f"{p} (no longer generated)" for p in generated_in_tree() - stubs]
    if problems:
        print("generated stubs are stale; run `make protos`:\n  " + "\n  ".join(sorted(problems)))
        return 1
    print(f"generated stubs are up to date ({len(stubs)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
