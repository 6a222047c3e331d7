"""De-identify a DICOM data set: the PS3.15 Basic Application Level Confidentiality Profile.

The attribute table (PS3.15 Annex E, Table E.1-1, release 2026c) comes from the
``dicom-anonymizer`` package; the actions are applied here because the output IODs are known
(CR, DX, Secondary Capture written by :mod:`.export`), which resolves the table's "X unless Z/D
is required" choices the same way every time:

- X remove; Z empty; D a dummy of the right VR; U a new UID from :class:`Deidentifier`'s map,
  so the same source UID always gets the same new one (images of one study stay one study,
  references between them stay valid); every other tag is kept (K).
- X/Z, X/D, X/Z/D: removed unless the attribute is Type 2 in an IOD we write
  (:data:`_TYPE2_KEEP_EMPTY`), then emptied. Z/D: emptied. X/Z/U* (Source/Referenced Image
  Sequence): kept, with the UIDs inside mapped.
- The rules apply at every nesting level; private tags and overlays/curves are removed.
- PatientIdentityRemoved YES, DeidentificationMethod and its code sequence (113100) are set.

Not done (not part of the Basic Profile's attribute actions): pixel data is not scanned for
burned-in text; the caller decides whether to export images with BurnedInAnnotation YES.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import generate_uid

#: The release of PS3.15 Table E.1-1 the table comes from.
TABLE_RELEASE = "dicomfields_2026c"
METHOD = "PS3.15 Basic Application Confidentiality Profile"  # LO: <= 64 chars
# Attributes the table lets us remove or empty ("X/Z") that are Type 2 in an IOD we write
# (DX: Acquisition Context module): removing them would make the object non-conformant.
_TYPE2_KEEP_EMPTY = frozenset({0x00400555})  # AcquisitionContextSequence
_DUMMY_TEXT = {"AE": "ANONYMOUS", "CS": "ANONYMIZED", "LO": "ANONYMIZED", "LT": "ANONYMIZED",
               "PN": "ANONYMIZED", "SH": "ANONYMIZED", "ST": "ANONYMIZED", "UC": "ANONYMIZED",
               "UT": "ANONYMIZED", "DA": "19000101", "TM": "000000", "DT": "19000101000000",
               "AS": "000Y", "DS": "0", "IS": "0", "UR": "http://anonymized.invalid"}


def _load_table() -> tuple[dict[int, str], list[tuple[int, int, int, int, str]]]:
    """Exact tags -> action, and (group, element, group mask, element mask, action) ranges."""
    categories = dicom_anonymization_database_selector(TABLE_RELEASE)
    names = {"X_TAGS": "X", "Z_TAGS": "Z", "D_TAGS": "D", "U_TAGS": "U", "Z_D_TAGS": "Z",
             "X_Z_TAGS": "XZ", "X_D_TAGS": "X", "X_Z_D_TAGS": "XZ", "X_Z_U_STAR_TAGS": "U*"}
    exact: dict[int, str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for category, action in names.items():
        for entry in categories[category]:
            if len(entry) == 2:
                exact[(entry[0] << 16) | entry[1]] = action
            else:
                masked.append((*entry, action))
    return exact, masked


_EXACT, _MASKED = _load_table()


def _action_for(tag: BaseTag) -> str | None:
    action = _EXACT.get(int(tag))
    if action is not None:
        return action
    for group, elem, group_mask, elem_mask, masked_action in _MASKED:
        if tag.group & group_mask == group & group_mask and tag.element & elem_mask == elem & elem_mask:
            return masked_action
    return None


@dataclass
class Deidentifier:
    """Applies the Basic Profile; one instance per export session keeps its UID map, so every
    image exported through it maps a given source UID to the same new UID."""

    uid_map: dict[str, str] = field(default_factory=dict)

    def new_uid(self, old: str) -> str:
        """The replacement of ``old``: random (not derived from it), the same every call."""
        if old not in self.uid_map:
            self.uid_map[old] = generate_uid(prefix=None)  # 2.25.<random UUID>
        return self.uid_map[old]

    def apply(self, ds: Dataset) -> Dataset:
        """De-identify ``ds`` in place (and return it)."""
        ds.remove_private_tags()
        ds.walk(self._visit)
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = "113100", "DCM"
        code.CodeMeaning = "Basic Application Confidentiality Profile"
        ds.DeidentificationMethodCodeSequence = [code]
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        return ds

    def _visit(self, ds: Dataset, elem: DataElement) -> None:
        action = _action_for(elem.tag)
        if action is None:
            return
        if action == "X" or (action == "XZ" and int(elem.tag) not in _TYPE2_KEEP_EMPTY):
            del ds[elem.tag]
        elif action in ("Z", "XZ"):
            elem.value = Sequence() if elem.VR == "SQ" else None
        elif action == "D":
            if elem.VR in _DUMMY_TEXT:
                elem.value = _DUMMY_TEXT[elem.VR]
            elif elem.VR in ("US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"):
                elem.value = 0
            elif elem.VR == "UI":
                self._map_uids(elem)
            else:  # sequences and binary: no IOD we write requires one, so remove
                del ds[elem.tag]
        elif action == "U" and elem.VR == "UI":
            self._map_uids(elem)
        # "U*" on a sequence: kept; walk() descends into it and maps the UIDs inside.

    def _map_uids(self, elem: DataElement) -> None:
        if elem.VM > 1:
            elem.value = [self.new_uid(str(v)) for v in elem.value]
        elif elem.value:
            elem.value = self.new_uid(str(elem.value))
