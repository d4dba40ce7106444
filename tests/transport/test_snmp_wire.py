"""The v1/v2c BER codec (`opskit.transport.snmp.wire`): golden bytes from real agents,
pysnmp/pyasn1 as an independent second decoder, and property tests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opskit.transport.snmp import wire as w
from opskit.transport.snmp.client import _convert_value

# Responses captured from net-snmp snmpd 5.9.3 and snmpsim 1.2.2 on loopback (request id
# 4242). snmpd: GET sysObjectID/sysName/a missing object/a missing instance; GETBULK of
# five columns x 2 (Counter32, Gauge32, IpAddress, Counter64); GETNEXT past the end.
# snmpsim: a recording with every type (TimeTicks/Gauge32 at 2^32-1, Counter64 at
# 2^64-1, INTEGER -129, binary string, Opaque, IpAddress, NULL, sub-ids of 4 bytes),
# and a GETBULK running into endOfMibView.
GOLDEN = {
    "snmpd_get": (
        "306302010104067075626c6963a25602021092020100020100304a301606082b06010201"
        "010200060a2b06010401bf0803020a301406082b0601020101050004086c61622d686f73"
        "74300c06082b060102010163008000300c06082b060102010105018100"
    ),
    "snmpd_bulk": (
        "3081de02010104067075626c6963a281d0020210920201000201003081c3300f060a2b06"
        "01020102020101010201013012060a2b0601020102020105014204009896803012060a2b"
        "060102010202010a0141044a0780f83015060d2b06010201041401017f00000140047f00"
        "00013014060b2b060102011f01010106014605014a0780f8300f060a2b06010201020201"
        "0102020102300f060a2b060102010202010502420100300f060a2b060102010202010a02"
        "4101003016060e2b060102010414010181400002024004c00002023010060b2b06010201"
        "1f0101010602460100"
    ),
    "snmpd_end": ("302002010104067075626c6963a21302021092020100020100300730050601508200"),
    "snmpsim_get": (
        "30820127020101040a776972652d7479706573a282011402021092020100020100308201"
        "06301806082b06010201010100040c676f6c64656e206167656e74301506082b06010201"
        "01020006092b0601040109018938301106082b06010201010300430500ffffffff300f06"
        "082b06010201010500040300ff103013060a2b060102010202010501420500ffffffff30"
        "13060a2b060102010202010a01410500800000003010060a2b060102010202010d010202"
        "ff7f3015060d2b06010201041401010a00000140040a0000013018060b2b060102011f01"
        "01010601460900ffffffffffffffff3015060a2b060104018f6563010044079f78044120"
        "0000300e060a2b060104018f656302000500301b060f2b06010401868d1fffffff7f8148"
        "0004086c6f6e67206f6964"
    ),
    "snmpsim_bulk_end": (
        "3064020101040a776972652d7479706573a253020210920201000201003047301b060f2b"
        "06010401868d1fffffff7f81480004086c6f6e67206f69643013060f2b06010401868d1f"
        "ffffff7f81480082003013060f2b06010401868d1fffffff7f8148008200"
    ),
}

SNMPSIM_GET = [
    ((1, 3, 6, 1, 2, 1, 1, 1, 0), "golden agent"),
    ((1, 3, 6, 1, 2, 1, 1, 2, 0), "1.3.6.1.4.1.9.1.1208"),
    ((1, 3, 6, 1, 2, 1, 1, 3, 0), 4294967295),
    ((1, 3, 6, 1, 2, 1, 1, 5, 0), "0x00ff10"),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), 4294967295),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), 2147483648),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 13, 1), -129),
    ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), "10.0.0.1"),
    ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), 2**64 - 1),
    ((1, 3, 6, 1, 4, 1, 2021, 99, 1, 0), "0x9f780441200000"),
    ((1, 3, 6, 1, 4, 1, 2021, 99, 2, 0), None),
    ((1, 3, 6, 1, 4, 1, 99999, 268435455, 200, 0), "long oid"),
]


def golden(name: str) -> bytes:
    return bytes.fromhex("".join(GOLDEN[name]))


def pyasn1_decode(data: bytes) -> tuple[int, int, int, int, list[tuple[Any, Any]]]:
    """The same message decoded by pysnmp/pyasn1 and converted as the pysnmp path does."""
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api

    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    msg, rest = decoder.decode(data, asn1Spec=mod.Message())
    assert not rest
    pdu = mod.apiMessage.get_pdu(msg)
    p = mod.apiPDU
    return (
        int(msg["version"]),
        int(p.get_request_id(pdu)),
        int(p.get_error_status(pdu)),
        int(pdu["error-index"]),
        [(tuple(n), _convert_value(v)) for n, v in p.get_varbinds(pdu)],
    )


def summary(m: w.Message) -> tuple[int, int, int, int, list[tuple[Any, Any]]]:
    return m.version, m.request_id, m.error_status, m.error_index, m.varbinds


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_responses_decode_as_pyasn1_does(name: str) -> None:
    data = golden(name)
    msg = w.decode_message(data)
    assert msg.pdu_type == w.RESPONSE and msg.request_id == 4242 and msg.version == 1
    assert summary(msg) == pyasn1_decode(data)


def test_golden_values_of_every_type() -> None:
    msg = w.decode_message(golden("snmpsim_get"))
    assert msg.community == b"wire-types"
    assert msg.varbinds == SNMPSIM_GET
    got = dict(w.decode_message(golden("snmpd_get")).varbinds)
    assert got[(1, 3, 6, 1, 2, 1, 1, 5, 0)] == "lab-host"
    assert got[(1, 3, 6, 1, 2, 1, 1, 99, 0)] is w.NO_SUCH_OBJECT
    assert got[(1, 3, 6, 1, 2, 1, 1, 5, 1)] is w.NO_SUCH_INSTANCE
    assert w.decode_message(golden("snmpd_end")).varbinds == [((2, 0), w.END_OF_MIB_VIEW)]
    assert w.plain(w.END_OF_MIB_VIEW) is None and w.plain(0) == 0
    bulk = w.decode_message(golden("snmpd_bulk"))  # a two-byte long-form length
    assert golden("snmpd_bulk")[1] == 0x81 and len(bulk.varbinds) == 10


def test_requests_decode_back_and_pyasn1_reads_them() -> None:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api

    oids = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1, 8)]
    data = w.encode_request(1, b"s3cret", w.GET_BULK, 2**31 - 1, oids, 0, 25)
    msg = w.decode_message(data)
    assert (msg.pdu_type, msg.request_id, msg.error_status, msg.error_index) == (
        w.GET_BULK, 2**31 - 1, 0, 25,
    )  # fmt: skip
    assert msg.varbinds == [(o, None) for o in oids] and msg.community == b"s3cret"
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    parsed, rest = decoder.decode(data, asn1Spec=mod.Message())
    pdu = mod.apiMessage.get_pdu(parsed)
    assert not rest and int(mod.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [tuple(n) for n, _ in mod.apiBulkPDU.get_varbinds(pdu)] == oids
    v1 = w.decode_message(w.encode_request(0, b"public", w.GET_NEXT, 7, oids[:1]))
    assert (v1.version, v1.pdu_type, v1.request_id) == (0, w.GET_NEXT, 7)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(w.WireError, match="GETBULK needs"):
        w.encode_request(0, b"p", w.GET_BULK, 1, [(1, 3)], 0, 5)
    for bad in [(1,), (3, 1), (1, 40), (1, 3, -1), (1, 3, 2**32)]:
        with pytest.raises(w.WireError):
            w.encode_request(1, b"p", w.GET, 1, [bad])
    with pytest.raises(w.WireError, match="over"):
        w.encode_request(1, b"p", w.GET, 1, [(1, 3, 6, 1, 2, 1, 1, 1)] * 7000)


def _msg(varbinds: bytes, *, pdu: int = 0xA2, version: bytes = b"\x02\x01\x01") -> bytes:
    body = b"\x02\x01\x05\x02\x01\x00\x02\x01\x00" + w._tlv(0x30, varbinds)
    return w._tlv(0x30, version + b"\x04\x01p" + w._tlv(pdu, body))


OID = b"\x06\x03\x2b\x06\x01"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "truncated"),
        (b"\x30\x80\x02\x01\x01\x00\x00", "indefinite"),
        (b"\x30\x85\x00\x00\x00\x00\x01", "bad length"),
        (b"\x30\x03\x02\x01\x01\x00", "trailing"),
        (b"\x30\x05\x02\x01\x01", "runs past"),
        (_msg(b"", version=b"\x02\x01\x03"), "version 3"),
        (_msg(b"", pdu=0xA4), "PDU type"),
        (_msg(w._tlv(0x30, b"\x06\x02\x2b\x81" + b"\x05\x00")), "unterminated"),
        (_msg(w._tlv(0x30, b"\x06\x03\x2b\x80\x01" + b"\x05\x00")), "non-minimal"),
        (_msg(w._tlv(0x30, b"\x06\x00\x05\x00")), "empty OID"),
        (_msg(w._tlv(0x30, b"\x06\x07\x2b" + b"\xff" * 5 + b"\x7f\x05\x00")), "too large"),
        (_msg(w._tlv(0x30, OID + b"\x02\x06" + b"\x01" * 6)), "too long"),
        (_msg(w._tlv(0x30, OID + b"\x46\x0a" + b"\x01" * 10)), "integer length"),
        (_msg(w._tlv(0x30, OID + b"\x41\x05\x01\x00\x00\x00\x00")), "too large"),
        (_msg(w._tlv(0x30, OID + b"\x02\x00")), "integer length"),
        (_msg(w._tlv(0x30, OID + b"\x40\x03\x01\x02\x03")), "IpAddress of 3"),
        (_msg(w._tlv(0x30, OID + b"\x05\x01\x00")), "NULL with content"),
        (_msg(w._tlv(0x30, OID + b"\x47\x00")), "unknown value tag"),
        (_msg(w._tlv(0x30, OID + b"\x05\x00\x05\x00")), "trailing"),
        (_msg(w._tlv(0x31, OID + b"\x05\x00")), "expected a SEQUENCE"),
        (_msg(w._tlv(0x30, b"\x04\x01a\x05\x00")), "expected an OID"),
        (b"\x1f\x01\x00", "multi-byte tag"),
    ],
)
def test_malformed_messages_are_clean_errors(data: bytes, why: str) -> None:
    with pytest.raises(w.WireError, match=why):
        w.decode_message(data)


def test_negative_integers_long_lengths_and_lenient_unsigned() -> None:
    big = b"x" * 300  # a two-byte length
    vb = w._tlv(0x30, OID + w.encode_value(w.OCTET_STRING, big))
    vb += w._tlv(0x30, OID + w.encode_value(w.INTEGER, -(2**31)))
    vb += w._tlv(0x30, OID + b"\x41\x04\xff\xff\xff\xfe")  # Counter32 without its 0x00
    msg = w.decode_message(_msg(vb))
    assert [v for _, v in msg.varbinds] == ["x" * 300, -(2**31), 2**32 - 2]


# ------------------------------------------------------------------ property tests

SUBID = st.integers(0, 2**32 - 1)
OIDS = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), SUBID),
).flatmap(lambda head: st.lists(SUBID, max_size=20).map(lambda tail: head + tuple(tail)))

VALUES = st.one_of(
    st.tuples(st.just(w.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.sampled_from([w.COUNTER32, w.GAUGE32, w.TIMETICKS]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(w.COUNTER64), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from([w.OCTET_STRING, w.OPAQUE]), st.binary(max_size=300)),
    st.tuples(st.just(w.OCTET_STRING), st.text(max_size=40).map(lambda s: s.encode("utf-8"))),
    st.tuples(st.just(w.IP_ADDRESS), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(w.OBJECT_IDENTIFIER), OIDS),
    st.tuples(
        st.sampled_from(
            [w.NULL, w.NO_SUCH_OBJECT_TAG, w.NO_SUCH_INSTANCE_TAG, w.END_OF_MIB_VIEW_TAG]
        ),
        st.none(),
    ),
)


def expected(tag: int, raw: Any) -> w.WireValue:
    if tag in (w.OCTET_STRING, w.OPAQUE):
        return w.octets_value(raw)
    if tag == w.IP_ADDRESS:
        return ".".join(str(b) for b in raw)
    if tag == w.OBJECT_IDENTIFIER:
        return w.oid_text(raw)
    if tag == w.NULL:
        return None
    if tag in (w.NO_SUCH_OBJECT_TAG, w.NO_SUCH_INSTANCE_TAG, w.END_OF_MIB_VIEW_TAG):
        return {s.tag: s for s in (w.NO_SUCH_OBJECT, w.NO_SUCH_INSTANCE, w.END_OF_MIB_VIEW)}[tag]
    return int(raw)


MESSAGES = st.tuples(
    st.sampled_from([0, 1]),
    st.binary(max_size=40),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 18),
    st.integers(0, 200),
    st.lists(st.tuples(OIDS, VALUES), max_size=30),
)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(MESSAGES)
def test_decode_of_encode_round_trips(case: Any) -> None:
    version, community, rid, status, index, vbs = case
    data = w.encode_message(
        version, community, w.RESPONSE, rid, status, index,
        [(oid, w.encode_value(tag, raw)) for oid, (tag, raw) in vbs],
    )  # fmt: skip
    msg = w.decode_message(data)
    assert (msg.version, msg.community, msg.request_id) == (version, community, rid)
    assert (msg.error_status, msg.error_index) == (status, index)
    assert msg.varbinds == [(oid, expected(tag, raw)) for oid, (tag, raw) in vbs]


@settings(derandomize=True, database=None, max_examples=100, deadline=None)
@given(MESSAGES.filter(lambda c: c[0] == 1))
def test_codec_agrees_with_pyasn1(case: Any) -> None:
    version, community, rid, status, index, vbs = case
    data = w.encode_message(
        version, community, w.RESPONSE, rid, status, index,
        [(oid, w.encode_value(tag, raw)) for oid, (tag, raw) in vbs],
    )  # fmt: skip
    assert summary(w.decode_message(data)) == pyasn1_decode(data)


@settings(
    derandomize=True, database=None, max_examples=500, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
@given(st.binary(max_size=300))
def test_any_bytes_give_a_message_or_a_clean_error(data: bytes) -> None:
    try:
        msg = w.decode_message(data)
    except w.WireError:
        return
    assert isinstance(msg, w.Message)


@settings(derandomize=True, database=None, max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(GOLDEN)),
    st.integers(0, 400),
    st.integers(0, 255),
    st.booleans(),
)
def test_damaged_real_responses_give_a_message_or_a_clean_error(
    name: str, at: int, byte: int, truncate: bool
) -> None:
    data = bytearray(golden(name))
    at %= len(data)
    if truncate:
        del data[at:]
    else:
        data[at] = byte
    try:
        msg = w.decode_message(bytes(data))
    except w.WireError:
        return
    assert isinstance(msg, w.Message)
