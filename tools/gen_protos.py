"""Generate the Python stubs from protos/ (the one contract) with grpcio-tools.

Usage: python tools/gen_protos.py [--check]

protos/public holds the API the outside world calls (the browser client is generated from it
alone), protos/internal the contracts between our own services. Both keep their proto
packages (`frontdesk.chat.v1` ...) and file names (`frontdesk/chat/v1/chat.proto`), so the
wire, reflection and descriptors are unchanged.

The stubs go into their own package, frontdesk_pb/ (frontdesk_pb/<package>/v1/*_pb2.py), apart
from every hand-written module: protoc writes them under the proto file's path (frontdesk/...),
and this script moves them under frontdesk_pb/ and points their imports of each other there.
--check regenerates into a temporary directory and fails if the committed stubs differ, so
stale generated code cannot land.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOTS = [ROOT / "protos" / "public", ROOT / "protos" / "internal"]
PROTO_PACKAGE = "frontdesk"  # the first part of every proto package and file path
PACKAGE = "frontdesk_pb"  # the Python package the stubs live in
HEADER = "# Generated from protos/ by tools/gen_protos.py; do not edit.\n"
# `from frontdesk.common.v1 import common_pb2 as ...` -> `from frontdesk_pb.common.v1 import ...`
IMPORT = re.compile(rf"^(\s*)(from|import) {PROTO_PACKAGE}\.(?=\w+\.v\d)", re.MULTILINE)


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(root)) for root in PROTO_ROOTS for p in root.rglob("*.proto"))


def generate(out: Path) -> list[Path]:
    """Writes the package into out/frontdesk_pb and returns the paths it made, relative to out."""
    include = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as raw:
        args = [
            "protoc",
            *(f"-I{root}" for root in PROTO_ROOTS),
            f"-I{include}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            f"--grpc_python_out={raw}",
            *proto_files(),
        ]
        if protoc.main(args) != 0:
            print("protoc failed", file=sys.stderr)
            raise SystemExit(1)
        produced = []
        for stub in sorted(Path(raw, PROTO_PACKAGE).rglob("*_pb2*.py*")):
            rel = Path(PACKAGE) / stub.relative_to(Path(raw, PROTO_PACKAGE))
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(IMPORT.sub(rf"\1\2 {PACKAGE}.", stub.read_text()))
            produced.append(rel)
    # every generated folder is a package, so the stubs import each other normally
    for folder in sorted({p.parent for p in produced} | {Path(PACKAGE)}):
        while folder.parts:
            init = out / folder / "__init__.py"
            if not init.exists():
                init.write_text(HEADER)
                produced.append(folder / "__init__.py")
            folder = folder.parent
    return sorted(set(produced))


def generated_in_tree() -> set[Path]:
    return {p.relative_to(ROOT) for p in (ROOT / PACKAGE).rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def main() -> int:
    check = "--check" in sys.argv[1:]
    if not check:
        shutil.rmtree(ROOT / PACKAGE, ignore_errors=True)
        generate(ROOT)
        print(f"generated stubs for {len(proto_files())} proto files into {PACKAGE}/")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = set(generate(Path(tmp)))
        problems = [
            str(p) for p in fresh if not (ROOT / p).exists() or not filecmp.cmp(Path(tmp) / p, ROOT / p, shallow=False)
        ]
        problems += [f"{p} (no longer generated)" for p in generated_in_tree() - fresh]
    if problems:
        print("generated stubs are stale; run `make protos`:\n  " + "\n  ".join(sorted(problems)))
        return 1
    print(f"generated stubs are up to date ({len(fresh)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
