"""Hypothesis strategies for any protobuf message, built from its descriptor: ordinary
values, and the values that break services (huge and empty strings, control characters
and newlines in ids, boundary integers, unknown enum numbers, timestamps in year 1 and
9999, long lists)."""

from __future__ import annotations

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

EDGE_STRINGS = [
    "",
    " ",
    "\n",
    "c_x\n",  # an id with a trailing newline
    "c_01m8tgw7nsbrn1n66xyzq545wn",
    "../../../etc/passwd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\x00\x01\x02",
    "\u202eevil",
    "💥" * 300,
    "a" * 10_001,  # past the message length limit
    "x" * 1_000_000,  # 1 MB
    "99999999999999999999",  # a page token past int64
    "-1",
    "https://169.254.169.254/latest/meta-data/",
    "0001-01-01",  # days and hours far in the past and future, and ones that do not exist
    "9999-12-31",
    "2026-02-30",
    "2026-12-02T25",
]
INT32 = [0, 1, -1, 2**31 - 1, -(2**31), 50, 200, 201, 10_000]
INT64 = [*INT32, 2**63 - 1, -(2**63)]
UINT = [0, 1, 2**32 - 1]
DOUBLES = [0.0, -1.0, 1e308, float("inf"), float("-inf"), float("nan")]
# Timestamp seconds: year 1, the epoch, year 9999, and past the valid range
TIMESTAMP_SECONDS = [-62135596800, 0, 253402300799, -(2**62), 2**62]

_INTS = {
    FieldDescriptor.TYPE_INT32: (INT32, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (INT32, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (INT32, -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (INT64, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (INT64, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (INT64, -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (UINT, 0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (UINT, 0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: ([*UINT, 2**64 - 1], 0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: ([*UINT, 2**64 - 1], 0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor, known: dict[str, list] | None = None):
    t = field.type
    if known and field.name in known:  # real ids etc. half of the time, so the code behind them runs
        return st.one_of(st.sampled_from(known[field.name]), _scalar(field))
    if t == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=40))
    if t == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"\x00" * 1000, b"RIFF\x00\x00\x00\x00WAVE"]))
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(st.sampled_from(DOUBLES), st.floats(allow_nan=False, width=32))
    if t == FieldDescriptor.TYPE_ENUM:
        return st.integers(-3, 40)  # known and unknown enum numbers
    edges, low, high = _INTS[t]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _value(field: FieldDescriptor, depth: int, known: dict[str, list] | None):
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_dicts(field.message_type, depth + 1, known)
    return _scalar(field, known)


def message_dicts(descriptor: Descriptor, depth: int = 0, known: dict[str, list] | None = None):
    """A dict of field values for ``descriptor`` (a subset of its fields); ``known``: field
    name -> real values (a conversation id that exists, the tenant's slug) to mix in."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.fixed_dictionaries(
            {}, optional={"seconds": st.sampled_from(TIMESTAMP_SECONDS), "nanos": st.sampled_from([0, 999_999_999, -1])}
        )
    if depth > 3:
        return st.just({})
    optional = {}
    for field in descriptor.fields:
        value = _value(field, depth, known)
        if field.is_repeated:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key = field.message_type.fields_by_name["key"]
                val = field.message_type.fields_by_name["value"]
                value = st.dictionaries(_value(key, depth, None), _value(val, depth, None), max_size=3)
            else:
                value = st.one_of(st.lists(value, max_size=3), st.lists(value, min_size=300, max_size=300))
        optional[field.name] = value
    return st.fixed_dictionaries({}, optional=optional)


def build(message_class, values: dict):
    """The message from ``message_dicts`` values; values protobuf refuses (a string past
    its limits, a timestamp out of range) are left out."""
    message = message_class()
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        try:
            _assign(message, field, value)
        except (ValueError, TypeError, OverflowError):
            message.ClearField(name)
    return message


def _assign(message, field: FieldDescriptor, value) -> None:
    if field.is_repeated:
        if isinstance(value, dict):  # a map
            target = getattr(message, field.name)
            value_field = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    target[k].CopyFrom(build(message_factory.GetMessageClass(value_field.message_type), v))
                else:
                    target[k] = v
            return
        target = getattr(message, field.name)
        for item in value:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                target.add().CopyFrom(build(message_factory.GetMessageClass(field.message_type), item))
            else:
                target.append(item)
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(build(message_factory.GetMessageClass(field.message_type), value))
    else:
        setattr(message, field.name, value)
