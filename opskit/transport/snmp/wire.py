"""A small BER codec for SNMP v1/v2c messages (RFC 1157, RFC 3416): pure, no I/O.

Why our own: pysnmp decodes a varbind through pyasn1 in ~150 us; this walk over the
bytes takes a few us (docs/notes/issue-5.md). pysnmp stays for SNMPv3, where USM
authentication and privacy is where a library earns its keep.

What it does:

* `encode_request` builds GetRequest / GetNextRequest / GetBulkRequest messages with NULL
  values (and `encode_message` any PDU with typed values, which the tests use to build
  responses);
* `decode_message` reads any v1/v2c message into a `Message`; varbind values come out
  already as the plain Python `SnmpClient` returns (`Value`: int for every integer type,
  str for strings, hex `0x..` when not text, dotted str for OIDs and IP addresses, None
  for NULL), except the three v2 exceptions, which are the `Special` singletons
  `NO_SUCH_OBJECT`, `NO_SUCH_INSTANCE`, `END_OF_MIB_VIEW` (a walk needs to tell
  endOfMibView apart; `plain()` turns them into None).

Anything malformed (truncated, indefinite length, trailing bytes, a length beyond its
container, an unknown tag, over the size caps) raises `WireError`, never IndexError.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Oid = tuple[int, ...]

# PDU tags (context-specific, constructed).
GET = 0xA0
GET_NEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GET_BULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8
PDU_TYPES = frozenset({GET, GET_NEXT, RESPONSE, SET, GET_BULK, INFORM, TRAP_V2, REPORT})

# Value tags.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42  # also Unsigned32
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT_TAG = 0x80
NO_SUCH_INSTANCE_TAG = 0x81
END_OF_MIB_VIEW_TAG = 0x82

VERSION_1 = 0
VERSION_2C = 1

# Size caps: a UDP datagram cannot be bigger, RFC 2578 limits an OID to 128 sub-ids of
# 32 bits, and no SNMP integer needs more than 9 content bytes (Counter64 + sign byte).
MAX_MESSAGE = 65_535
MAX_OID_ARCS = 128
MAX_SUBID = 0xFFFF_FFFF
MAX_INT_BYTES = 9
# Decoded OIDs by their encoded bytes: the same columns and row indexes come back from
# every agent and every poll, and a dict hit costs a tenth of decoding one. Only OIDs that
# decoded cleanly go in; the cache is emptied when full.
OID_CACHE_SIZE = 50_000
_OID_CACHE: dict[bytes, tuple[int, ...]] = {}

ERROR_STATUS = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)


class WireError(ValueError):
    """Bytes that are not a well-formed SNMP v1/v2c message (or a value we cannot encode)."""


class Special:
    """One of the v2 varbind exceptions (noSuchObject, noSuchInstance, endOfMibView)."""

    __slots__ = ("name", "tag")

    def __init__(self, name: str, tag: int) -> None:
        self.name = name
        self.tag = tag

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = Special("noSuchObject", NO_SUCH_OBJECT_TAG)
NO_SUCH_INSTANCE = Special("noSuchInstance", NO_SUCH_INSTANCE_TAG)
END_OF_MIB_VIEW = Special("endOfMibView", END_OF_MIB_VIEW_TAG)
_SPECIALS = {s.tag: s for s in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW)}

Value = int | str | None
WireValue = int | str | None | Special
VarBind = tuple[Oid, WireValue]


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded SNMP v1/v2c message.

    For a GetBulkRequest `error_status` holds non-repeaters and `error_index`
    max-repetitions (same place in the PDU).
    """

    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


def plain(value: WireValue) -> Value:
    """A decoded value as `SnmpClient` returns it (the exceptions become None)."""
    return None if isinstance(value, Special) else value


