"""Offline sentence embeddings: WordLlama (l2_supercat, 256 dimensions), whose weights and
tokenizer ship inside the ``wordllama`` wheel.  Nothing is downloaded, ever: the package
directory is the cache and downloads are disabled."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

MODEL_CONFIG = "l2_supercat"
MODEL_DIM = 256
MODEL_NAME = f"wordllama-{MODEL_CONFIG}-{MODEL_DIM}"

_lock = threading.Lock()
_model = None


def _load():
    global _model
    with _lock:
        if _model is None:
            import wordllama
            from wordllama import WordLlama

            _model = WordLlama.load(
                config=MODEL_CONFIG, dim=MODEL_DIM, cache_dir=Path(wordllama.__file__).parent, disable_download=True
            )
    return _model


def embed(texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Unit-length float32 rows, one per text (an empty text gets a zero row)."""
    if not texts:
        return np.zeros((0, MODEL_DIM), dtype=np.float32)
    model = _load()
    # WordLlama pads a batch to its longest text: sort by length so batches are even.
    order = np.argsort([len(t) for t in texts], kind="stable")
    sorted_texts = [texts[i] if texts[i].strip() else "." for i in order]
    vectors = model.embed(sorted_texts, norm=False, batch_size=batch_size)
    out = np.empty_like(vectors)
    out[order] = vectors
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    for i, t in enumerate(texts):
        if not t.strip():
            out[i] = 0.0
    return out.astype(np.float32, copy=False)


def embed_one(text: str) -> np.ndarray:
    """One text, on the calling thread (``encode_batch`` hands work to a thread pool, which
    costs milliseconds of latency on a busy machine); same vector as ``embed([text])[0]``."""
    if not text.strip():
        return np.zeros(MODEL_DIM, dtype=np.float32)
    model = _load()
    ids = model.tokenizer.encode(text, add_special_tokens=False).ids
    ids = [i for i in ids if i < len(model.embedding)] if ids else []
    if not ids:
        return embed([text])[0]
    vector = model.embedding[ids].mean(axis=0)
    norm = float(np.sqrt(vector @ vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)
