from frontdesk_pb.common.v1 import common_pb2 as _common_pb2
from frontdesk_pb.chat.v1 import chat_pb2 as _chat_pb2
from frontdesk_pb.admin.v1 import admin_pb2 as _admin_pb2
from frontdesk_pb.events.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenStreamRequest(_message.Message):
    __slots__ = ("conversation_id", "after_message_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    after_message_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., after_message_id: _Optional[str] = ...) -> None: ...

class OpenStreamResponse(_message.Message):
    __slots__ = ("conversation", "missed")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    conversation: _common_pb2.Conversation
    missed: _containers.RepeatedCompositeFieldContainer[_common_pb2.Message]
    def __init__(self, conversation: _Optional[_Union[_common_pb2.Conversation, _Mapping]] = ..., missed: _Optional[_Iterable[_Union[_common_pb2.Message, _Mapping]]] = ...) -> None: ...

class PostVoiceMessageRequest(_message.Message):
    __slots__ = ("conversation_id", "text", "audio_id", "language", "client_message_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    audio_id: str
    language: str
    client_message_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ..., audio_id: _Optional[str] = ..., language: _Optional[str] = ..., client_message_id: _Optional[str] = ...) -> None: ...

class AssignRequest(_message.Message):
    __slots__ = ("conversation_id", "operator_id", "display_name")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    operator_id: str
    display_name: str
    def __init__(self, conversation_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class PresenceUpdate(_message.Message):
    __slots__ = ("state", "capacity")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    state: _events_pb2.PresenceState
    capacity: int
    def __init__(self, state: _Optional[_Union[_events_pb2.PresenceState, str]] = ..., capacity: _Optional[int] = ...) -> None: ...

class ConversationTimer(_message.Message):
    __slots__ = ("conversation_id", "due_ms", "idle")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_MS_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    due_ms: int
    idle: bool
    def __init__(self, conversation_id: _Optional[str] = ..., due_ms: _Optional[int] = ..., idle: _Optional[bool] = ...) -> None: ...

class EraseVisitorRequest(_message.Message):
    __slots__ = ("visitor_id", "only_describe")
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    ONLY_DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    only_describe: bool
    def __init__(self, visitor_id: _Optional[str] = ..., only_describe: _Optional[bool] = ...) -> None: ...

class ErasedVisitor(_message.Message):
    __slots__ = ("conversations", "customer_texts", "messages", "files", "queued_items")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_TEXTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ErasedConversation]
    customer_texts: _containers.RepeatedScalarFieldContainer[str]
    messages: int
    files: int
    queued_items: int
    def __init__(self, conversations: _Optional[_Iterable[_Union[ErasedConversation, _Mapping]]] = ..., customer_texts: _Optional[_Iterable[str]] = ..., messages: _Optional[int] = ..., files: _Optional[int] = ..., queued_items: _Optional[int] = ...) -> None: ...

class ErasedConversation(_message.Message):
    __slots__ = ("id", "created_ms", "updated_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_ms: int
    updated_ms: int
    def __init__(self, id: _Optional[str] = ..., created_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class ExportPart(_message.Message):
    __slots__ = ("path", "data", "last")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    last: bool
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ...) -> None: ...
