"""Is a recording's container whole and sane, before FFmpeg sees it: WebM/EBML (element
count, density and nesting limits against bombs), Ogg pages, WAV chunk sizes, MP3 frames.
Used by speech/audio.py, which also defines the error codes (AudioError lives here so both
modules raise the same one)."""

from __future__ import annotations

import struct


class AudioError(Exception):
    """A recording that cannot be transcribed; ``code`` is one of the module's stable codes."""

    CODES = ("empty", "unsupported_format", "mismatched_type", "unreadable", "too_long", "silent")

    def __init__(self, code: str, message: str):
        if code not in self.CODES:
            raise ValueError(f"unknown audio error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def after_id3(data: bytes) -> int:
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


def is_mpeg_audio_header(h: bytes) -> bool:
    """An MPEG-1/2/2.5 Layer I-III frame header (not AAC's ADTS, whose layer bits are 00)."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return False
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate, rate = h[2] >> 4, (h[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3


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


def read_ebml_doctype(data: bytes) -> str | None:
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
    if not is_mpeg_audio_header(h):
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
    pos = after_id3(data)
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


STRUCTURE_CHECKS = {
    "wav": _check_wav_complete,
    "ogg": _check_ogg_complete,
    "webm": _check_webm_complete,
    "mp3": _check_mp3_complete,
}


def has_vbr_header(data: bytes) -> bool:
    """Xing/Info/VBRI: an MP3 header that states the exact frame count, so FFmpeg's duration
    is a promise (without one, FFmpeg estimates it from the file size)."""
    head = bytes(data[:16384])
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))
