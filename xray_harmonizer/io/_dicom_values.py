"""Reading header values of a possibly damaged DICOM file without trusting them.

pydicom parses element values lazily, on first access, so a damaged element raises (any
type: ValueError, TypeError, struct.error, NotImplementedError for an unknown VR...) wherever it
is first touched. Every access the reader makes goes through these helpers, which turn such a
failure into :class:`CorruptImageError` naming the element, never its value: a corrupted length
makes the following elements (patient name, ID, birth date) part of a "value", so values from a
damaged header must never reach a message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from xray_harmonizer.io.errors import CorruptImageError, printable

#: A Code String (VR CS): upper-case letters, digits, space and underscore, at most 16 characters.
_CODE_STRING = re.compile(r"[A-Z0-9 _]{0,16}")
#: A UID: digits and dots, at most 64 characters.
_UID = re.compile(r"[0-9.]{1,64}")
#: Exceptions the interpreter itself needs; everything else a reader raises is the file's fault.
PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def element_name(keyword: str) -> str:
    """``Rows (0028,0010)``: how messages name an element."""
    tag = tag_for_keyword(keyword)
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else keyword


def safe_reason(exc: BaseException) -> str:
    """An exception's text for a message, with quoted values (which may be header bytes) cut out."""
    text = " ".join(str(exc).split())
    # b'...' / '...' / "..." spans may carry raw header bytes (a patient's name after a damaged
    # length); keep short quoted words such as element names, drop long quoted spans.
    text = re.sub(r"""b?(['"])(?:(?!\1).){25,}?\1""", "'...'", text)
    return printable(text or type(exc).__name__, 200)


@contextmanager
def damaged(path: Path, what: str) -> Iterator[None]:
    """Turn any failure inside the block into CorruptImageError("<what> is damaged or malformed").

    Catches BaseException subclasses too (native decoders raise pyo3 PanicException), except
    interrupts, exits and MemoryError (which :func:`open_image` reports as a size problem).
    """
    try:
        yield
    except CorruptImageError:
        raise
    except PASS_THROUGH:
        raise
    except BaseException as exc:
        raise CorruptImageError(path, f"{what} is damaged or malformed ({type(exc).__name__})") from exc


def get(ds: Dataset, keyword: str, path: Path) -> Any:
    """The element's value (None if absent), parsed now; CorruptImageError if it cannot be."""
    with damaged(path, f"DICOM element {element_name(keyword)}"):
        return ds.get(keyword)


def get_optional(ds: Dataset, keyword: str) -> Any:
    """The element's value, or None when absent or unparsable (for facts we can do without)."""
    try:
        return ds.get(keyword)
    except PASS_THROUGH:
        raise
    except BaseException:
        return None


def integer(ds: Dataset, keyword: str, path: Path, default: int | None = None,
            lo: int = 0, hi: int = 2**31) -> int | None:
    """A single integer element within [lo, hi]; ``default`` if absent; else CorruptImageError."""
    value = get(ds, keyword, path)
    if value is None or value == "":
        return default
    if isinstance(value, (MultiValue, list, tuple, bytes, bytearray)):
        raise CorruptImageError(path, f"{element_name(keyword)} is not a single number")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise CorruptImageError(path, f"{element_name(keyword)} is not a number") from None
    if not lo <= number <= hi:
        raise CorruptImageError(path, f"{element_name(keyword)} is {number}, outside {lo}..{hi}")
    return number


def finite_float(ds: Dataset, keyword: str, path: Path, default: float) -> float:
    """A single finite number (DS/FD/IS); ``default`` if absent; else CorruptImageError."""
    value = get(ds, keyword, path)
    if value is None or value == "":
        return default
    if isinstance(value, (MultiValue, list, tuple)):
        if len(value) != 1:
            raise CorruptImageError(path, f"{element_name(keyword)} is not a single number")
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CorruptImageError(path, f"{element_name(keyword)} is not a number") from None
    if not math.isfinite(number):
        raise CorruptImageError(path, f"{element_name(keyword)} is not a finite number")
    return number


def code_string(ds: Dataset, keyword: str, path: Path) -> str:
    """A Code String value, upper-cased and stripped; '' if absent; CorruptImageError if malformed.

    A value that is not a short code is what a damaged length produces; it is refused without
    being quoted.
    """
    value = get(ds, keyword, path)
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        value = value[0] if len(value) else ""
    text = str(value).strip().upper()
    if not _CODE_STRING.fullmatch(text):
        raise CorruptImageError(path, f"{element_name(keyword)} is malformed (not a short code)")
    return text


def optional_code_string(ds: Dataset | None, keyword: str) -> str | None:
    """A well-formed Code String value, else None (absent, unparsable or malformed)."""
    if ds is None:
        return None
    value = get_optional(ds, keyword)
    text = str(value or "").strip().upper()
    return text if text and _CODE_STRING.fullmatch(text) else None


def optional_uid(ds: Dataset, keyword: str) -> str | None:
    """A well-formed UID value, else None."""
    value = get_optional(ds, keyword)
    text = str(value or "").strip()
    return text if _UID.fullmatch(text) else None
