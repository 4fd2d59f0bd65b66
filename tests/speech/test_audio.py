"""speech.audio on real recordings: espeak-ng speech, re-encoded by PyAV into the containers
callers upload, and every way an upload can be wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from speech.audio import (
    SAMPLE_RATE,
    SILENCE_DBFS,
    AudioError,
    decode,
    ensure_audible,
    inspect_audio,
    load_audio,
    loudest_window_dbfs,
    sniff_format,
)
from tests.speech import ENGLISH, encode, espeak_wav, pcm_to_wav, wav_to_pcm


@pytest.fixture(scope="module")
def wav() -> bytes:
    return espeak_wav(ENGLISH[1])  # about 3.5 s, 22,050 Hz mono


@pytest.fixture(scope="module")
def wav_duration(wav) -> float:
    pcm, rate = wav_to_pcm(wav)
    return pcm.shape[1] / rate


@pytest.fixture(scope="module")
def encoded(wav) -> dict[str, bytes]:
    return {
        "wav": wav,
        "mp3": encode(wav, "mp3", bitrate=64_000),
        "ogg": encode(wav, "ogg"),
        "webm": encode(wav, "webm"),
        "webm-live": encode(wav, "webm", live=True),  # no duration, unknown sizes: MediaRecorder's shape
    }


ACCEPTED = [
    ("wav", "audio/wav", "wav", "pcm_s16le", 22050),
    ("wav", "audio/x-wav", "wav", "pcm_s16le", 22050),
    ("mp3", "audio/mpeg", "mp3", "mp3float", 22050),
    ("mp3", "audio/mp3", "mp3", "mp3float", 22050),
    ("ogg", "audio/ogg; codecs=opus", "ogg", "opus", 48000),
    ("webm", "audio/webm;codecs=opus", "webm", "opus", 48000),
    ("webm", "video/webm", "webm", "opus", 48000),
    ("webm-live", "audio/webm;codecs=opus", "webm", "opus", 48000),
    ("webm-live", "Audio/WebM", "webm", "opus", 48000),
    ("ogg", "", "ogg", "opus", 48000),  # undeclared: the bytes decide
    ("mp3", "application/octet-stream", "mp3", "mp3float", 22050),
]


@pytest.mark.parametrize("name,declared,fmt,codec,rate", ACCEPTED)
def test_inspect_accepts_each_format(encoded, wav_duration, name, declared, fmt, codec, rate):
    info = inspect_audio(encoded[name], declared, max_seconds=600)
    assert (info.format, info.codec, info.sample_rate, info.channels) == (fmt, codec, rate, 1)
    assert info.content_type == {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "webm": "audio/webm"}[fmt]
    # Opus adds its 6.5 ms pre-skip and 20 ms frames, MP3 its encoder delay: a few tens of ms
    assert info.duration_s == pytest.approx(wav_duration, abs=0.06)


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "webm", "webm-live"])
def test_decode_gives_16k_mono_float32(encoded, wav_duration, name):
    samples = decode(encoded[name])
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / SAMPLE_RATE == pytest.approx(wav_duration, abs=0.03)
    assert 0.05 < float(np.max(np.abs(samples))) < 1.05  # Opus may overshoot full scale a little
    audio = load_audio(encoded[name], "", max_seconds=600)
    assert audio.level_dbfs > -25  # espeak-ng speaks at about -18 dBFS in its loudest half-second
    assert np.array_equal(audio.samples, samples)


def test_stereo_is_mixed_down(wav):
    pcm, rate = wav_to_pcm(wav)
    stereo = pcm_to_wav(np.stack([pcm[0], pcm[0] // 2]), rate)
    info = inspect_audio(stereo, "audio/wav")
    assert info.channels == 2
    mono = decode(stereo)
    assert mono.ndim == 1 and len(mono) == pytest.approx(len(decode(wav)), abs=2)


def test_sniff_format(encoded):
    assert {name: sniff_format(data) for name, data in encoded.items()} == {
        "wav": "wav",
        "mp3": "mp3",
        "ogg": "ogg",
        "webm": "webm",
        "webm-live": "webm",
    }
    assert sniff_format(b"\xff\xfb\x90\x64" + bytes(100)) == "mp3"  # bare MPEG-1 Layer III frame
    assert sniff_format(b"\xff\xf1\x50\x80" + bytes(100)) is None  # AAC in ADTS: not MP3
    assert sniff_format(b"fLaC" + bytes(100)) is None
    assert sniff_format(b"\x89PNG\r\n\x1a\n" + bytes(100)) is None
    assert sniff_format(b"") is None


def test_short_answer_in_long_recording_is_audible():
    """The level is that of the loudest half-second, so "yes" in a minute of room tone counts."""
    pcm, rate = wav_to_pcm(espeak_wav("yes"))
    silence = np.zeros(30 * rate, np.int16)
    samples = decode(pcm_to_wav(np.concatenate([silence, pcm[0], silence]), rate))
    assert ensure_audible(samples) > -25


def test_level_of_a_tone():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = 0.1 * np.sin(2 * np.pi * 440 * t)
    assert loudest_window_dbfs(tone) == pytest.approx(20 * math.log10(0.1 / math.sqrt(2)), abs=0.05)
    assert loudest_window_dbfs(np.zeros(100)) == -math.inf


# -- bad input: one clear code each -----------------------------------------------------------------


def _code(data: bytes, declared: str, max_seconds: float = 600) -> str:
    with pytest.raises(AudioError) as caught:
        load_audio(data, declared, max_seconds=max_seconds)
    assert caught.value.message and str(caught.value).startswith(caught.value.code + ": ")
    return caught.value.code


def test_empty():
    assert _code(b"", "audio/wav") == "empty"
    assert _code(pcm_to_wav(np.zeros(0, np.int16), 16000), "audio/wav") == "empty"  # a header, no samples


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "webm", "webm-live"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated(encoded, name, keep):
    data = encoded[name]
    assert _code(data[: int(len(data) * keep)], "") == "unreadable"


def test_truncated_wav_message(wav):
    with pytest.raises(AudioError) as caught:
        inspect_audio(wav[: len(wav) // 2], "audio/wav")
    assert caught.value.code == "unreadable" and "truncated" in caught.value.message


def test_cut_inside_the_header(encoded):
    for name, data in encoded.items():
        assert _code(data[:30], "") == "unreadable", name


def test_corrupt_after_a_valid_signature(wav):
    rng = np.random.default_rng(7)
    junk = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    assert _code(b"OggS" + junk, "audio/ogg") == "unreadable"
    assert _code(b"\x1a\x45\xdf\xa3" + junk, "audio/webm") == "unreadable"
    assert _code(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + junk, "audio/mpeg") in (
        "unreadable",
        "unsupported_format",
    )


def test_silent():
    assert _code(pcm_to_wav(np.zeros(3 * 16000, np.int16), 16000), "audio/wav") == "silent"
    # one-LSB dither, -98 dBFS: what a live but muted 16-bit input delivers
    dither = np.random.default_rng(1).integers(-1, 2, 3 * 16000).astype(np.int16)
    assert _code(pcm_to_wav(dither, 16000), "audio/wav") == "silent"
    for name in ("ogg", "webm"):
        assert _code(encode(pcm_to_wav(np.zeros(3 * 48000, np.int16), 48000), name), "") == "silent"


def test_silence_threshold_is_configurable(wav):
    assert load_audio(wav, "audio/wav").level_dbfs > SILENCE_DBFS
    assert _code_with_threshold(wav, 0.0) == "silent"


def _code_with_threshold(data: bytes, threshold: float) -> str:
    with pytest.raises(AudioError) as caught:
        load_audio(data, "", silence_dbfs=threshold)
    return caught.value.code


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "webm", "webm-live"])
def test_too_long(encoded, name):
    assert _code(encoded[name], "", max_seconds=2) == "too_long"
    with pytest.raises(AudioError) as caught:  # the decoder enforces it too, whatever the header says
        decode(encoded[name], max_seconds=2)
    assert caught.value.code == "too_long"
    assert len(decode(encoded[name], max_seconds=5)) > 3 * SAMPLE_RATE


def test_ten_minutes_is_the_default_limit():
    rate = 8000
    eleven_minutes = pcm_to_wav(np.zeros(11 * 60 * rate, np.int16), rate)
    assert _code(eleven_minutes, "audio/wav") == "too_long"


def test_png_declared_as_wav():
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(AudioError) as caught:
        load_audio(png, "audio/wav")
    assert caught.value.code == "unsupported_format" and "image/png" in caught.value.message


def test_wav_declared_as_mpeg(wav):
    with pytest.raises(AudioError) as caught:
        load_audio(wav, "audio/mpeg")
    assert caught.value.code == "mismatched_type"
    assert "audio/mpeg" in caught.value.message and "WAV" in caught.value.message


@pytest.mark.parametrize(
    "name,declared", [("webm", "audio/ogg"), ("ogg", "audio/webm"), ("mp3", "audio/wav"), ("webm-live", "audio/mpeg")]
)
def test_other_mislabels(encoded, name, declared):
    assert _code(encoded[name], declared) == "mismatched_type"


def test_unsupported_declared_type_or_format(wav):
    assert _code(wav, "audio/flac") == "unsupported_format"
    assert _code(wav, "text/plain") == "unsupported_format"
    assert _code(b"fLaC" + bytes(200), "audio/wav") == "unsupported_format"
    assert _code(b"hello, this is text and not audio at all", "") == "unsupported_format"


def test_error_codes_are_closed():
    with pytest.raises(ValueError):
        AudioError("bogus", "no such code")


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "webm", "webm-live"])
def test_cut_anywhere_is_unreadable(encoded, name):
    """An upload cut at any byte is refused, not transcribed in part (40 random cuts each)."""
    data = encoded[name]
    cuts = np.random.default_rng(len(data)).integers(1, len(data), 40)
    assert {_code(data[:cut], "") for cut in cuts} == {"unreadable"}


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "webm", "webm-live"])
def test_corrupted_bytes_give_a_code_or_audio(encoded, name):
    """Flipped bytes past the header: PCM and some codecs decode noise, the rest must fail with
    an AudioError, never another exception."""
    rng = np.random.default_rng(3)
    for _ in range(25):
        data = bytearray(encoded[name])
        for pos in rng.integers(100, len(data), 20):
            data[pos] ^= 0xFF
        try:
            load_audio(bytes(data), "")
        except AudioError as exc:
            assert exc.code in ("unreadable", "unsupported_format", "silent")


def _ebml(eid: bytes, body: bytes = b"", unknown: bool = False) -> bytes:
    """One EBML element: its id, an 8-byte size (or 'unknown'), its body."""
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else b"\x01" + len(body).to_bytes(7, "big")
    return eid + size + body


WEBM_HEADER = _ebml(b"\x1a\x45\xdf\xa3", _ebml(b"\x42\x82", b"webm"))


def test_a_webm_of_countless_tiny_elements_is_refused_before_decoding(encoded):
    # a live-recorded segment and cluster (unknown sizes), then 300,000 empty Void elements
    bomb = WEBM_HEADER + _ebml(b"\x18\x53\x80\x67", unknown=True) + _ebml(b"\x1f\x43\xb6\x75", unknown=True)
    bomb += b"\xec\x80" * 300_000
    with pytest.raises(AudioError) as caught:
        inspect_audio(bomb, "audio/webm")
    assert caught.value.code == "unreadable" and "too many elements" in caught.value.message
    # a real recording walks through (the limit is far above what 10 minutes of Opus needs)
    assert inspect_audio(encoded["webm-live"], "audio/webm").format == "webm"


def test_a_webm_nested_deeper_than_matroska_allows_is_refused():
    inner = _ebml(b"\x45\xa3", b"x")  # TagName
    for _ in range(40):
        inner = _ebml(b"\x67\xc8", inner)  # SimpleTag inside SimpleTag inside ...
    tags = _ebml(b"\x12\x54\xc3\x67", _ebml(b"\x73\x73", inner))
    deep = WEBM_HEADER + _ebml(b"\x18\x53\x80\x67", tags)
    with pytest.raises(AudioError) as caught:
        inspect_audio(deep, "audio/webm")
    assert caught.value.code == "unreadable" and "deep" in caught.value.message
