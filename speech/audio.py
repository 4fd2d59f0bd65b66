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
import struct
from dataclasses import dataclass

import av
import numpy as np

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


class AudioError(Exception):
    """A recording that cannot be transcribed; ``code`` is one of the module's stable codes."""

    CODES = ("empty", "unsupported_format", "mismatched_type", "unreadable", "too_long", "silent")

    def __init__(self, code: str, message: str):
        if code not in self.CODES:
            raise ValueError(f"unknown audio error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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
        doctype = _ebml_doctype(bytes(data[:4096]))
        return "webm" if doctype in ("webm", None) else None
    if head[:3] == b"ID3":
        start = _after_id3(data)
        if start + 4 > len(data):
            return "mp3"  # ends inside the tag: reported as unreadable when it is opened
        return "mp3" if _is_mpeg_audio_header(bytes(data[start : start + 4])) else None
    if _is_mpeg_audio_header(head[:4]):
        return "mp3"
    return None


def _after_id3(data: bytes) -> int:
    """Offset just past a leading ID3v2 tag and the zero padding some taggers leave after it."""
    if data[:3] != b"ID3":
        return 0
    if len(data) < 10:
        return len(data)  # cut inside the tag's header
    size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
    start = end = 10 + size + (10 if data[5] & 0x10 else 0)
    while start < len(data) and start < end + 4096 and data[start] == 0:
        start += 1
    return start


def _is_mpeg_audio_header(h: bytes) -> bool:
    """An MPEG-1/2/2.5 Layer I-III frame header (not AAC's ADTS, whose layer bits are 00)."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return False
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate, rate = h[2] >> 4, (h[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3


def _describe(data: bytes) -> str:
    try:
        import filetype  # a project dependency; only used for a friendlier message

        mime = filetype.guess_mime(bytes(data[:8192]))
    except Exception:  # noqa: BLE001 - a message helper must never fail the request
        mime = None
    return f" (it looks like {mime})" if mime else ""


# -- structural checks: is the container whole? ---------------------------------------------------


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool]:
    """EBML variable-length integer at pos: (value, length, all-ones). IndexError if cut off;
    ValueError if invalid."""
    first = data[pos]
    if first == 0:
        raise ValueError("invalid EBML length marker")
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        raise IndexError
    raw = int.from_bytes(data[pos : pos + length], "big")
    if keep_marker:
        return raw, length, False
    value = raw & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def _ebml_doctype(data: bytes) -> str | None:
    try:
        _, n, _ = _read_vint(data, 0, keep_marker=True)
        size, m, _ = _read_vint(data, n, keep_marker=False)
        pos, end = n + m, min(n + m + size, len(data))
        while pos < end:
            eid, n, _ = _read_vint(data, pos, keep_marker=True)
            size, m, _ = _read_vint(data, pos + n, keep_marker=False)
            if eid == 0x4282:  # DocType
                return data[pos + n + m : pos + n + m + size].rstrip(b"\0").decode("ascii", "replace")
            pos += n + m + size
    except (IndexError, ValueError):
        pass
    return None


_EBML_SEGMENT, _EBML_CLUSTER = 0x18538067, 0x1F43B675
# Matroska's master elements (those whose body is more elements): walked into, so a bomb of
# tiny or deeply nested elements inside them is counted before FFmpeg spends seconds on it
_EBML_MASTERS = frozenset(
    {
        0x1A45DFA3,
        _EBML_SEGMENT,
        _EBML_CLUSTER,  # EBML header, Segment, Cluster
        0x114D9B74,
        0x4DBB,
        0x1549A966,
        0x6924,
        0x1654AE6B,
        0xAE,  # SeekHead, Seek, Info, ChapterTranslate, Tracks, TrackEntry
        0xE0,
        0xE1,
        0x55B0,
        0x55D0,
        0x7670,
        0xE2,
        0xE3,
        0xE4,
        0xE9,  # Video, Audio, Colour, ..., TrackOperation
        0x6624,
        0x41E4,
        0x6D80,
        0x6240,
        0x5034,
        0x5035,
        0x47E7,  # TrackTranslate, BlockAdditionMapping, ContentEncodings ...
        0xA0,
        0x75A1,
        0xA6,
        0x8E,
        0xE8,
        0x5854,  # BlockGroup, BlockAdditions, BlockMore, Slices, TimeSlice, SilentTracks
        0x1C53BB6B,
        0xBB,
        0xB7,
        0xDB,  # Cues, CuePoint, CueTrackPositions, CueReference
        0x1941A469,
        0x61A7,
        0x1043A770,
        0x45B9,
        0xB6,
        0x8F,
        0x80,
        0x6944,
        0x6911,  # Attachments, Chapters ...
        0x1254C367,
        0x7373,
        0x63C0,
        0x67C8,  # Tags, Tag, Targets, SimpleTag
    }
)
MAX_EBML_ELEMENTS = 100_000  # 10 minutes of Opus in 20 ms blocks is about 30,000 elements
# a recording's elements are mostly audio blocks of 20 bytes and more; a file of far smaller
# ones is a bomb, told apart after the first few thousand instead of after 100,000
MIN_EBML_BYTES_PER_ELEMENT, DENSITY_CHECK_AFTER = 8, 5_000
MAX_EBML_DEPTH = 16  # FFmpeg's own limit; MediaRecorder writes 4 levels


def _check_webm_complete(data: bytes) -> None:
    """Walk the EBML elements: every element must end inside the data, there may be at most
    MAX_EBML_ELEMENTS of them, nested at most MAX_EBML_DEPTH deep. MediaRecorder writes the
    segment and its clusters with unknown sizes, so their children are walked as they follow;
    a master element of known size is walked into."""
    pos, count = 0, 0
    ends = [len(data)]  # where each open master element ends, innermost last
    try:
        while pos < len(data):
            while len(ends) > 1 and pos >= ends[-1]:
                ends.pop()
            eid, n, _ = _read_vint(data, pos, keep_marker=True)
            size, m, unknown = _read_vint(data, pos + n, keep_marker=False)
            body = pos + n + m
            count += 1
            if count > MAX_EBML_ELEMENTS or (
                count == DENSITY_CHECK_AFTER and pos < DENSITY_CHECK_AFTER * MIN_EBML_BYTES_PER_ELEMENT
            ):
                raise AudioError(
                    "unreadable",
                    f"the WebM data holds too many elements ({count:,} in {pos:,} bytes); it is not a recording",
                )
            if unknown:
                if eid in (_EBML_SEGMENT, _EBML_CLUSTER):
                    pos = body  # walk into it: its children follow as a flat sequence
                    continue
                return  # some other unknown-size element: cannot be walked, FFmpeg judges
            if body + size > len(data):
                raise AudioError(
                    "unreadable",
                    f"the WebM data is truncated: an element at byte {pos} needs {body + size - len(data)} more bytes",
                )
            if eid in _EBML_MASTERS and size:
                if len(ends) > MAX_EBML_DEPTH:
                    raise AudioError(
                        "unreadable", f"the WebM data nests elements more than {MAX_EBML_DEPTH} deep at byte {pos}"
                    )
                ends.append(body + size)
                pos = body
                continue
            pos = body + size
    except IndexError:
        raise AudioError("unreadable", "the WebM data is truncated inside an element header") from None
    except ValueError as exc:
        raise AudioError("unreadable", f"the WebM data is corrupt at byte {pos}: {exc}") from None


def _check_ogg_complete(data: bytes) -> None:
    """Walk the Ogg pages: each must be whole, and every logical stream that began (BOS) must
    end with an end-of-stream page (RFC 3533), which a truncated upload lacks."""
    pos, open_streams = 0, set()
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            raise AudioError("unreadable", f"the Ogg data is corrupt: no page at byte {pos}")
        if pos + 27 > len(data):
            raise AudioError("unreadable", "the Ogg data is truncated inside a page header")
        header_type = data[pos + 5]
        serial = struct.unpack_from("<I", data, pos + 14)[0]
        nsegs = data[pos + 26]
        if pos + 27 + nsegs > len(data):
            raise AudioError("unreadable", "the Ogg data is truncated inside a page header")
        body = sum(data[pos + 27 : pos + 27 + nsegs])
        end = pos + 27 + nsegs + body
        if end > len(data):
            raise AudioError(
                "unreadable", f"the Ogg data is truncated: the last page needs {end - len(data)} more bytes"
            )
        if header_type & 0x02:
            open_streams.add(serial)
        if header_type & 0x04:
            open_streams.discard(serial)
        pos = end
    if open_streams:
        raise AudioError("unreadable", "the Ogg data is truncated: the stream has no end-of-stream page")


# A writer that cannot seek back (a pipe: espeak-ng --stdout writes 0x7FFFF000, others 0 or
# 0xFFFFFFFF) leaves the data size open with a placeholder; any size of 2 GiB or more is
# one (the 10-minute limit is 115 MB even at 48 kHz stereo).
_WAV_PLACEHOLDER_SIZE = 0x7FFF0000


def _check_wav_complete(data: bytes) -> None:
    """Walk the RIFF chunks up to 'data': its declared size must be present."""
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"data":
            if data[:4] == b"RF64" or size == 0 or size >= _WAV_PLACEHOLDER_SIZE:
                return  # the length is left open (RF64 keeps it elsewhere): FFmpeg reads to the end
            missing = pos + 8 + size - len(data)
            if missing > 0:
                raise AudioError(
                    "unreadable", f"the WAV data is truncated: {missing} of its {size} audio bytes are missing"
                )
            return
        pos += 8 + size + (size & 1)
    raise AudioError("unreadable", "the WAV data is truncated or corrupt: it has no complete 'data' chunk")


# kbit/s by (MPEG-1?, layer) for bitrate index 1..14; sample rates by version bits
_MPEG_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(h: bytes) -> int | None:
    """Bytes in the MPEG audio frame whose header is h; None if h is no header or free-format."""
    if not _is_mpeg_audio_header(h):
        return None
    version, layer_bits = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    layer, mpeg1 = 4 - layer_bits, version == 3
    index = h[2] >> 4
    if index == 0:
        return None  # free format: the length is not in the header
    bitrate = _MPEG_BITRATES[(mpeg1, layer)][index - 1] * 1000
    rate = _MPEG_RATES[version][(h[2] >> 2) & 3]
    padding = (h[2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if (layer == 2 or mpeg1) else 72) * bitrate // rate + padding


def _check_mp3_complete(data: bytes) -> None:
    """Walk the MPEG audio frames from the first: the last one must be whole. Where the walk
    meets a trailing tag (ID3v1, APE, Lyrics3) or loses the frame sync (junk some encoders
    leave), it stops without a verdict; FFmpeg judges the rest."""
    pos = _after_id3(data)
    while pos + 4 <= len(data):
        length = _mpeg_frame_length(bytes(data[pos : pos + 4]))
        if length is None:
            return
        if pos + length > len(data):
            raise AudioError(
                "unreadable", f"the MP3 data is truncated: its last frame needs {pos + length - len(data)} more bytes"
            )
        pos += length
    if 0 < len(data) - pos < 4 and data[pos] == 0xFF:
        raise AudioError("unreadable", "the MP3 data is truncated inside a frame header")


_STRUCTURE_CHECKS = {
    "wav": _check_wav_complete,
    "ogg": _check_ogg_complete,
    "webm": _check_webm_complete,
    "mp3": _check_mp3_complete,
}


def _has_vbr_header(data: bytes) -> bool:
    """Xing/Info/VBRI: an MP3 header that states the exact frame count, so FFmpeg's duration
    is a promise (without one, FFmpeg estimates it from the file size)."""
    head = bytes(data[:16384])
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))


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
    check = _STRUCTURE_CHECKS.get(fmt)
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
        declared = _container_duration(container, stream) if fmt == "mp3" and _has_vbr_header(data) else None
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
