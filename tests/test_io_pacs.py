"""C-STORE of a harmonized series to dcmtk's ``storescp`` on 127.0.0.1 (installed by .ci/run).

pynetdicom installs its own ``storescp`` script, which may come first on PATH; these tests use
dcmtk's (a different implementation from the sender's library) from /usr/bin and fail loudly
when it is missing.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest

from xray_harmonizer.io import open_image
from xray_harmonizer.io.export import write_derived_dicom
from xray_harmonizer.io.pacs import PacsError, PacsNode, dicom_files, parse_address, send_files

DCMTK_STORESCP = Path("/usr/bin/storescp")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_storescp(folder: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    assert DCMTK_STORESCP.exists(), "dcmtk's storescp not found: apt-get install dcmtk (.ci/run does)"
    version = subprocess.run([str(DCMTK_STORESCP), "--version"], capture_output=True, text=True)
    assert "dcmtk" in (version.stdout + version.stderr).lower(), "/usr/bin/storescp is not dcmtk's"
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen([str(DCMTK_STORESCP), "-aet", "TESTPACS", "-od", str(folder),
                             *extra, str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"storescp did not listen on {port}: {proc.communicate()[0][-500:]!r}")


@pytest.fixture()
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    proc, port = _start_storescp(tmp_path / "received")
    yield port, tmp_path / "received"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def series(dicom_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A harmonized series: the two RG2 images (one source series) and a PNG-made SC."""
    out = tmp_path_factory.mktemp("series")
    written = []
    for name in ("RG2_UNC.dcm", "RG2_JPLL.dcm"):
        image = open_image(dicom_dir / name)
        written.append(write_derived_dicom(np.sqrt(image.pixels), image, out / f"{name}",
                                           generalizer_name="histogram", model_hash=None))
    png = open_image(sorted((dicom_dir.parent / "cxr" / "kermany").glob("*.png"))[0])
    written.append(write_derived_dicom(png.pixels, png, out / "png_sc.dcm", generalizer_name="histogram",
                                       model_hash=None))
    return written


def test_series_is_received_intact(series: list[Path], storescp: tuple[int, Path]) -> None:
    """Catches a store that reports success but delivers other objects or altered pixels."""
    port, received = storescp
    seen: list[tuple[int, int]] = []
    result = send_files(series, PacsNode("127.0.0.1", port, called_aet="TESTPACS"), timeout=10,
                        progress=lambda done, total: seen.append((done, total)))
    assert result.failed == [] and result.sent == series
    assert seen == [(1, 3), (2, 3), (3, 3)]
    got = {}
    for path in received.iterdir():
        ds = pydicom.dcmread(path)
        got[ds.SOPInstanceUID] = ds
    sent = {pydicom.dcmread(p).SOPInstanceUID: pydicom.dcmread(p) for p in series}
    assert set(got) == set(sent)
    for uid, ds in sent.items():
        np.testing.assert_array_equal(got[uid].pixel_array, ds.pixel_array)
        assert got[uid].SeriesInstanceUID == ds.SeriesInstanceUID
    rg2 = [sent[pydicom.dcmread(p).SOPInstanceUID] for p in series[:2]]
    assert rg2[0].SeriesInstanceUID == rg2[1].SeriesInstanceUID  # one harmonized series


def test_refused_association_is_one_line(series: list[Path], tmp_path: Path) -> None:
    """storescp --refuse: a clear one-line reason naming the node, not a pynetdicom log."""
    proc, port = _start_storescp(tmp_path / "r", "--refuse")
    try:
        with pytest.raises(PacsError) as err:
            send_files(series[:1], PacsNode("127.0.0.1", port, called_aet="TESTPACS"), timeout=5)
    finally:
        proc.terminate()
        proc.wait(10)
    msg = str(err.value)
    assert "rejected the association" in msg and f"TESTPACS@127.0.0.1:{port}" in msg and "\n" not in msg


def test_nothing_listening_is_one_line(series: list[Path]) -> None:
    port = _free_port()
    start = time.monotonic()
    with pytest.raises(PacsError, match=rf"cannot reach 127\.0\.0\.1:{port} \(Connection refused\)"):
        send_files(series[:1], PacsNode("127.0.0.1", port), timeout=5)
    assert time.monotonic() - start < 5


def test_silent_peer_times_out(series: list[Path]) -> None:
    """A peer that accepts TCP but never answers the association request must not hang."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    conns: list[socket.socket] = []
    threading.Thread(target=lambda: conns.append(server.accept()[0]), daemon=True).start()
    start = time.monotonic()
    try:
        with pytest.raises(PacsError, match="did not accept an association within 1 s"):
            send_files(series[:1], PacsNode("127.0.0.1", port), timeout=1)
    finally:
        for c in conns:
            c.close()
        server.close()
    assert time.monotonic() - start < 8


def test_peer_that_drops_the_association_request_is_a_rejection(series: list[Path]) -> None:
    """Catches the flaky "did not accept an association within 5 s" for a node that refuses:
    dcmtk's storescp --refuse closes the socket right after its A-ASSOCIATE-RJ and the reset
    can arrive before the RJ is read (1 run in 15 here). A peer that reads the request and
    resets the connection must read as a rejection, at once, not as a timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def drop() -> None:
        conn = server.accept()[0]
        conn.recv(16)  # part of the A-ASSOCIATE-RQ stays unread: close() then sends a reset
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    threading.Thread(target=drop, daemon=True).start()
    start = time.monotonic()
    try:
        with pytest.raises(PacsError, match="rejected the association") as err:
            send_files(series[:1], PacsNode("127.0.0.1", port), timeout=5)
    finally:
        server.close()
    assert "\n" not in str(err.value) and time.monotonic() - start < 4


def test_unreadable_files_are_reported_not_sent(tmp_path: Path, storescp: tuple[int, Path]) -> None:
    port, received = storescp
    junk = tmp_path / "notes.txt"
    junk.write_text("not DICOM")
    result = send_files([junk], PacsNode("127.0.0.1", port), timeout=5)
    assert result.sent == [] and result.failed[0][0] == junk and "not a DICOM file" in result.failed[0][1]
    assert list(received.iterdir()) == []


def test_parse_address_and_node_checks(tmp_path: Path) -> None:
    assert parse_address("pacs.example:104") == ("pacs.example", 104)
    assert parse_address("[::1]:11112") == ("::1", 11112)
    for bad in ("pacs", "pacs:", ":104", "pacs:0", "pacs:70000", "pacs:x"):
        with pytest.raises(ValueError):
            parse_address(bad)
    with pytest.raises(ValueError):
        PacsNode("h", 104, called_aet="A" * 17)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.dcm").write_bytes(b"")
    (tmp_path / "d" / ".a.dcm.part").write_bytes(b"")
    assert dicom_files([tmp_path / "d"]) == [tmp_path / "d" / "b.dcm"]


def test_cli_send(series: list[Path], storescp: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """``xray-harmonizer send FOLDER --to HOST:PORT``: every file stored, exit 0; an unreachable
    node: one line on stderr and exit 1."""
    from xray_harmonizer.cli import main

    port, received = storescp
    assert main(["send", str(series[0].parent), "--to", f"127.0.0.1:{port}",
                 "--called-aet", "TESTPACS", "--aet", "XRH-TEST"]) == 0
    assert len(list(received.iterdir())) == 3
    assert "sent 3 of 3" in capsys.readouterr().out
    assert main(["send", str(series[0]), "--to", f"127.0.0.1:{_free_port()}"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot reach") and "\n" not in err