def octets_value(raw: bytes) -> str:
    """An OCTET STRING as text, or `0x` + hex when it is not printable text.

    The same rule the pysnmp path has always used, so both paths agree byte for byte.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + raw.hex()
    if text and not text.rstrip("\x00").isprintable() and "\n" not in text:
        return "0x" + raw.hex()
    return text.rstrip("\x00")


def oid_text(oid: Iterable[int]) -> str:
    """A tuple OID as dotted text."""
    return ".".join(map(str, oid))


# ---------------------------------------------------------------------------- encoding


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _len(len(body)) + body


def _int_body(n: int) -> bytes:
    return n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)


def _uint_body(n: int, bits: int) -> bytes:
    if not 0 <= n < 1 << bits:
        raise WireError(f"unsigned value out of range: {n}")
    return _int_body(n)


def encode_oid(oid: Sequence[int]) -> bytes:
    """The content bytes of an OBJECT IDENTIFIER.

    Raises:
        WireError: fewer than two arcs, a first arc above 2, a second above 39 under 0/1,
            a sub-identifier out of 0..2^32-1, more than 128 arcs.
    """
    if len(oid) < 2 or len(oid) > MAX_OID_ARCS:
        raise WireError(f"OID must have 2..{MAX_OID_ARCS} arcs: {oid_text(oid)}")
    first, second = oid[0], oid[1]
    if first not in (0, 1, 2) or second < 0 or (first < 2 and second > 39):
        raise WireError(f"bad OID start: {oid_text(oid)}")
    out = bytearray()
    for i, arc in enumerate((first * 40 + second, *oid[2:])):
        if arc < 0 or (i and arc > MAX_SUBID) or arc > MAX_SUBID + 80:
            raise WireError(f"OID arc out of range: {oid_text(oid)}")
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = bytearray((arc & 0x7F,))
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += chunk[::-1]
    return bytes(out)


def encode_value(tag: int, value: int | bytes | Sequence[int] | None) -> bytes:
    """One typed value as a TLV (for responses built by tests and the lab).

    Args:
        tag: a value tag (INTEGER, OCTET_STRING, ..., END_OF_MIB_VIEW_TAG).
        value: int for integer types, bytes for strings/IpAddress/Opaque, an OID tuple,
            None for NULL and the exceptions.
    """
    if tag == INTEGER and isinstance(value, int):
        if not -(1 << 31) <= value < 1 << 31:
            raise WireError(f"INTEGER out of range: {value}")
        return _tlv(tag, _int_body(value))
    if tag in (COUNTER32, GAUGE32, TIMETICKS) and isinstance(value, int):
        return _tlv(tag, _uint_body(value, 32))
    if tag == COUNTER64 and isinstance(value, int):
        return _tlv(tag, _uint_body(value, 64))
    if tag in (OCTET_STRING, OPAQUE, IP_ADDRESS) and isinstance(value, bytes):
        if tag == IP_ADDRESS and len(value) != 4:
            raise WireError("IpAddress needs 4 octets")
        return _tlv(tag, value)
    if tag == OBJECT_IDENTIFIER and isinstance(value, (tuple, list)):
        return _tlv(tag, encode_oid(value))
    if tag in (NULL, *_SPECIALS) and value is None:
        return bytes((tag, 0))
    raise WireError(f"cannot encode tag 0x{tag:02x} with {type(value).__name__}")


def encode_message(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    error_status: int,
    error_index: int,
    varbinds: Iterable[tuple[Sequence[int], bytes]],
) -> bytes:
    """A whole message; each varbind is (OID, an already encoded value TLV).

    Raises:
        WireError: a field out of range.
    """
    if version not in (VERSION_1, VERSION_2C) or pdu_type not in PDU_TYPES:
        raise WireError("bad version or PDU type")
    if not -(1 << 31) <= request_id < 1 << 31:
        raise WireError(f"request-id out of range: {request_id}")
    if not (0 <= error_status < 1 << 31 and 0 <= error_index < 1 << 31):
        raise WireError("error-status/index (non-repeaters/max-repetitions) out of range")
    vbs = b"".join(_tlv(SEQUENCE, _tlv(OBJECT_IDENTIFIER, encode_oid(o)) + v) for o, v in varbinds)
    pdu = _tlv(
        pdu_type,
        _tlv(INTEGER, _int_body(request_id))
        + _tlv(INTEGER, _int_body(error_status))
        + _tlv(INTEGER, _int_body(error_index))
        + _tlv(SEQUENCE, vbs),
    )
    msg = _tlv(SEQUENCE, _tlv(INTEGER, _int_body(version)) + _tlv(OCTET_STRING, community) + pdu)
    if len(msg) > MAX_MESSAGE:
        raise WireError(f"message of {len(msg)} bytes is over {MAX_MESSAGE}")
    return msg


_NULL_TLV = b"\x05\x00"


def encode_request(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    oids: Sequence[Sequence[int]],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GetRequest / GetNextRequest / GetBulkRequest with NULL values.

    Args:
        version: VERSION_1 or VERSION_2C (GETBULK needs VERSION_2C).
        community: the community string, as bytes.
        pdu_type: GET, GET_NEXT or GET_BULK.
        request_id: matched against the response's.
        oids: the OIDs asked for.
        non_repeaters, max_repetitions: GETBULK only.

    Raises:
        WireError: a bad OID, GETBULK over v1, a field out of range.
    """
    if pdu_type not in (GET, GET_NEXT, GET_BULK):
        raise WireError("requests are GET, GETNEXT or GETBULK")
    if pdu_type == GET_BULK and version == VERSION_1:
        raise WireError("GETBULK needs SNMPv2c")
    if pdu_type != GET_BULK:
        non_repeaters = max_repetitions = 0
    return encode_message(
        version,
        community,
        pdu_type,
        request_id,
        non_repeaters,
        max_repetitions,
        ((o, _NULL_TLV) for o in oids),
    )


