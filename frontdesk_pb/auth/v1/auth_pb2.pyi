import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerIdentity(_message.Message):
    __slots__ = ("external_id", "name", "email", "identity_hash")
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_HASH_FIELD_NUMBER: _ClassVar[int]
    external_id: str
    name: str
    email: str
    identity_hash: str
    def __init__(self, external_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., identity_hash: _Optional[str] = ...) -> None: ...

class CreateVisitorSessionRequest(_message.Message):
    __slots__ = ("widget_key", "previous_token", "identity")
    WIDGET_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    widget_key: str
    previous_token: str
    identity: CustomerIdentity
    def __init__(self, widget_key: _Optional[str] = ..., previous_token: _Optional[str] = ..., identity: _Optional[_Union[CustomerIdentity, _Mapping]] = ...) -> None: ...

class CreateVisitorSessionResponse(_message.Message):
    __slots__ = ("token", "visitor_id", "expires_at", "tenant_name", "verified_identity", "greeting")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    TENANT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    GREETING_FIELD_NUMBER: _ClassVar[int]
    token: str
    visitor_id: str
    expires_at: _timestamp_pb2.Timestamp
    tenant_name: str
    verified_identity: bool
    greeting: str
    def __init__(self, token: _Optional[str] = ..., visitor_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant_name: _Optional[str] = ..., verified_identity: _Optional[bool] = ..., greeting: _Optional[str] = ...) -> None: ...

class OperatorLoginRequest(_message.Message):
    __slots__ = ("tenant", "email", "password")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    email: str
    password: str
    def __init__(self, tenant: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class OperatorLoginResponse(_message.Message):
    __slots__ = ("token", "expires_at", "operator_id", "role", "display_name")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: _timestamp_pb2.Timestamp
    operator_id: str
    role: str
    display_name: str
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., operator_id: _Optional[str] = ..., role: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("tenant_id", "tenant_name", "kind", "subject", "role")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    tenant_name: str
    kind: str
    subject: str
    role: str
    def __init__(self, tenant_id: _Optional[str] = ..., tenant_name: _Optional[str] = ..., kind: _Optional[str] = ..., subject: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...
