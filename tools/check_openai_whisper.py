"""Manual check of the openai-whisper backend (GPU nodes), not part of `make test`:
openai-whisper brings PyTorch (several GB), which CI does not install. Run it where the
backend is deployed, in a venv with `openai-whisper==20250625`:

    python -m pytest tools/check_openai_whisper.py -q
"""

from __future__ import annotations

import pytest

from speech.transcriber import Transcriber, TranscriberError, bundled_model_path
from tests.speech import wer
from tests.speech.test_transcriber import CLIP_TEXT, WER_CLIP, clip_samples, clip_wav  # noqa: F401 - fixtures

# -- OpenAIWhisperTranscriber: openai-whisper (PyTorch), the backend of GPU nodes with a checkpoint.
# Optional: skipped where openai-whisper is not installed (it brings PyTorch, several GB).
# Its checkpoint is rebuilt from the bundled CTranslate2 weights, as none can be downloaded.


@pytest.fixture(scope="module")
def openai_checkpoints(tmp_path_factory) -> dict[str, object]:
    import whisper  # noqa: F401 - fails loudly where it is missing: this check is for where it exists

    from tests.speech import openai_whisper_checkpoint

    folder = tmp_path_factory.mktemp("openai-whisper")
    paths = {"english": folder / "tiny.en.pt", "multilingual": folder / "fake-multilingual.pt"}
    openai_whisper_checkpoint(bundled_model_path(), paths["english"])
    openai_whisper_checkpoint(bundled_model_path(), paths["multilingual"], multilingual=True)
    return paths


def test_openai_whisper_transcribes(openai_checkpoints, clip_samples):  # noqa: F811 - fixture
    from speech.transcriber import OpenAIWhisperTranscriber

    backend = OpenAIWhisperTranscriber(openai_checkpoints["english"], device="cpu")
    assert isinstance(backend, Transcriber)
    assert (backend.model_name, backend.multilingual) == ("tiny.en", False)
    transcript = backend.transcribe(clip_samples)
    # the same weights as the faster-whisper test: measured 2 errors in 81 words there and here
    assert wer(CLIP_TEXT, transcript.text) <= WER_CLIP, transcript.text
    assert transcript.language == "en" and not transcript.language_detected
    assert transcript.language_probability is None
    assert transcript.segments and all(0 <= s.start <= s.end for s in transcript.segments)


def test_openai_whisper_passes_on_the_detected_language(openai_checkpoints, clip_samples):  # noqa: F811 - fixture
    """With a multilingual checkpoint, detection runs and its result is reported (the fake
    checkpoint's language head is meaningless: which language comes out is not checked)."""
    import whisper

    from speech.transcriber import OpenAIWhisperTranscriber

    # gibberish never satisfies the fallback checks: one temperature only keeps it quick
    backend = OpenAIWhisperTranscriber(openai_checkpoints["multilingual"], device="cpu", temperature=(0.0,))
    assert backend.multilingual
    piece = clip_samples[: 2 * 16000]
    detected = backend.transcribe(piece)
    assert detected.language_detected and detected.language in whisper.tokenizer.LANGUAGES
    assert 0 < detected.language_probability <= 1
    hinted = backend.transcribe(piece, language_hint="de-AT")
    assert (hinted.language, hinted.language_detected, hinted.language_probability) == ("de", False, None)


def test_openai_whisper_never_downloads(openai_checkpoints, tmp_path):
    from speech.transcriber import OpenAIWhisperTranscriber

    for name in ("tiny", "tiny.en", str(tmp_path / "missing.pt")):  # a model name would be downloaded
        with pytest.raises(TranscriberError):
            OpenAIWhisperTranscriber(name, device="cpu")
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TranscriberError):
        OpenAIWhisperTranscriber(tmp_path / "broken.pt", device="cpu")
