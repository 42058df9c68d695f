"""Query remote nodes with C-FIND (Study Root) and turn the answers into rows to show."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from pydicom.dataset import Dataset
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from viewer.archive.parsing import text_value
from viewer.archive.search import StudyQuery, is_ideographic, name_matches

from . import dicomweb
from .models import RemoteNode
from .outcomes import status_words
from .scu import open_association

MAX_MATCHES = 500


class RemoteQueryError(Exception):
    """The node could not be queried; the message says why, in words."""


@dataclass(frozen=True)
class RemoteStudy:
    """A study as a remote node describes it."""

    study_uid: str
    patient_name: str
    patient_id: str
    study_date: datetime.date | None
    accession_number: str
    description: str
    modalities: str
    num_series: int | None
    num_instances: int | None
    birth_date: datetime.date | None = None
    sex: str = ""
    # The namespace of patient_id; "" when the node does not say (unknown, not "none").
    issuer_of_patient_id: str = ""


# What the remote study page shows to confirm the patient before Retrieve.
STUDY_BANNER_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)


@dataclass(frozen=True)
class RemoteSeries:
    """A series of a remote study."""

    series_uid: str
    series_number: int | None
    modality: str
    description: str
    num_instances: int | None


def _dicom_date_range(query: StudyQuery) -> str:
    if not query.date_from and not query.date_to:
        return ""
    start = query.date_from.strftime("%Y%m%d") if query.date_from else ""
    end = query.date_to.strftime("%Y%m%d") if query.date_to else ""
    return f"{start}-{end}" if start != end else start


def remote_name_term(term: str) -> str:
    """The PatientName a peer is asked for: what it can match of the list's search.

    Peers match names exactly unless told otherwise, so the list's "contains" becomes a
    trailing wildcard, the closest a C-FIND can say. Ideographic names need more: the
    peer matches the whole value ("Zhang^Wei=张^伟") with its separators, so "张伟" is
    asked as ``*张*伟*`` and the answers are narrowed with ``name_matches``.
    """
    name = term.strip()
    if is_ideographic(name):
        kept = [c for c in name if c not in "^=*?" and not c.isspace()]
        return "*" + "*".join(kept) + "*"
    return name if not name or "*" in name or "?" in name else f"{name}*"


def study_identifier(query: StudyQuery) -> Dataset:
    """A study-level C-FIND identifier for the study list's search."""
    identifier = Dataset()
    values = [query.patient_name, query.patient_id, query.accession_number, query.modality]
    if any(not value.isascii() for value in values):
        identifier.SpecificCharacterSet = "ISO_IR 192"
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.PatientName = remote_name_term(query.patient_name)
    identifier.PatientID = query.patient_id.strip()
    identifier.AccessionNumber = query.accession_number.strip()
    identifier.StudyDate = _dicom_date_range(query)
    identifier.ModalitiesInStudy = query.modality.strip().upper()
    for keyword in (
        "IssuerOfPatientID",
        "StudyInstanceUID",
        "StudyDescription",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ):
        setattr(identifier, keyword, "")
    return identifier


def _number(dataset: Dataset, keyword: str) -> int | None:
    try:
        return int(text_value(dataset, keyword) or "")
    except ValueError:
        return None


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _find(node: RemoteNode, identifier: Dataset) -> list[Dataset]:
    """Run one C-FIND and return its matches, or raise ``RemoteQueryError`` in words."""
    assoc, failure = open_association(node, [StudyRootQueryRetrieveInformationModelFind])
    if failure is not None:
        raise RemoteQueryError(failure.message)
    found: list[Dataset] = []
    try:
        for status, match in assoc.send_c_find(
            identifier, StudyRootQueryRetrieveInformationModelFind
        ):
            if "Status" not in status:
                raise RemoteQueryError("no C-FIND response within the DIMSE timeout")
            if status.Status in (0xFF00, 0xFF01) and match is not None:
                found.append(match)
                if len(found) >= MAX_MATCHES:
                    assoc.send_c_cancel(1, query_model=StudyRootQueryRetrieveInformationModelFind)
                    break
            elif status.Status not in (0x0000, 0xFE00):
                raise RemoteQueryError(status_words("C-FIND", status.Status))
    finally:
        if assoc.is_established:
            assoc.release()
    return found


@contextmanager
def query_session(node: RemoteNode) -> Iterator[httpx.Client | None]:
    """One HTTP client for several queries to a DICOMweb node, its connections kept alive
    (safe to share between threads); None for a DIMSE node, where each query associates."""
    if node.protocol != RemoteNode.DICOMWEB:
        yield None
        return
    with dicomweb.client(node) as session:
        yield session


