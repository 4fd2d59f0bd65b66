"""Audio intake: recognise, check and decode a recording that a caller submitted.

The speech service takes whole recordings as bytes (a streaming caller's chunks are joined
before they reach this module) in the four containers browsers and phones produce: WAV,
MP3, Ogg (Opus) and WebM (what MediaRecorder writes, Opus inside). Everything else, and
anything that is not what it claims to be, is refused with an :class:`AudioError` whose
``code`` is stable and machine-readable:

==================  ==========================================================================
code                meaning
==================  ==========================================================================
empty               no bytes, or a well-formed container that holds no audio samples
unsupported_format  the declared type, or the bytes, are none of WAV, MP3, Ogg, WebM audio
mismatched_type     the bytes are one supported format, the declared content type another
unreadable          truncated or corrupt: the container or its audio cannot be read whole
too_long            longer than the configured limit (``max_seconds``, 10 minutes by default)
silent              nothing louder than a noise floor (see :data:`SILENCE_DBFS`)
==================  ==========================================================================

Decoding uses PyAV, whose wheels bundle the FFmpeg libraries: no system ``ffmpeg`` is needed.
The demuxer is chosen from the sniffed format (never by FFmpeg's probing), so only the WAV,
MP3, Ogg and Matroska/WebM demuxers ever see caller bytes.

Typical use::

    audio = load_audio(data, "audio/webm;codecs=opus", max_seconds=600)
    transcript = transcriber.transcribe(audio.samples)
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import av
import numpy as np

from speech.containers import (
    STRUCTURE_CHECKS,
    AudioError,
    after_id3,
    has_vbr_header,
    is_mpeg_audio_header,
    read_ebml_doctype,
)

__all__ = [
    "AudioError",
    "AudioInfo",
    "DecodedAudio",
    "DEFAULT_MAX_SECONDS",
    "SAMPLE_RATE",
    "SILENCE_DBFS",
    "decode",
    "declared_format",
    "inspect_audio",
    "load_audio",
    "loudest_window_dbfs",
    "ensure_audible",
    "media_type",
    "sniff_format",
]

DEFAULT_MAX_SECONDS = 600.0
"""Longest recording accepted by default: 10 minutes, about 16 s of transcription with the
bundled model on 2 cores (real-time factor 0.026 on 120 s clips, tools/bench_speech.py)."""

SAMPLE_RATE = 16_000
"""Whisper's input rate: :func:`decode` returns mono float32 samples at this rate."""

SILENCE_DBFS = -80.0
"""A recording whose loudest half-second has an RMS level below this (dB relative to full
scale 1.0, DC removed) is refused as ``silent``.

Why -80 dBFS, measured with the bundled model (tiny.en, int8) on a 26 s espeak-ng clip
scaled to each level and quantised to 16 bits: word error rate 2.5% at -30 dBFS, 7.4% at
-60 and -70, 8.6% at -75, 16% at -80, 33% at -85, 41% at -90, nothing recognised at -95.
Whisper normalises its log-mel input, so loudness alone hardly matters until the speech
sinks into the quantisation floor (16-bit: about -101 dBFS). -80 is the last level with
mostly usable text: quieter than that the model gets a third of the words wrong or more.
What lies below: digital silence (-inf), a muted input's dither (about -98 dBFS). What
lies above and is still accepted: a quiet room's noise floor through a live microphone
(about -70 to -55 dBFS); on such noise the model returns an empty transcript (measured
on white noise at -70, -60 and -50 dBFS), which the caller reports as "no speech heard".
Speech at a normal level sits around -20 dBFS (espeak-ng: -18 to -20)."""

SILENCE_WINDOW_S = 0.5
"""Window of the level measurement: the loudest half-second, so a short answer ("yes") in a
long, otherwise quiet recording still counts. A lone click counts too (1 ms at full scale
is -27 dB over the window); the model then returns no text for it (measured), which the
caller reports like any recording without speech."""

_TRUNCATION_TOLERANCE_S = 0.2  # decoded vs. declared duration: encoder padding is < 0.1 s

_CANONICAL_TYPE = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "webm": "audio/webm"}

_DECLARED_TYPES = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "video/webm": "webm",  # MediaRecorder's type when the page asked for video/webm; audio track only is used
}

# A caller that does not know the type may leave it out; the bytes then decide.
_UNDECLARED_TYPES = {"", "application/octet-stream"}

_DEMUXER = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "webm": "matroska"}
_NAME = {"wav": "WAV", "mp3": "MP3", "ogg": "Ogg", "webm": "WebM"}


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav, mp3, ogg, webm
    content_type: str  # canonical content type of that format
    duration_s: float
    sample_rate: int  # of the recording, before resampling
    channels: int
    codec: str  # FFmpeg's decoder name: pcm_s16le, mp3float, opus, vorbis, ...


