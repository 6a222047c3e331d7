"""Send DICOM files to a PACS by C-STORE (pynetdicom).

``send_files(paths, node)`` opens one association for the whole set (presentation contexts for
each SOP class and transfer syntax present), stores the files one at a time (only one dataset
in memory) and returns which were stored and which the peer refused, each with its status.
Failures of the association itself (host unreachable, connection refused, association
rejected or aborted, no answer within the timeout) raise :class:`PacsError` with one line that
names the node, never a patient.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

log = logging.getLogger(__name__)
# pynetdicom logs every failed connection and each PDU at INFO/ERROR; our callers turn failures
# into one line, and its DEBUG output would print dataset contents (patient data).
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)

DEFAULT_CALLING_AET = "XRAY-HARMONIZER"
DEFAULT_CALLED_AET = "ANY-SCP"
_MAX_CONTEXTS = 128  # PS3.8: at most 128 presentation contexts per association


class PacsError(Exception):
    """The association could not be made or was lost; ``str()`` is one line."""


@dataclass(frozen=True)
class PacsNode:
    """Where to send: host, port and the two AE titles (each 1-16 characters)."""

    host: str
    port: int
    called_aet: str = DEFAULT_CALLED_AET
    calling_aet: str = DEFAULT_CALLING_AET

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise ValueError(f"bad PACS address {self.host}:{self.port}")
        for title in (self.called_aet, self.calling_aet):
            if not 0 < len(title.strip()) <= 16 or "\\" in title:
                raise ValueError(f"bad AE title {title!r} (1-16 characters, no backslash)")

    def __str__(self) -> str:
        return f"{self.called_aet}@{self.host}:{self.port}"


@dataclass
class SendResult:
    """Files stored (``sent``) and refused (``failed``: path and one-line reason)."""

    sent: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def parse_address(text: str) -> tuple[str, int]:
    """``"host:port"`` -> (host, port); ValueError with one line otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def dicom_files(paths: Iterable[Path]) -> list[Path]:
    """The files to send: each given file, and every file under each given folder (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    return found


def send_files(paths: list[Path], node: PacsNode, *, timeout: float = 10.0,
               progress: Callable[[int, int], None] | None = None) -> SendResult:
    """C-STORE ``paths`` to ``node`` over one association.

    Files that are not readable DICOM are reported in ``failed`` and not sent. ``timeout``
    (seconds) bounds the TCP connect, the association negotiation and each store's answer.
    ``progress(done, total)`` is called after each file. Raises PacsError when no association
    can be made or it is lost midway.
    """
    result = SendResult()
    headers: list[tuple[Path, str, str]] = []
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            headers.append((path, str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)))
        except (InvalidDicomError, OSError, AttributeError, ValueError, KeyError) as exc:
            result.failed.append((path, f"not a DICOM file that can be sent ({type(exc).__name__})"))
    if not headers:
        return result
    ae = AE(ae_title=node.calling_aet)
    ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    contexts = sorted({(sop, ts) for _, sop, ts in headers})
    if len({sop for sop, _ in contexts}) > _MAX_CONTEXTS // 2:
        raise PacsError(f"too many different kinds of DICOM object for one association ({len(contexts)})")
    for sop in sorted({sop for sop, _ in contexts}):
        stored_as = {ts for s, ts in contexts if s == sop}
        ae.add_requested_context(sop, sorted(stored_as | {ExplicitVRLittleEndian, ImplicitVRLittleEndian}))
    started = time.monotonic()
    assoc = ae.associate(node.host, node.port, ae_title=node.called_aet)
    if not assoc.is_established:
        if assoc.is_rejected:
            raise PacsError(f"{node} rejected the association (check the AE titles and that "
                            "this computer may send to it)")
        _check_reachable(node, timeout)  # raises with the system's reason when unreachable
        if time.monotonic() - started < 0.9 * timeout:
            # A node that refuses often closes the socket right after its A-ASSOCIATE-RJ; the
            # reset can reach us before the RJ is read (seen with dcmtk's storescp --refuse
            # about 1 time in 15), and pynetdicom then reports an abort, not a rejection.
            raise PacsError(f"{node} rejected the association (it closed the connection during "
                            "negotiation; check the AE titles and that this computer may send "
                            "to it)")
        raise PacsError(f"{node} did not accept an association within {timeout:g} s")
    try:
        for done, (path, _, _) in enumerate(headers, start=1):
            ds = pydicom.dcmread(path)  # one dataset in memory at a time
            status = assoc.send_c_store(ds)
            if not assoc.is_established and "Status" not in status:
                raise PacsError(f"{node} closed the association while storing ({done - 1} of "
                                f"{len(headers)} stored)")
            code = int(status.get("Status", 0xFFFF))
            if code == 0x0000 or 0xB000 <= code <= 0xBFFF:  # success, or stored with a warning
                result.sent.append(path)
            else:
                result.failed.append((path, f"{node} refused it (status 0x{code:04X})"))
            if progress is not None:
                progress(done, len(headers))
    finally:
        if assoc.is_established:
            assoc.release()
    log.info("sent %d of %d files to %s", len(result.sent), len(paths), node)
    return result


def _check_reachable(node: PacsNode, timeout: float) -> None:
    """Raise PacsError with the operating system's reason (refused, no route, unknown host)
    when ``node`` cannot be connected to: pynetdicom only says the association was aborted."""
    try:
        with socket.create_connection((node.host, node.port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise PacsError(f"unknown host {node.host!r} ({exc.strerror or exc})") from None
    except TimeoutError:
        raise PacsError(f"cannot reach {node.host}:{node.port} (no answer within {timeout:g} s)") from None
    except OSError as exc:
        raise PacsError(f"cannot reach {node.host}:{node.port} ({exc.strerror or exc})") from None