# ---------------------------------------------------------------------------- decoding


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`, checked against `end`."""
    if pos + 2 > end:
        raise WireError(f"truncated at byte {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise WireError(f"multi-byte tag at byte {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise WireError(f"indefinite length at byte {pos - 2}")
        if k > 3 or pos + k > end:
            raise WireError(f"bad length at byte {pos - 2}")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    if pos + n > end:
        raise WireError(f"length {n} at byte {pos} runs past its container")
    return tag, pos, pos + n


def _signed(data: bytes, start: int, end: int) -> int:
    if start == end or end - start > MAX_INT_BYTES:
        raise WireError(f"bad integer length {end - start} at byte {start}")
    return int.from_bytes(data[start:end], "big", signed=True)


def _int_field(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != INTEGER or stop - start > 5:
        raise WireError(f"{what}: expected an INTEGER at byte {pos}")
    return _signed(data, start, stop), stop


def decode_oid(data: bytes, start: int, end: int) -> Oid:
    """OBJECT IDENTIFIER content bytes as a tuple.

    Raises:
        WireError: empty, unterminated, non-minimal, over 128 arcs or 32-bit sub-ids.
    """
    if start >= end:
        raise WireError(f"empty OID at byte {start}")
    arcs: list[int] = []
    value = 0
    fresh = True
    for i in range(start, end):
        b = data[i]
        if fresh and b == 0x80:
            raise WireError(f"non-minimal OID sub-identifier at byte {i}")
        value = (value << 7) | (b & 0x7F)
        if b & 0x80:
            if value > MAX_SUBID + 80:  # stop a long run of bytes early
                raise WireError(f"OID sub-identifier too large at byte {i}")
            fresh = False
            continue
        arcs.append(value)
        value = 0
        fresh = True
    if not fresh:
        raise WireError(f"unterminated OID sub-identifier at byte {end - 1}")
    first = arcs[0]
    if first < 40:
        head: Oid = (0, first)
    elif first < 80:
        head = (1, first - 40)
    else:
        head = (2, first - 80)
    oid = head + tuple(arcs[1:])
    if len(oid) > MAX_OID_ARCS or max(oid) > MAX_SUBID:
        raise WireError(f"OID over the size caps at byte {start}")
    return oid


def _value(data: bytes, tag: int, start: int, end: int) -> WireValue:
    if tag in (OCTET_STRING, OPAQUE):
        return octets_value(data[start:end])
    if tag == INTEGER:
        if end - start > 5:
            raise WireError(f"INTEGER too long at byte {start}")
        return _signed(data, start, end)
    if tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
        n = _signed(data, start, end)
        if n < 0:  # some agents drop the leading zero; read the bytes as unsigned
            n += 1 << (8 * (end - start))
        if n >> (64 if tag == COUNTER64 else 32):
            raise WireError(f"unsigned value too large at byte {start}")
        return n
    if tag == OBJECT_IDENTIFIER:
        return oid_text(decode_oid(data, start, end))
    if tag == IP_ADDRESS:
        if end - start != 4:
            raise WireError(f"IpAddress of {end - start} octets at byte {start}")
        return ".".join(map(str, data[start:end]))
    if tag == NULL:
        if end != start:
            raise WireError(f"NULL with content at byte {start}")
        return None
    special = _SPECIALS.get(tag)
    if special is not None:
        return special
    raise WireError(f"unknown value tag 0x{tag:02x} at byte {start}")


def decode_message(data: bytes) -> Message:
    """Decode one SNMP v1/v2c message (any PDU but the v1 Trap).

    Args:
        data: one datagram.

    Returns:
        The `Message`, values converted (see the module docstring).

    Raises:
        WireError: anything malformed or over the caps.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    size = len(data)
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size} bytes is over {MAX_MESSAGE}")
    tag, pos, end = _header(data, 0, size)
    if tag != SEQUENCE or end != size:
        raise WireError("not an SNMP message (or trailing bytes)")
    version, pos = _int_field(data, pos, end, "version")
    if version not in (VERSION_1, VERSION_2C):
        raise WireError(f"SNMP version {version} is not v1/v2c")
    tag, start, pos = _header(data, pos, end)
    if tag != OCTET_STRING:
        raise WireError("community: expected an OCTET STRING")
    community = data[start:pos]
    pdu_type, pos, end = _header(data, pos, end)
    if pdu_type not in PDU_TYPES or end != size:
        raise WireError(f"unknown PDU type 0x{pdu_type:02x} (or trailing bytes)")
    request_id, pos = _int_field(data, pos, end, "request-id")
    error_status, pos = _int_field(data, pos, end, "error-status")
    error_index, pos = _int_field(data, pos, end, "error-index")
    tag, pos, vend = _header(data, pos, end)
    if tag != SEQUENCE or vend != end:
        raise WireError("varbind list: expected a SEQUENCE ending the PDU")
    varbinds: list[VarBind] = []
    append = varbinds.append
    oid_cache = _OID_CACHE
    while pos < vend:
        tag, pos, vb_end = _header(data, pos, vend)
        if tag != SEQUENCE:
            raise WireError(f"varbind: expected a SEQUENCE at byte {pos}")
        tag, start, pos = _header(data, pos, vb_end)
        if tag != OBJECT_IDENTIFIER:
            raise WireError(f"varbind: expected an OID at byte {start}")
        raw = data[start:pos]
        oid = oid_cache.get(raw)
        if oid is None:
            oid = decode_oid(data, start, pos)
            if len(oid_cache) >= OID_CACHE_SIZE:
                oid_cache.clear()
            oid_cache[raw] = oid
        tag, start, pos = _header(data, pos, vb_end)
        if pos != vb_end:
            raise WireError(f"varbind: trailing bytes at byte {pos}")
        append((oid, _value(data, tag, start, pos)))
    return Message(version, community, pdu_type, request_id, error_status, error_index, varbinds)


def error_name(status: int) -> str:
    """An error-status number as its RFC 3416 name."""
    return ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"error {status}"
