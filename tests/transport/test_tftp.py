"""opskit's TFTP server against real clients (tftp-hpa, atftp) on loopback."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import socket
import struct
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import wait_until
from opskit.transport.tftp import BackgroundTftpServer, TftpError, check_name, parse_listen
from tests.lab.tftp import ClientResult, LossyRelay, atftp_get, atftp_put, hpa_get, hpa_put


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def tree(root: Path) -> set[str]:
    """Every path under root (staging files included), as text."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def staged(server: BackgroundTftpServer) -> list[Path]:
    assert server.server is not None
    return list((server.server.root / ".staging").iterdir())


def test_put_then_get_small_with_tftp_hpa(tftp_server: BackgroundTftpServer, tmp_path: Path):
    src = random_file(tmp_path / "small.bin", 100_000)
    upload = tftp_server.expect_upload("core-r1-confg", peer="127.0.0.1")
    result = hpa_put(tftp_server.port, src, "core-r1-confg")
    assert result.ok, result.output
    received = upload.result(10)
    assert (received.size, received.sha256) == (100_000, sha(src))
    data = received.read_bytes()
    received.discard()
    assert staged(tftp_server) == []

    served = tftp_server.offer_file("core-r1-confg", data, peer="127.0.0.1")
    out = tmp_path / "back.bin"
    result = hpa_get(tftp_server.port, "core-r1-confg", out)
    assert result.ok, result.output
    assert sha(out) == sha(src)
    assert served.result(10).bytes == 100_000
    # Served once: a second read of the same name is refused.
    again = hpa_get(tftp_server.port, "core-r1-confg", tmp_path / "again.bin")
    assert not again.ok and "Error code 1" in again.output


@pytest.mark.parametrize("blksize", [1428, 8192])
def test_put_then_get_with_atftp_blksize(
    tftp_server: BackgroundTftpServer, tmp_path: Path, blksize: int
):
    src = random_file(tmp_path / "cfg.bin", 300_001)
    upload = tftp_server.expect_upload("sw1.cfg")
    result = atftp_put(tftp_server.port, src, "sw1.cfg", blksize=blksize)
    assert result.ok, result.output
    received = upload.result(10)
    assert received.sha256 == sha(src)
    served = tftp_server.offer_file("sw1.cfg", received.read_bytes())
    received.discard()
    out = tmp_path / "out.bin"
    result = atftp_get(tftp_server.port, "sw1.cfg", out, blksize=blksize, options=("tsize 0",))
    assert result.ok, result.output
    assert sha(out) == sha(src)
    assert served.result(10).blksize == blksize  # the server agreed to the client's size


def test_exact_multiple_of_blksize_ends_with_empty_block(
    tftp_server: BackgroundTftpServer, tmp_path: Path
):
    src = random_file(tmp_path / "even.bin", 512 * 40)
    upload = tftp_server.expect_upload("even.bin")
    assert hpa_put(tftp_server.port, src, "even.bin").ok
    received = upload.result(10)
    assert received.sha256 == sha(src)
    tftp_server.offer_file("even.bin", received.read_bytes())
    out = tmp_path / "even.out"
    assert hpa_get(tftp_server.port, "even.bin", out).ok
    assert sha(out) == sha(src)


@pytest.mark.slow
def test_40mb_rolls_over_block_numbers_both_ways(tftp_server: BackgroundTftpServer, tmp_path: Path):
    # 40 MiB at 512-byte blocks is 81,920 blocks: the 16-bit block number wraps past 65535.
    src = random_file(tmp_path / "big.bin", 40 << 20)
    upload = tftp_server.expect_upload("big.bin")
    result = hpa_put(tftp_server.port, src, "big.bin")
    assert result.ok, result.output
    received = upload.result(10)
    assert (received.size, received.sha256) == (40 << 20, sha(src))
    served = tftp_server.offer_file("big.bin", received.read_bytes())
    received.discard()
    out = tmp_path / "big.out"
    result = hpa_get(tftp_server.port, "big.bin", out)  # 512-byte blocks again
    assert result.ok, result.output
    assert sha(out) == sha(src)
    assert served.result(10).bytes == 40 << 20


