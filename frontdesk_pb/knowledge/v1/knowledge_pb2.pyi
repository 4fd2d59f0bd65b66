import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FaqEntry(_message.Message):
    __slots__ = ("id", "question", "answer", "examples", "url")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    question: str
    answer: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    url: str
    def __init__(self, id: _Optional[str] = ..., question: _Optional[str] = ..., answer: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ..., url: _Optional[str] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("id", "kind", "title", "chunks", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    title: str
    chunks: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., title: _Optional[str] = ..., chunks: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertFaqEntriesRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[FaqEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[FaqEntry, _Mapping]]] = ...) -> None: ...

class UpsertFaqEntriesResponse(_message.Message):
    __slots__ = ("upserted",)
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    upserted: int
    def __init__(self, upserted: _Optional[int] = ...) -> None: ...

class ImportFileRequest(_message.Message):
    __slots__ = ("filename", "content_type", "data")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_type: str
    data: bytes
    def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class LineError(_message.Message):
    __slots__ = ("line", "error")
    LINE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    line: int
    error: str
    def __init__(self, line: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class IngestionJob(_message.Message):
    __slots__ = ("id", "state", "total", "done", "errors", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    total: int
    done: int
    errors: _containers.RepeatedCompositeFieldContainer[LineError]
    error: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., total: _Optional[int] = ..., done: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[LineError, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class GetIngestionJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteEntryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "limit")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    query: str
    limit: int
    def __init__(self, query: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("entry_id", "chunk_id", "title", "text", "score", "url")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    chunk_id: str
    title: str
    text: str
    score: float
    url: str
    def __init__(self, entry_id: _Optional[str] = ..., chunk_id: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., score: _Optional[float] = ..., url: _Optional[str] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "confidence", "ranked")
    HITS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RANKED_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    confidence: float
    ranked: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., confidence: _Optional[float] = ..., ranked: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class EvaluationCase(_message.Message):
    __slots__ = ("question", "expect", "history", "category")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    EXPECT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    question: str
    expect: str
    history: _containers.RepeatedScalarFieldContainer[str]
    category: str
    def __init__(self, question: _Optional[str] = ..., expect: _Optional[str] = ..., history: _Optional[_Iterable[str]] = ..., category: _Optional[str] = ...) -> None: ...

class RunEvaluationRequest(_message.Message):
    __slots__ = ("entries", "cases")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[FaqEntry]
    cases: _containers.RepeatedCompositeFieldContainer[EvaluationCase]
    def __init__(self, entries: _Optional[_Iterable[_Union[FaqEntry, _Mapping]]] = ..., cases: _Optional[_Iterable[_Union[EvaluationCase, _Mapping]]] = ...) -> None: ...

class EvaluationCategory(_message.Message):
    __slots__ = ("category", "cases", "answered_right", "answered_wrong", "handed_off")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_RIGHT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_WRONG_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    category: str
    cases: int
    answered_right: float
    answered_wrong: float
    handed_off: float
    def __init__(self, category: _Optional[str] = ..., cases: _Optional[int] = ..., answered_right: _Optional[float] = ..., answered_wrong: _Optional[float] = ..., handed_off: _Optional[float] = ...) -> None: ...

class EvaluationReport(_message.Message):
    __slots__ = ("cases", "in_scope_accuracy", "handoff_recall", "handoff_precision", "p50_ms", "p99_ms", "answered_right", "answered_wrong", "handed_off", "categories")
    CASES_FIELD_NUMBER: _ClassVar[int]
    IN_SCOPE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_RECALL_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_PRECISION_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_RIGHT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_WRONG_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    cases: int
    in_scope_accuracy: float
    handoff_recall: float
    handoff_precision: float
    p50_ms: float
    p99_ms: float
    answered_right: float
    answered_wrong: float
    handed_off: float
    categories: _containers.RepeatedCompositeFieldContainer[EvaluationCategory]
    def __init__(self, cases: _Optional[int] = ..., in_scope_accuracy: _Optional[float] = ..., handoff_recall: _Optional[float] = ..., handoff_precision: _Optional[float] = ..., p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., answered_right: _Optional[float] = ..., answered_wrong: _Optional[float] = ..., handed_off: _Optional[float] = ..., categories: _Optional[_Iterable[_Union[EvaluationCategory, _Mapping]]] = ...) -> None: ...
