from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EraseConversationsRequest(_message.Message):
    __slots__ = ("conversations", "customer_texts", "events_gone")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_TEXTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_GONE_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSpan]
    customer_texts: _containers.RepeatedScalarFieldContainer[str]
    events_gone: bool
    def __init__(self, conversations: _Optional[_Iterable[_Union[ConversationSpan, _Mapping]]] = ..., customer_texts: _Optional[_Iterable[str]] = ..., events_gone: _Optional[bool] = ...) -> None: ...

class ConversationSpan(_message.Message):
    __slots__ = ("conversation_id", "created_ms", "updated_ms")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    created_ms: int
    updated_ms: int
    def __init__(self, conversation_id: _Optional[str] = ..., created_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class EraseConversationsResponse(_message.Message):
    __slots__ = ("sentiment_scores", "unanswered_questions", "negative_messages")
    SENTIMENT_SCORES_FIELD_NUMBER: _ClassVar[int]
    UNANSWERED_QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    sentiment_scores: int
    unanswered_questions: int
    negative_messages: int
    def __init__(self, sentiment_scores: _Optional[int] = ..., unanswered_questions: _Optional[int] = ..., negative_messages: _Optional[int] = ...) -> None: ...