def test_fifty_concurrent_uploads(tftp_server: BackgroundTftpServer, tmp_path: Path):
    files = [random_file(tmp_path / f"f{i}.bin", 20_000 + i) for i in range(50)]
    uploads = [tftp_server.expect_upload(f"dev{i}-confg") for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(
            pool.map(lambda i: hpa_put(tftp_server.port, files[i], f"dev{i}-confg"), range(50))
        )
    assert all(r.ok for r in results), [r.output for r in results if not r.ok]
    for i, upload in enumerate(uploads):
        received = upload.result(10)
        assert received.sha256 == sha(files[i])
        received.discard()


BAD_NAMES = [
    "../evil",
    "../../../../tmp/evil",
    "/etc/evil_abs",
    "sub/../../evil",
    "a\\..\\evil",
    "C$\\windows\\evil",
    ".staging",
    "x" * 200,
    "dev..cfg",
    "sub/dev.cfg",
    "-confg",
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_bad_names_are_refused_and_nothing_is_written(
    tftp_server: BackgroundTftpServer, tmp_path: Path, name: str
):
    src = random_file(tmp_path / "payload.bin", 2000)
    before = tree(tmp_path)
    put = hpa_put(tftp_server.port, src, name)
    assert "Error code" in put.output, put.output
    get = hpa_get(tftp_server.port, name, tmp_path / "got.bin")
    assert "Error code" in get.output, get.output
    (tmp_path / "got.bin").unlink(missing_ok=True)  # tftp-hpa leaves an empty file
    assert tree(tmp_path) == before
    assert not Path("/tmp/evil").exists() and not Path("/etc/evil_abs").exists()
    assert check_name(name) is not None


def raw_request(port: int, packet: bytes, host: str = "127.0.0.1") -> tuple[int, int, bytes]:
    """Send one request, return the first answer's (opcode, code/block, rest)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(packet, (host, port))
        data, _ = s.recvfrom(70000)
    opcode, number = struct.unpack_from("!HH", data)
    return opcode, number, data[4:]


@pytest.mark.parametrize(
    "name", [b"core-r1.cfg\x00../../evil", b"dev\x01.cfg", b""], ids=["nul", "ctrl", "empty"]
)
def test_raw_names_with_nul_or_control_characters_are_refused(
    tftp_server: BackgroundTftpServer, name: bytes
):
    tftp_server.expect_upload("core-r1.cfg")
    # A NUL inside the name ends it early in the wire format, so the "mode" is then
    # garbage: refused either way.
    opcode, code, _ = raw_request(tftp_server.port, b"\x00\x02" + name + b"\x00octet\x00")
    assert opcode == 5 and code in (2, 4)


def test_unexpected_name_and_wrong_address_are_refused(
    tftp_server: BackgroundTftpServer, tmp_path: Path
):
    src = random_file(tmp_path / "cfg.bin", 1000)
    refused = hpa_put(tftp_server.port, src, "stranger.cfg")
    assert "Error code 2" in refused.output
    upload = tftp_server.expect_upload("core-r1.cfg", peer="127.0.0.2")
    refused = hpa_put(tftp_server.port, src, "core-r1.cfg")  # we come from 127.0.0.1
    assert "Error code 2" in refused.output
    assert not upload.done()
    assert staged(tftp_server) == []


def test_reads_refused_unless_offered_to_that_address(
    tftp_server: BackgroundTftpServer, tmp_path: Path
):
    assert tftp_server.server is not None
    (tftp_server.server.root / "core-r1.cfg").write_text("hostname core-r1\n")
    # A file lying in the root is not served: only offers are.
    got = hpa_get(tftp_server.port, "core-r1.cfg", tmp_path / "x")
    assert "Error code 1" in got.output
    tftp_server.offer_file("core-r1.cfg", b"hostname core-r1\n", peer="127.0.0.2")
    got = hpa_get(tftp_server.port, "core-r1.cfg", tmp_path / "x")
    assert "Error code 1" in got.output
    assert (tmp_path / "x").read_bytes() == b""


def test_symlinks_in_root_never_lead_outside(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text("root:x:0:0\n")
    root = tmp_path / "root"
    root.mkdir()
    # A symlink where the staging dir goes, and symlinks under expected names.
    (root / ".staging").symlink_to(outside)
    (root / "core-r1.cfg").symlink_to(outside / "written.cfg")
    (root / "leak.cfg").symlink_to(secret)
    with BackgroundTftpServer(root, "127.0.0.1", 0) as server:
        src = random_file(tmp_path / "cfg.bin", 5000)
        upload = server.expect_upload("core-r1.cfg")
        assert hpa_put(server.port, src, "core-r1.cfg").ok
        received = upload.result(10)
        assert received.path.parent == root / ".staging"
        assert not received.path.parent.is_symlink()
        received.discard()
        got = hpa_get(server.port, "leak.cfg", tmp_path / "leak.out")
        assert "Error code 1" in got.output
    assert sorted(p.name for p in outside.iterdir()) == ["passwd"]
    assert secret.read_text() == "root:x:0:0\n"
    assert (tmp_path / "leak.out").read_bytes() == b""


def test_size_cap_refuses_by_tsize_and_while_receiving(tmp_path: Path):
    with BackgroundTftpServer(tmp_path / "root", "127.0.0.1", 0, max_size=10_000) as server:
        src = random_file(tmp_path / "big.bin", 50_000)
        first = server.expect_upload("a.cfg")
        # tftp-hpa sends no tsize: the cap hits while receiving.
        result = hpa_put(server.port, src, "a.cfg")
        assert "Error code 3" in result.output
        with pytest.raises(TftpError, match="limit"):
            first.result(10)
        # atftp announces tsize: refused before any data.
        server.expect_upload("b.cfg")
        result = atftp_put(server.port, src, "b.cfg", options=("tsize 50000",))
        assert not result.ok
        assert staged(server) == []


def test_duplicate_acks_do_not_trigger_resends(tftp_server: BackgroundTftpServer):
    # RFC 1350's Sorcerer's Apprentice: answering a duplicate ACK with the next block
    # doubles every packet from then on. The server must ignore duplicates.
    tftp_server.offer_file("dup.cfg", b"x" * 2000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(b"\x00\x01dup.cfg\x00octet\x00", ("127.0.0.1", tftp_server.port))
        data, tid = s.recvfrom(1000)
        assert struct.unpack_from("!HH", data) == (3, 1)
        s.sendto(struct.pack("!HH", 4, 1), tid)
        s.sendto(struct.pack("!HH", 4, 1), tid)  # duplicate
        data, _ = s.recvfrom(1000)
        assert struct.unpack_from("!HH", data) == (3, 2)
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recvfrom(1000)  # nothing more until we ACK block 2 (timeout is 2 s)
        s.sendto(struct.pack("!HH", 4, 2), tid)
        data, _ = s.recvfrom(1000)
        assert struct.unpack_from("!HH", data) == (3, 3)


def test_options_timeout_and_blksize_are_acknowledged_and_data_retransmitted(
    tftp_server: BackgroundTftpServer,
):
    tftp_server.offer_file("opt.cfg", b"y" * 3000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        request = b"\x00\x01opt.cfg\x00octet\x00blksize\x001000\x00timeout\x001\x00tsize\x000\x00"
        s.sendto(request, ("127.0.0.1", tftp_server.port))
        data, tid = s.recvfrom(1000)
        assert data[:2] == b"\x00\x06"
        fields = data[2:].split(b"\x00")
        options = dict(zip(fields[0::2], fields[1::2], strict=False))
        assert options == {b"blksize": b"1000", b"timeout": b"1", b"tsize": b"3000"}
        s.sendto(struct.pack("!HH", 4, 0), tid)
        first, _ = s.recvfrom(2000)
        assert struct.unpack_from("!HH", first) == (3, 1) and len(first) == 1004
        # Say nothing: the server resends block 1 after its (negotiated) 1 s timeout.
        again, _ = s.recvfrom(2000)
        assert again == first
        # A packet from another port is answered with "unknown transfer ID".
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.settimeout(5)
            other.sendto(struct.pack("!HH", 4, 1), tid)
            data, _ = other.recvfrom(1000)
            assert struct.unpack_from("!HH", data) == (5, 5)


LOSSY = [
    # (direction, client, file size): tftp-hpa lock-step, atftp with RFC 7440 windows
    ("put", "tftp-hpa", 8_000),
    ("get", "tftp-hpa", 8_000),
    ("put", "atftp windowsize 8", 300_000),
    ("get", "atftp windowsize 8", 300_000),
]


@pytest.mark.parametrize(("direction", "client", "size"), LOSSY, ids=lambda v: str(v))
def test_lossy_link_is_whole_or_a_clean_failure(
    tmp_path: Path, direction: str, client: str, size: int
):
    src = random_file(tmp_path / "cfg.bin", size)
    # 1 s timeouts on both sides keep the test short; the retry budget is the default.
    server = BackgroundTftpServer(tmp_path / "root", "127.0.0.1", 0, timeout=1.0)
    window = ("windowsize 8", "timeout 1")
    loss, seed = (0.1, 7 if direction == "put" else 11) if client == "tftp-hpa" else (0.1, 5)

    def put(port: int) -> ClientResult:
        if client == "tftp-hpa":
            return hpa_put(port, src, "lossy.cfg", rexmt=1, timeout=90)
        return atftp_put(port, src, "lossy.cfg", blksize=1428, options=window, timeout=90)

    def get(port: int, out: Path) -> ClientResult:
        if client == "tftp-hpa":
            return hpa_get(port, "lossy.cfg", out, rexmt=1, timeout=90)
        return atftp_get(port, "lossy.cfg", out, blksize=1428, options=window, timeout=90)

    with server, LossyRelay(server.port, loss=loss, seed=seed) as relay:
        if direction == "put":
            upload = server.expect_upload("lossy.cfg")
            result = put(relay.port)
            try:
                received = upload.result(30)
            except TftpError:
                assert not result.ok  # a clean failure on both sides
                assert staged(server) == []
            else:
                assert result.ok, result.output
                assert received.sha256 == sha(src)
        else:
            served = server.offer_file("lossy.cfg", src.read_bytes())
            out = tmp_path / "out.bin"
            result = get(relay.port, out)
            if result.ok:
                assert sha(out) == sha(src)
            else:  # a clean failure: the server never counts it as served
                assert not served.done() or served.exception() is not None
        assert relay.dropped[0] > 0 and relay.dropped[1] > 0  # the link really lost packets


def test_final_ack_lost_three_times_the_client_still_hears_it(tmp_path: Path):
    # The upload is whole on the server at its last block; the client only knows once an
    # ACK of that block reaches it. atftp resends the block every 5 s: the third resend
    # (15 s) must still be answered, or the two sides disagree (the server has the file,
    # the client reports a failure). Seen in CI at 10% loss with a 12 s linger.
    src = random_file(tmp_path / "cfg.bin", 3 * 1428 + 100)  # 4 blocks, the last short
    final_acks_dropped = []

    def drop_final_ack(packet: bytes) -> bool:
        if packet[:4] == struct.pack("!HH", 4, 4) and len(final_acks_dropped) < 3:
            final_acks_dropped.append(packet)
            return True
        return False

    with (
        BackgroundTftpServer(tmp_path / "root", "127.0.0.1", 0) as server,
        LossyRelay(server.port, loss=0.0, drop_reply=drop_final_ack) as relay,
    ):
        upload = server.expect_upload("final.cfg")
        result = atftp_put(relay.port, src, "final.cfg", blksize=1428, timeout=40)
        assert len(final_acks_dropped) == 3
        assert result.ok, result.output
        assert result.output.count("retrying") == 3
        assert upload.result(5).sha256 == sha(src)


def test_windowsize_with_atftp_both_ways(tftp_server: BackgroundTftpServer, tmp_path: Path):
    src = random_file(tmp_path / "cfg.bin", 1_000_003)
    upload = tftp_server.expect_upload("w.cfg")
    result = atftp_put(tftp_server.port, src, "w.cfg", blksize=1428, options=("windowsize 8",))
    assert result.ok, result.output
    received = upload.result(10)
    assert received.sha256 == sha(src)
    served = tftp_server.offer_file("w.cfg", received.read_bytes())
    received.discard()
    out = tmp_path / "out.bin"
    result = atftp_get(tftp_server.port, "w.cfg", out, blksize=1428, options=("windowsize 8",))
    assert result.ok, result.output
    assert sha(out) == sha(src)
    assert served.result(10).bytes == 1_000_003


def _request(kind: int, name: str, **options: str) -> bytes:
    fields = [name, "octet", *(x for kv in options.items() for x in kv)]
    return struct.pack("!H", kind) + b"".join(f.encode() + b"\x00" for f in fields)


def _oack(data: bytes) -> dict[bytes, bytes]:
    assert data[:2] == b"\x00\x06", data
    fields = data[2:].split(b"\x00")
    return dict(zip(fields[0::2], fields[1::2], strict=False))


def test_windowsize_upload_acks_once_a_window_and_at_once_on_a_gap(
    tftp_server: BackgroundTftpServer,
):
    upload = tftp_server.expect_upload("win.cfg")
    blocks = {n: bytes([n]) * 512 for n in range(1, 10)} | {10: b"end"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(_request(2, "win.cfg", windowsize="4"), ("127.0.0.1", tftp_server.port))
        data, tid = s.recvfrom(100)
        assert _oack(data) == {b"windowsize": b"4"}

        def send(*numbers: int) -> None:
            for n in numbers:
                s.sendto(struct.pack("!HH", 3, n) + blocks[n], tid)

        def expect_ack(number: int) -> None:
            data, _ = s.recvfrom(100)
            assert struct.unpack("!HH", data) == (4, number)

        def expect_silence() -> None:
            s.settimeout(0.3)
            with pytest.raises(TimeoutError):
                s.recvfrom(100)
            s.settimeout(5)

        send(1, 2, 3)
        expect_silence()  # no ACK inside a window
        send(4)
        expect_ack(4)
        send(5, 7)  # 6 is lost: the gap is answered at once with the last block in order
        expect_ack(5)
        send(8)
        expect_silence()  # dropped, and not answered again, until 6 comes
        send(6, 7, 8, 9)
        expect_ack(9)
        send(10)  # the short block ends it
        expect_ack(10)
    got = upload.result(10)
    assert got.read_bytes() == b"".join(blocks[n] for n in range(1, 11))
    got.discard()


def test_windowsize_download_sends_a_window_then_waits(tftp_server: BackgroundTftpServer):
    payload = os.urandom(3000)  # 6 blocks of 512 (the last 440 bytes)
    served = tftp_server.offer_file("win.cfg", payload)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(_request(1, "win.cfg", windowsize="4"), ("127.0.0.1", tftp_server.port))
        data, tid = s.recvfrom(100)
        assert _oack(data) == {b"windowsize": b"4"}
        s.sendto(struct.pack("!HH", 4, 0), tid)
        got = {}
        for _ in range(4):
            data, _ = s.recvfrom(600)
            got[struct.unpack_from("!H", data, 2)[0]] = data[4:]
        assert sorted(got) == [1, 2, 3, 4]
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recvfrom(600)  # a window, then it waits
        s.settimeout(5)
        s.sendto(struct.pack("!HH", 4, 2), tid)  # 3 and 4 "lost": go on from 3
        for _ in range(4):
            data, _ = s.recvfrom(600)
            got[struct.unpack_from("!H", data, 2)[0]] = data[4:]
        s.sendto(struct.pack("!HH", 4, 2), tid)  # a duplicate ACK: no resend
        s.sendto(struct.pack("!HH", 4, 6), tid)
    assert b"".join(got[n] for n in range(1, 7)) == payload
    assert served.result(10).bytes == 3000


def test_windowsize_option_is_bounded(tftp_server: BackgroundTftpServer):
    tftp_server.expect_upload("big.cfg")
    tftp_server.expect_upload("bad.cfg")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(_request(2, "big.cfg", windowsize="60000"), ("127.0.0.1", tftp_server.port))
        data, _ = s.recvfrom(100)
        assert _oack(data) == {b"windowsize": b"64"}  # a 64-block burst at the most
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(_request(2, "bad.cfg", windowsize="0"), ("127.0.0.1", tftp_server.port))
        data, _ = s.recvfrom(100)
        assert struct.unpack_from("!HH", data) == (5, 8)  # option refused
        assert b"bad windowsize" in data


class HeldHandOver:
    """Stands in for the server's fsync pool: holds each finished upload's hand-over until
    `release()` (a loaded disk), so a test sees the moment between the last ACK and it."""

    def __init__(self) -> None:
        self.jobs: list[Any] = []

    def submit(self, fn: Any, *args: Any) -> None:
        self.jobs.append((fn, args))

    def release(self) -> None:
        for fn, args in self.jobs:
            fn(*args)
        self.jobs = []

    def shutdown(self, wait: bool = True) -> None:
        self.release()


def test_a_new_request_from_a_finished_transfers_port_is_a_new_transfer(tmp_path: Path):
    # Under load the kernel often gives a new client the port of one that just finished,
    # before the server has handed that upload over: the new request must start a new
    # transfer, not be taken for the old one's repeated request.
    with BackgroundTftpServer(tmp_path / "root", "127.0.0.1", 0) as server:
        assert server.server is not None
        held = HeldHandOver()
        server.server._finisher = held  # type: ignore[assignment]
        first, second = server.expect_upload("a.cfg"), server.expect_upload("b.cfg")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(_request(2, "a.cfg"), ("127.0.0.1", server.port))
            data, tid1 = s.recvfrom(100)
            assert struct.unpack("!HH", data) == (4, 0)
            s.sendto(struct.pack("!HH", 3, 1) + b"hello", tid1)
            assert struct.unpack("!HH", s.recvfrom(100)[0]) == (4, 1)
            assert not first.done()  # its hand-over is held
            s.sendto(_request(2, "b.cfg"), ("127.0.0.1", server.port))
            data, tid2 = s.recvfrom(100)
            assert struct.unpack("!HH", data) == (4, 0) and tid2 != tid1
            s.sendto(struct.pack("!HH", 3, 1) + b"world", tid2)
            assert struct.unpack("!HH", s.recvfrom(100)[0]) == (4, 1)
        wait_until(lambda: len(held.jobs) == 2, timeout=5, what="both uploads finished")
        held.release()
        assert first.result(10).read_bytes() == b"hello"
        assert second.result(10).read_bytes() == b"world"


def test_ipv6_loopback(tmp_path: Path):
    with BackgroundTftpServer(tmp_path / "root6", "::1", 0) as server:
        src = random_file(tmp_path / "v6.bin", 10_000)
        upload = server.expect_upload("v6.cfg", peer="::1")
        result = hpa_put(server.port, src, "v6.cfg", host="::1")
        assert result.ok, result.output
        assert upload.result(10).sha256 == sha(src)


def test_parse_listen_rejects_garbage():
    assert parse_listen(":6969") == ("0.0.0.0", 6969)
    with pytest.raises(ValueError):
        parse_listen("example.org:69")


def test_doctests_of_the_tftp_server():
    import doctest

    import opskit.transport.tftp

    result = doctest.testmod(opskit.transport.tftp)
    assert result.failed == 0 and result.attempted > 0