def _matches(
    node: RemoteNode,
    identifier: Dataset,
    path: str,
    params: dict,
    session: httpx.Client | None = None,
) -> list[Dataset]:
    if node.protocol == RemoteNode.DICOMWEB:
        try:
            # A C-FIND answers what the identifier asks; QIDO-RS may add any attribute.
            return dicomweb.qido(node, path, params, session, keep=identifier.dir())
        except dicomweb.DicomwebError as exc:
            raise RemoteQueryError(str(exc)) from exc
    return _find(node, identifier)


def find_studies(node: RemoteNode, query: StudyQuery) -> list[RemoteStudy]:
    """The node's studies matching the study list's search (C-FIND or QIDO-RS)."""
    identifier = study_identifier(query)
    params = dicomweb.study_params(identifier)
    # QIDO-RS leaves the issuer out unless asked (return key only: never matched on).
    params["includefield"] = [*params["includefield"], "IssuerOfPatientID"]
    found = _matches(node, identifier, "studies", params)
    studies = [_remote_study(match) for match in found if text_value(match, "StudyInstanceUID")]
    if is_ideographic(query.patient_name):
        # We asked for more than was meant (see remote_name_term); an answer without a
        # name is the peer's word that it matched.
        studies = [
            s
            for s in studies
            if not s.patient_name or name_matches(query.patient_name, s.patient_name)
        ]
    return studies


def _remote_study(match: Dataset) -> RemoteStudy:
    return RemoteStudy(
        study_uid=text_value(match, "StudyInstanceUID"),
        patient_name=text_value(match, "PatientName"),
        patient_id=text_value(match, "PatientID"),
        study_date=_date(text_value(match, "StudyDate")),
        accession_number=text_value(match, "AccessionNumber"),
        description=text_value(match, "StudyDescription"),
        modalities=text_value(match, "ModalitiesInStudy"),
        num_series=_number(match, "NumberOfStudyRelatedSeries"),
        num_instances=_number(match, "NumberOfStudyRelatedInstances"),
        birth_date=_date(text_value(match, "PatientBirthDate")),
        sex=text_value(match, "PatientSex"),
        issuer_of_patient_id=text_value(match, "IssuerOfPatientID"),
    )


def find_study(
    node: RemoteNode, study_uid: str, *, session: httpx.Client | None = None
) -> RemoteStudy | None:
    """One remote study's patient and study attributes, for the banner; None if unknown."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    for keyword in STUDY_BANNER_KEYWORDS:
        setattr(identifier, keyword, "")
    params = {"StudyInstanceUID": study_uid, "includefield": list(STUDY_BANNER_KEYWORDS)}
    found = _matches(node, identifier, "studies", params, session)
    # A peer that ignores the UID key answers with other studies too.
    return next(
        (_remote_study(m) for m in found if text_value(m, "StudyInstanceUID") == study_uid), None
    )


def find_series(
    node: RemoteNode, study_uid: str, *, session: httpx.Client | None = None
) -> list[RemoteSeries]:
    """The series of one remote study, on demand (``session``: see ``query_session``)."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"
    identifier.StudyInstanceUID = study_uid
    for keyword in (
        "SeriesInstanceUID",
        "SeriesNumber",
        "Modality",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
    ):
        setattr(identifier, keyword, "")
    series = [
        RemoteSeries(
            series_uid=text_value(match, "SeriesInstanceUID"),
            series_number=_number(match, "SeriesNumber"),
            modality=text_value(match, "Modality"),
            description=text_value(match, "SeriesDescription"),
            num_instances=_number(match, "NumberOfSeriesRelatedInstances"),
        )
        for match in _matches(
            node,
            identifier,
            f"studies/{study_uid}/series",
            {"includefield": dicomweb.SERIES_FIELDS},
            session,
        )
    ]
    return sorted(series, key=lambda s: (s.series_number is None, s.series_number or 0))


@dataclass(frozen=True)
class RemoteInstance:
    """An instance of a remote series."""

    sop_instance_uid: str
    instance_number: int | None


def find_instances(
    node: RemoteNode, study_uid: str, series_uid: str, *, session: httpx.Client | None = None
) -> list[RemoteInstance]:
    """The instances of one remote series, on demand (IMAGE level)."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    identifier.StudyInstanceUID = study_uid
    identifier.SeriesInstanceUID = series_uid
    identifier.SOPInstanceUID = ""
    identifier.InstanceNumber = ""
    path = f"studies/{study_uid}/series/{series_uid}/instances"
    instances = [
        RemoteInstance(text_value(match, "SOPInstanceUID"), _number(match, "InstanceNumber"))
        for match in _matches(node, identifier, path, {"includefield": ["InstanceNumber"]}, session)
    ]
    return sorted(instances, key=lambda i: (i.instance_number is None, i.instance_number or 0))
