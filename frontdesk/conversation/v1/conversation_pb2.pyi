from frontdesk.common.v1 import common_pb2 as _common_pb2
from frontdesk.events.v1 import events_pb2 as _events_pb2
from frontdesk.chat.v1 import chat_pb2 as _chat_pb2
from frontdesk.admin.v1 import admin_pb2 as _admin_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

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
