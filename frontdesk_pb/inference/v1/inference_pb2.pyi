import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from frontdesk_pb.common.v1 import common_pb2 as _common_pb2
from frontdesk_pb.admin.v1 import admin_pb2 as _admin_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AiJob(_message.Message):
    __slots__ = ("job_id", "tenant_id", "conversation_id", "message_id", "text", "enqueued_at", "visitor_id", "language", "channel")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    tenant_id: str
    conversation_id: str
    message_id: str
    text: str
    enqueued_at: _timestamp_pb2.Timestamp
    visitor_id: str
    language: str
    channel: _common_pb2.Channel
    def __init__(self, job_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., message_id: _Optional[str] = ..., text: _Optional[str] = ..., enqueued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., visitor_id: _Optional[str] = ..., language: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class SummarizeRequest(_message.Message):
    __slots__ = ("transcript",)
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    transcript: _containers.RepeatedCompositeFieldContainer[_common_pb2.Message]
    def __init__(self, transcript: _Optional[_Iterable[_Union[_common_pb2.Message, _Mapping]]] = ...) -> None: ...

class SummarizeResponse(_message.Message):
    __slots__ = ("text", "backend", "model", "missing")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    text: str
    backend: str
    model: str
    missing: str
    def __init__(self, text: _Optional[str] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., missing: _Optional[str] = ...) -> None: ...

class AnswerRequest(_message.Message):
    __slots__ = ("question", "history")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    question: str
    history: _containers.RepeatedCompositeFieldContainer[_common_pb2.Message]
    def __init__(self, question: _Optional[str] = ..., history: _Optional[_Iterable[_Union[_common_pb2.Message, _Mapping]]] = ...) -> None: ...

class AnswerChunk(_message.Message):
    __slots__ = ("delta", "result")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    delta: str
    result: AnswerResult
    def __init__(self, delta: _Optional[str] = ..., result: _Optional[_Union[AnswerResult, _Mapping]] = ...) -> None: ...

class AnswerResult(_message.Message):
    __slots__ = ("text", "citations", "handoff", "handoff_reason", "backend", "model", "prompt_tokens", "completion_tokens", "first_token_ms", "total_ms")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASON_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    text: str
    citations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Citation]
    handoff: bool
    handoff_reason: str
    backend: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    first_token_ms: float
    total_ms: float
    def __init__(self, text: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[_common_pb2.Citation, _Mapping]]] = ..., handoff: _Optional[bool] = ..., handoff_reason: _Optional[str] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., first_token_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class ListBackendsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackendInfo(_message.Message):
    __slots__ = ("name", "model", "is_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    is_default: bool
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., is_default: _Optional[bool] = ...) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("backends",)
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedCompositeFieldContainer[BackendInfo]
    def __init__(self, backends: _Optional[_Iterable[_Union[BackendInfo, _Mapping]]] = ...) -> None: ...
