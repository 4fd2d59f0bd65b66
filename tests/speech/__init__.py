"""Real speech for the speech tests and tools/bench_speech.py: espeak-ng (Debian package
`espeak-ng`) speaks known sentences to WAV; PyAV (its wheels bundle FFmpeg, no system ffmpeg)
re-encodes them as the containers callers upload; `wer` scores a transcript."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave

import av
import numpy as np

ESPEAK_APT = "apt-get install -y espeak-ng"

# Customer-support sentences without digits, contractions or names, so that a correct
# transcript has one spelling. About 3 to 5 s each at espeak-ng's default 175 words/min.
ENGLISH = (
    "How do I reset my password?",
    "I ordered a blue jacket last week and it has not arrived yet.",
    "Can I change the delivery address for my order?",
    "The payment failed but the money was taken from my account.",
    "Please cancel my subscription at the end of this month.",
    "I would like to return these shoes because they are too small.",
    "Where can I find the invoice for my last purchase?",
    "I need to speak to a person about a refund.",
)
CLIP_TEXT = " ".join(ENGLISH)  # the eight sentences as one 26 s recording (concat_wavs)
GERMAN = "Guten Tag, ich möchte mein Passwort zurücksetzen, weil ich es vergessen habe."
SPANISH = "Buenos días, quiero cambiar la dirección de entrega de mi pedido."
FRENCH = "Bonjour, je voudrais changer l'adresse de livraison de ma commande."

# Word error rate bounds for the bundled tiny.en on espeak-ng speech; the measurements behind
# them are in tests/speech/test_transcriber.py's docstring. A bound is checked over many
# words (the whole clip, or all sentences summed), never over one sentence: one word of a
# 13-word sentence is 7.7%, so a single-sentence bound sits on a knife edge.
WER_CLIP = 0.10
WER_SENTENCES = 0.15


def require_espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        # Not a skip: the speech tests are worthless without real speech.
        raise RuntimeError(f"espeak-ng is not installed; the speech tests need it: {ESPEAK_APT}")
    return path


def espeak_wav(text: str, voice: str = "en-us", words_per_minute: int = 175) -> bytes:
    """espeak-ng's WAV (22,050 Hz, mono, 16-bit PCM) of text."""
    result = subprocess.run(
        [require_espeak(), "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return _fix_wav_sizes(result.stdout)


def _fix_wav_sizes(data: bytes) -> bytes:
    """espeak-ng --stdout cannot seek back to fill in the RIFF and data sizes; write them."""
    data = bytearray(data)
    pos = 12
    while pos + 8 <= len(data):
        cid = bytes(data[pos : pos + 4])
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if cid == b"data":
            data[pos + 4 : pos + 8] = (len(data) - pos - 8).to_bytes(4, "little")
            break
        pos += 8 + size + (size & 1)
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    return bytes(data)


def wav_to_pcm(data: bytes) -> tuple[np.ndarray, int]:
    """(int16 samples of shape (channels, n), sample rate) of a PCM WAV."""
    with wave.open(io.BytesIO(data)) as w:
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.reshape(-1, channels).T.copy(), rate


def pcm_to_wav(pcm: np.ndarray, rate: int) -> bytes:
    """A PCM WAV of int16 samples shaped (n,) or (channels, n)."""
    pcm = np.atleast_2d(np.asarray(pcm, dtype=np.int16))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.astype("<i2").tobytes())
    return buf.getvalue()


def concat_wavs(wavs: list[bytes], gap_s: float = 0.4) -> bytes:
    """One WAV of the utterances in order, gap_s of silence between them."""
    parts, rate = [], None
    for data in wavs:
        pcm, r = wav_to_pcm(data)
        rate = rate or r
        assert r == rate, "all utterances must share a sample rate"
        parts += [pcm[0], np.zeros(int(gap_s * rate), np.int16)]
    return pcm_to_wav(np.concatenate(parts[:-1]), rate)


class _Unseekable(io.RawIOBase):
    """A write-only sink: the Matroska muxer then writes unknown-size segments and clusters
    and no duration, as a browser's MediaRecorder does."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        self.data += b
        return len(b)


_CODECS = {
    "mp3": ("mp3", "libmp3lame", None),
    "ogg": ("ogg", "libopus", 48000),
    "webm": ("webm", "libopus", 48000),
    "wav": ("wav", "pcm_s16le", None),
}


def encode(data_wav: bytes, fmt: str, *, live: bool = False, bitrate: int | None = None) -> bytes:
    """Re-encode a PCM WAV as fmt (mp3, ogg = Ogg Opus, webm = WebM Opus, wav) with PyAV.
    live=True writes it to an unseekable sink (WebM as MediaRecorder makes it)."""
    pcm, rate = wav_to_pcm(data_wav)
    layout = "mono" if pcm.shape[0] == 1 else "stereo"
    container_format, codec, out_rate = _CODECS[fmt]
    out_rate = out_rate or rate
    sink = _Unseekable() if live else io.BytesIO()
    with av.open(sink, "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=out_rate, layout=layout)
        if bitrate:
            stream.bit_rate = bitrate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=out_rate)
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return bytes(sink.data) if live else sink.getvalue()


def _words(text: str) -> list[str]:
    text = text.lower().replace("-", " ").replace("’", "'")
    text = re.sub(r"[^\w' ]+", " ", text)
    return [w.replace("'", "") for w in text.split() if w.replace("'", "")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word-level edit distance, reference word count) after lower-casing and dropping punctuation."""
    ref, hyp = _words(reference), _words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words."""
    errors, n = word_errors(reference, hypothesis)
    return errors / max(n, 1)


# -- an openai-whisper checkpoint made from the bundled CTranslate2 model ------------------------
# openai-whisper loads `.pt` checkpoints that are downloaded by name, which cannot happen here;
# the bundled tiny.en holds the same weights in CTranslate2's model.bin, so the tests rebuild
# the checkpoint from it (CTranslate2 fuses the q/k/v projections: they are split again).


_CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16)


def _ct2_load(model_bin) -> tuple[tuple[int, str, int], dict[str, np.ndarray], list[tuple[str, str]]]:
    """A CTranslate2 model.bin (binary format 5 or 6): ((version, spec, revision), variables, aliases)."""
    import struct

    blob = open(model_bin, "rb").read()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        (value,) = struct.unpack_from(fmt, blob, pos)
        pos += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal pos
        n = take("H")
        value = blob[pos : pos + n - 1].decode()
        pos += n
        return value

    version = take("I")
    if version not in (5, 6):
        raise ValueError(f"CTranslate2 binary version {version} is not handled")
    header = (version, text(), take("I"))
    variables = {}
    for _ in range(take("I")):
        name, rank = text(), take("B")
        shape = [take("I") for _ in range(rank)]
        dtype, size = np.dtype(_CT2_DTYPES[take("B")]), take("I")
        variables[name] = np.frombuffer(blob, dtype, size // dtype.itemsize, pos).reshape(shape)
        pos += size
    aliases = [(text(), text()) for _ in range(take("I"))]
    return header, variables, aliases


def read_ctranslate2(model_bin) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin, aliases resolved."""
    _, variables, aliases = _ct2_load(model_bin)
    return {**variables, **{alias: variables[target] for alias, target in aliases}}


# Whisper's multilingual vocabulary has one token more than the English-only one (51,865):
# that is how openai-whisper tells the two apart.
MULTILINGUAL_VOCAB = 51865


def openai_whisper_checkpoint(ct2_model_dir, out_path, multilingual: bool = False) -> None:
    """Write an openai-whisper checkpoint ({"dims", "model_state_dict"}, float16, as OpenAI's
    own) holding the weights of a CTranslate2 Whisper model.

    multilingual=True grows the vocabulary to the multilingual size with zero rows, so that
    openai-whisper takes the model for a multilingual one and runs language detection. Its
    language head is meaningless then (the weights are English-only, the multilingual
    tokenizer differs): such a checkpoint tests that a detected language is passed on, never
    which language is detected, and its text is gibberish."""
    from pathlib import Path

    import torch

    v = read_ctranslate2(Path(ct2_model_dir) / "model.bin")
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float16))  # noqa: E731
    state: dict = {}

    def linear(dst: str, weight: np.ndarray, bias: np.ndarray | None) -> None:
        state[f"{dst}.weight"] = t(weight)
        if bias is not None:
            state[f"{dst}.bias"] = t(bias)

    def norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"], state[f"{dst}.bias"] = t(v[f"{src}/gamma"]), t(v[f"{src}/beta"])

    def self_attention(dst: str, src: str) -> None:
        w, b = np.split(v[f"{src}/linear_0/weight"], 3), np.split(v[f"{src}/linear_0/bias"], 3)
        linear(f"{dst}.query", w[0], b[0])
        linear(f"{dst}.key", w[1], None)  # Whisper's key projection has no bias
        linear(f"{dst}.value", w[2], b[2])
        linear(f"{dst}.out", v[f"{src}/linear_1/weight"], v[f"{src}/linear_1/bias"])

    def ffn(dst: str, src: str) -> None:
        norm(f"{dst}.mlp_ln", f"{src}/layer_norm")
        linear(f"{dst}.mlp.0", v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"])
        linear(f"{dst}.mlp.2", v[f"{src}/linear_1/weight"], v[f"{src}/linear_1/bias"])

    n_audio_layer = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("ffn/linear_0/weight"))
    n_text_layer = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("ffn/linear_0/weight"))
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", v[f"encoder/{conv}/weight"], v[f"encoder/{conv}/bias"])
    state["encoder.positional_embedding"] = torch.from_numpy(
        np.array(v["encoder/position_encodings/encodings"], dtype=np.float32)
    )
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        self_attention(f"{dst}.attn", f"{src}/self_attention")
        ffn(dst, f"{src}/ffn")
    norm("encoder.ln_post", "encoder/layer_norm")
    embeddings = v["decoder/embeddings/weight"]
    if multilingual and embeddings.shape[0] < MULTILINGUAL_VOCAB:
        padding = np.zeros((MULTILINGUAL_VOCAB - embeddings.shape[0], embeddings.shape[1]), embeddings.dtype)
        embeddings = np.concatenate([embeddings, padding])
    state["decoder.token_embedding.weight"] = t(embeddings)
    state["decoder.positional_embedding"] = t(v["decoder/position_encodings/encodings"])
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        self_attention(f"{dst}.attn", f"{src}/self_attention")
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.cross_attn.query", v[f"{src}/attention/linear_0/weight"], v[f"{src}/attention/linear_0/bias"])
        kw, kb = np.split(v[f"{src}/attention/linear_1/weight"], 2), np.split(v[f"{src}/attention/linear_1/bias"], 2)
        linear(f"{dst}.cross_attn.key", kw[0], None)
        linear(f"{dst}.cross_attn.value", kw[1], kb[1])
        linear(f"{dst}.cross_attn.out", v[f"{src}/attention/linear_2/weight"], v[f"{src}/attention/linear_2/bias"])
        ffn(dst, f"{src}/ffn")
    norm("decoder.ln", "decoder/layer_norm")
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(v["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    torch.save({"dims": dims, "model_state_dict": state}, out_path)
