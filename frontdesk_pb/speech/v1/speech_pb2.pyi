from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioHeader(_message.Message):
    __slots__ = ("conversation_id", "content_type", "filename", "language")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    content_type: str
    filename: str
    language: str
    def __init__(self, conversation_id: _Optional[str] = ..., content_type: _Optional[str] = ..., filename: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: AudioHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[AudioHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SubmitAudioRequest(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: AudioHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[AudioHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SubmitAudioResponse(_message.Message):
    __slots__ = ("audio_id", "transcription")
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    audio_id: str
    transcription: Transcription
    def __init__(self, audio_id: _Optional[str] = ..., transcription: _Optional[_Union[Transcription, _Mapping]] = ...) -> None: ...

class GetTranscriptionRequest(_message.Message):
    __slots__ = ("audio_id",)
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    audio_id: str
    def __init__(self, audio_id: _Optional[str] = ...) -> None: ...

class Transcription(_message.Message):
    __slots__ = ("audio_id", "state", "text", "language", "duration_s", "message_id", "error")
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    audio_id: str
    state: str
    text: str
    language: str
    duration_s: float
    message_id: str
    error: str
    def __init__(self, audio_id: _Optional[str] = ..., state: _Optional[str] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., duration_s: _Optional[float] = ..., message_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class TranscriptionJob(_message.Message):
    __slots__ = ("audio_id", "tenant_id", "conversation_id", "object_key", "content_type", "language", "submitted_by", "submitter_kind")
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_KEY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_BY_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_KIND_FIELD_NUMBER: _ClassVar[int]
    audio_id: str
    tenant_id: str
    conversation_id: str
    object_key: str
    content_type: str
    language: str
    submitted_by: str
    submitter_kind: str
    def __init__(self, audio_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., object_key: _Optional[str] = ..., content_type: _Optional[str] = ..., language: _Optional[str] = ..., submitted_by: _Optional[str] = ..., submitter_kind: _Optional[str] = ...) -> None: ...
