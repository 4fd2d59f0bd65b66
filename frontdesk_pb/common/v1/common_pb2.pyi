import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_CUSTOMER: _ClassVar[Role]
    ROLE_AI: _ClassVar[Role]
    ROLE_AGENT: _ClassVar[Role]
    ROLE_SYSTEM: _ClassVar[Role]

class ConversationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_STATUS_UNSPECIFIED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_AI: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_HANDOFF: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_HUMAN: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_CLOSED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_SNOOZED: _ClassVar[ConversationStatus]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WEB: _ClassVar[Channel]
    CHANNEL_VOICE: _ClassVar[Channel]
    CHANNEL_API: _ClassVar[Channel]
ROLE_UNSPECIFIED: Role
ROLE_CUSTOMER: Role
ROLE_AI: Role
ROLE_AGENT: Role
ROLE_SYSTEM: Role
CONVERSATION_STATUS_UNSPECIFIED: ConversationStatus
CONVERSATION_STATUS_AI: ConversationStatus
CONVERSATION_STATUS_HANDOFF: ConversationStatus
CONVERSATION_STATUS_HUMAN: ConversationStatus
CONVERSATION_STATUS_CLOSED: ConversationStatus
CONVERSATION_STATUS_SNOOZED: ConversationStatus
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WEB: Channel
CHANNEL_VOICE: Channel
CHANNEL_API: Channel

class Citation(_message.Message):
    __slots__ = ("source_id", "title", "url", "score")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    title: str
    url: str
    score: float
    def __init__(self, source_id: _Optional[str] = ..., title: _Optional[str] = ..., url: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("id", "filename", "content_type", "size_bytes", "sha256")
    ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    def __init__(self, id: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "conversation_id", "role", "text", "created_at", "author_id", "author_name", "citations", "attachments", "in_reply_to", "voice", "audio_id", "client_message_id", "language")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    conversation_id: str
    role: Role
    text: str
    created_at: _timestamp_pb2.Timestamp
    author_id: str
    author_name: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    in_reply_to: str
    voice: bool
    audio_id: str
    client_message_id: str
    language: str
    def __init__(self, id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., author_id: _Optional[str] = ..., author_name: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., in_reply_to: _Optional[str] = ..., voice: _Optional[bool] = ..., audio_id: _Optional[str] = ..., client_message_id: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("id", "visitor_id", "status", "channel", "created_at", "updated_at", "last_message_preview", "assigned_operator_id", "handoff_reason", "rating", "message_count", "attributes", "snoozed_until", "labels", "handed_off_at", "first_response_at")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASON_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    SNOOZED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    visitor_id: str
    status: ConversationStatus
    channel: Channel
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    last_message_preview: str
    assigned_operator_id: str
    handoff_reason: str
    rating: int
    message_count: int
    attributes: _containers.ScalarMap[str, str]
    snoozed_until: _timestamp_pb2.Timestamp
    labels: _containers.RepeatedScalarFieldContainer[str]
    handed_off_at: _timestamp_pb2.Timestamp
    first_response_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., status: _Optional[_Union[ConversationStatus, str]] = ..., channel: _Optional[_Union[Channel, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_message_preview: _Optional[str] = ..., assigned_operator_id: _Optional[str] = ..., handoff_reason: _Optional[str] = ..., rating: _Optional[int] = ..., message_count: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ..., snoozed_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Iterable[str]] = ..., handed_off_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_response_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
