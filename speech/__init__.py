"""The speech service package: audio intake (speech.audio) and Whisper transcription (speech.transcriber)."""
