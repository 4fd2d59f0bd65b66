"""`buf lint` and `buf breaking` on protos/ (make check).

buf breaking compares the working tree with the protos of the commit before HEAD (so a
clean checkout of a new commit is checked against its parent, and uncommitted edits are
checked too). That commit's protos are built from its own layout: protos/ alone before the
public/internal split, buf.yaml's modules after it. Proto file paths (frontdesk/chat/v1/...)
are the same in both layouts, so what is compared is the contract, not where it sits.

A shallow clone without the parent commit is compared with HEAD instead, and says so.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / "web" / "node_modules" / ".bin" / "buf"


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def baseline() -> str:
    for rev in ("HEAD~1", "HEAD"):
        try:
            git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except subprocess.CalledProcessError:
            print(f"proto check: {rev} is not in this clone", file=sys.stderr)
            continue
        return rev
    raise RuntimeError("no commit to compare the protos with")


def build_image(rev: str, out: Path) -> Path:
    """The protos of `rev` as a buf image."""
    tree = out / "tree"
    tree.mkdir()
    names = [n for n in ("buf.yaml", "protos") if git("ls-tree", "--name-only", rev, n).strip()]
    with tarfile.open(fileobj=BytesIO(git("archive", "--format=tar", rev, *names))) as archive:
        archive.extractall(tree, filter="data")
    source = tree if (tree / "buf.yaml").exists() else tree / "protos"
    image = out / "image.binpb"
    subprocess.run([str(BUF), "build", str(source), "-o", str(image)], check=True)
    return image


def main() -> int:
    if not BUF.exists():
        print(f"{BUF} is missing: run `make web`", file=sys.stderr)
        return 1
    if subprocess.run([str(BUF), "lint"], cwd=ROOT).returncode != 0:
        print("buf lint failed (buf.yaml says which rules apply)", file=sys.stderr)
        return 1
    rev = baseline()
    with tempfile.TemporaryDirectory() as tmp:
        before = build_image(rev, Path(tmp))
        # image against image: buf compares a workspace input module by module, which would
        # count the packages of the other module as deleted
        now = Path(tmp) / "now.binpb"
        subprocess.run([str(BUF), "build", "-o", str(now)], cwd=ROOT, check=True)
        if subprocess.run([str(BUF), "breaking", str(now), "--against", str(before)], cwd=ROOT).returncode != 0:
            print(f"buf breaking: the contracts changed incompatibly since {rev}", file=sys.stderr)
            return 1
    print(f"protos: buf lint clean, nothing broken since {rev}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