@dataclass(frozen=True)
class DecodedAudio:
    info: AudioInfo
    samples: np.ndarray  # mono float32 at SAMPLE_RATE
    level_dbfs: float  # RMS level of the loudest SILENCE_WINDOW_S

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


# -- content types and sniffing ------------------------------------------------------------------


def media_type(content_type: str) -> str:
    """``"Audio/WebM; codecs=opus"`` -> ``"audio/webm"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def declared_format(content_type: str) -> str | None:
    """The format a declared content type names, None when undeclared; unsupported_format
    for any other type."""
    media = media_type(content_type)
    if media in _UNDECLARED_TYPES:
        return None
    try:
        return _DECLARED_TYPES[media]
    except KeyError:
        accepted = ", ".join(sorted(_DECLARED_TYPES))
        raise AudioError(
            "unsupported_format", f"content type {media!r} is not accepted; use one of {accepted}"
        ) from None


def sniff_format(data: bytes) -> str | None:
    """The container the bytes start with: "wav", "mp3", "ogg", "webm", or None."""
    head = bytes(data[:64])
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        doctype = read_ebml_doctype(bytes(data[:4096]))
        return "webm" if doctype in ("webm", None) else None
    if head[:3] == b"ID3":
        start = after_id3(data)
        if start + 4 > len(data):
            return "mp3"  # ends inside the tag: reported as unreadable when it is opened
        return "mp3" if is_mpeg_audio_header(bytes(data[start : start + 4])) else None
    if is_mpeg_audio_header(head[:4]):
        return "mp3"
    return None


def _describe(data: bytes) -> str:
    try:
        import filetype  # a project dependency; only used for a friendlier message

        mime = filetype.guess_mime(bytes(data[:8192]))
    except Exception:  # noqa: BLE001 - a message helper must never fail the request
        mime = None
    return f" (it looks like {mime})" if mime else ""


# -- inspect and decode ----------------------------------------------------------------------------


def _open(data: bytes, fmt: str) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(data), mode="r", format=_DEMUXER[fmt], metadata_errors="ignore")
    except (av.error.FFmpegError, EOFError, OSError, ValueError) as exc:
        raise AudioError("unreadable", f"the {_NAME[fmt]} data cannot be read: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _audio_stream(container, fmt: str):
    if not container.streams.audio:
        raise AudioError("unsupported_format", f"the {_NAME[fmt]} data holds no audio track")
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise AudioError("unsupported_format", f"the {_NAME[fmt]} data's audio codec is not one this service decodes")
    return stream


def _container_duration(container, stream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _demuxed_duration(container, stream, stop_after_s: float) -> float:
    """Duration from packet timestamps (MediaRecorder's WebM states none); stops reading once
    past stop_after_s."""
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            if end > stop_after_s:
                break
    except (av.error.FFmpegError, EOFError, OSError) as exc:
        raise AudioError("unreadable", f"the recording is corrupt: {_reason(exc)}") from None
    return end


def _prepare(data: bytes, declared_content_type: str) -> str:
    if data is None or len(data) == 0:
        raise AudioError("empty", "the recording is empty")
    declared = declared_format(declared_content_type)
    fmt = sniff_format(data)
    if fmt is None:
        raise AudioError("unsupported_format", f"the data is not WAV, MP3, Ogg or WebM audio{_describe(data)}")
    if declared is not None and declared != fmt:
        raise AudioError(
            "mismatched_type",
            f"declared as {media_type(declared_content_type)} but the data is {_NAME[fmt]} ({_CANONICAL_TYPE[fmt]})",
        )
    return fmt


def inspect_audio(data: bytes, declared_content_type: str, max_seconds: float = DEFAULT_MAX_SECONDS) -> AudioInfo:
    """Recognise the container, check it against the declared content type and that it is
    whole, and read its stream parameters and duration without decoding the audio.

    Raises AudioError: empty, unsupported_format, mismatched_type, unreadable, too_long.
    """
    fmt = _prepare(data, declared_content_type)
    check = STRUCTURE_CHECKS.get(fmt)
    if check is not None:
        check(bytes(data) if not isinstance(data, bytes) else data)
    with _open(data, fmt) as container:
        stream = _audio_stream(container, fmt)
        ctx = stream.codec_context
        duration = _container_duration(container, stream)
        if duration is None:
            duration = _demuxed_duration(container, stream, stop_after_s=max_seconds)
            if duration > max_seconds:  # the demux stopped there: the real length is unknown
                raise AudioError("too_long", f"the recording lasts more than the limit of {max_seconds:g} s")
        info = AudioInfo(
            format=fmt,
            content_type=_CANONICAL_TYPE[fmt],
            duration_s=round(duration, 3),
            sample_rate=int(ctx.sample_rate or stream.rate or 0),
            channels=int(ctx.channels or 0),
            codec=ctx.name,
        )
    if info.duration_s <= 0:
        raise AudioError("empty", f"the {_NAME[fmt]} recording holds no audio")
    if info.duration_s > max_seconds:
        raise AudioError("too_long", f"the recording lasts {info.duration_s:.1f} s; the limit is {max_seconds:g} s")
    return info


def decode(
    data: bytes, *, max_seconds: float | None = DEFAULT_MAX_SECONDS, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Decode the first audio track to mono float32 at sample_rate.

    Stops with too_long as soon as more than max_seconds have been decoded (headers can lie or
    be absent); any packet that fails to decode, or an MP3 that ends before the length its
    header states, is unreadable. Does not check the declared type (see inspect_audio).
    """
    fmt = _prepare(data, "")
    limit = None if max_seconds is None else int(math.ceil(max_seconds * sample_rate))
    chunks: list[np.ndarray] = []
    total = 0
    with _open(data, fmt) as container:
        stream = _audio_stream(container, fmt)
        declared = _container_duration(container, stream) if fmt == "mp3" and has_vbr_header(data) else None
        resampler, setup = None, None

        def drain(frame) -> None:
            nonlocal total
            assert resampler is not None  # made before the first frame
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                total += len(chunk)

        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    frame.pts = None  # resample by sample count; gaps in timestamps are not ours to fill
                    frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
                    if frame_setup != setup:  # first frame, or the stream changed its rate or layout
                        if resampler is not None:
                            drain(None)
                        resampler, setup = av.AudioResampler(format="flt", layout="mono", rate=sample_rate), frame_setup
                    drain(frame)
                if limit is not None and total > limit:
                    raise AudioError("too_long", f"the recording lasts more than the limit of {max_seconds:g} s")
            if resampler is not None:
                drain(None)
        except (av.error.FFmpegError, EOFError, OSError, ValueError) as exc:
            raise AudioError("unreadable", f"the {_NAME[fmt]} audio is corrupt: {_reason(exc)}") from None
    if limit is not None and total > limit:
        raise AudioError("too_long", f"the recording lasts more than the limit of {max_seconds:g} s")
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise AudioError("empty", f"the {_NAME[fmt]} recording holds no audio")
    if declared is not None and len(samples) / sample_rate < declared - _TRUNCATION_TOLERANCE_S:
        raise AudioError(
            "unreadable",
            f"the MP3 data is truncated: its header states {declared:.2f} s, "
            f"it holds {len(samples) / sample_rate:.2f} s",
        )
    return samples


def loudest_window_dbfs(
    samples: np.ndarray, sample_rate: int = SAMPLE_RATE, window_s: float = SILENCE_WINDOW_S
) -> float:
    """RMS level (dB relative to full scale 1.0, DC removed) of the loudest window."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return -math.inf
    x = x - x.mean()
    window = max(1, min(len(x), int(window_s * sample_rate)))
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    loudest = float(np.max(energy[window:] - energy[:-window])) / window
    return 10.0 * math.log10(loudest) if loudest > 0 else -math.inf


def ensure_audible(samples: np.ndarray, threshold_dbfs: float = SILENCE_DBFS, sample_rate: int = SAMPLE_RATE) -> float:
    """The loudest window's level; AudioError("silent") when it is below threshold_dbfs."""
    level = loudest_window_dbfs(samples, sample_rate)
    if level < threshold_dbfs:
        shown = "-inf" if math.isinf(level) else f"{level:.1f}"
        raise AudioError(
            "silent",
            f"the recording is silent: its loudest {SILENCE_WINDOW_S:g} s is at "
            f"{shown} dBFS, below {threshold_dbfs:g} dBFS",
        )
    return level


def load_audio(
    data: bytes,
    declared_content_type: str,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    silence_dbfs: float = SILENCE_DBFS,
) -> DecodedAudio:
    """inspect_audio, decode and ensure_audible in one call: what the service runs on an upload."""
    info = inspect_audio(data, declared_content_type, max_seconds)
    samples = decode(data, max_seconds=max_seconds)
    level = ensure_audible(samples, silence_dbfs)
    return DecodedAudio(info=info, samples=samples, level_dbfs=level)
