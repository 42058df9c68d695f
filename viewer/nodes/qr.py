"""C-FIND over the archive: match a query identifier, build the response identifiers.

Plain functions of a pydicom Dataset and the ORM, so they are tested without a network.
"""

import datetime
from collections.abc import Iterator

from django.db.models import Q, QuerySet
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from viewer.archive.models import Instance, Patient, Series, Study
from viewer.archive.search import name_filter, wildcard_filter

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")


class QueryError(ValueError):
    """An identifier we cannot answer; the message goes back as the error comment."""


def _text(identifier: Dataset, keyword: str) -> str:
    value = identifier.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(part) for part in value).strip()
    return str(value).strip()


def _uid_list(identifier: Dataset, keyword: str) -> list[str]:
    return [uid for uid in _text(identifier, keyword).split("\\") if uid]


def _date_range(text: str) -> tuple[datetime.date | None, datetime.date | None]:
    """A DICOM date or range (``20260101``, ``20260101-``, ``-20261231``, ``A-B``)."""

    def parse(part: str) -> datetime.date | None:
        part = part.strip().replace(".", "")
        if not part:
            return None
        try:
            return datetime.datetime.strptime(part[:8], "%Y%m%d").date()
        except ValueError as exc:
            raise QueryError(f"invalid date {part!r}") from exc

    if "-" in text:
        start, end = text.split("-", 1)
        return parse(start), parse(end)
    day = parse(text)
    return day, day


def _patient_q(identifier: Dataset, prefix: str) -> Q:
    query = Q()
    name = _text(identifier, "PatientName")
    if name and name != "*":
        query &= name_filter(name, f"{prefix}name_search")
    patient_id = _text(identifier, "PatientID")
    if patient_id and patient_id != "*":
        query &= wildcard_filter(f"{prefix}patient_id", patient_id)
    return query


def _study_q(identifier: Dataset, prefix: str) -> Q:
    query = _patient_q(identifier, f"{prefix}patient__")
    if uids := _uid_list(identifier, "StudyInstanceUID"):
        query &= Q(**{f"{prefix}study_uid__in": uids})
    if accession := _text(identifier, "AccessionNumber"):
        if accession != "*":
            query &= wildcard_filter(f"{prefix}accession_number", accession)
    if date := _text(identifier, "StudyDate"):
        start, end = _date_range(date)
        if start:
            query &= Q(**{f"{prefix}study_date__gte": start})
        if end:
            query &= Q(**{f"{prefix}study_date__lte": end})
    if modalities := [m for m in _text(identifier, "ModalitiesInStudy").split("\\") if m]:
        query &= Q(**{f"{prefix}series__modality__in": modalities})
    return query


def _series_q(identifier: Dataset, prefix: str) -> Q:
    query = _study_q(identifier, f"{prefix}study__")
    if uids := _uid_list(identifier, "SeriesInstanceUID"):
        query &= Q(**{f"{prefix}series_uid__in": uids})
    if modality := _text(identifier, "Modality"):
        if modality != "*":
            query &= Q(**{f"{prefix}modality__iexact": modality})
    return query


def matches(identifier: Dataset) -> QuerySet:
    """The archive rows an identifier matches, at its Query/Retrieve Level."""
    level = _text(identifier, "QueryRetrieveLevel").upper()
    if level not in LEVELS:
        raise QueryError(f"unknown Query/Retrieve Level {level!r}")
    if level == "PATIENT":
        return Patient.objects.filter(_patient_q(identifier, "")).order_by("id")
    if level == "STUDY":
        return (
            Study.objects.filter(_study_q(identifier, ""))
            .distinct()
            .select_related("patient")
            .order_by("id")
        )
    if level == "SERIES":
        return (
            Series.objects.filter(_series_q(identifier, ""))
            .distinct()
            .select_related("study__patient")
            .order_by("id")
        )
    query = _series_q(identifier, "series__")
    if uids := _uid_list(identifier, "SOPInstanceUID"):
        query &= Q(sop_instance_uid__in=uids)
    return Instance.objects.filter(query).select_related("series__study__patient").order_by("id")


def _values(row) -> dict[str, object]:
    """What we know of a matched row, by DICOM keyword, walking up to its patient."""
    values: dict[str, object] = {}
    if isinstance(row, Instance):
        values.update(
            SOPInstanceUID=row.sop_instance_uid,
            SOPClassUID=row.sop_class_uid,
            InstanceNumber=row.instance_number,
            Rows=row.rows,
            Columns=row.columns,
            NumberOfFrames=row.number_of_frames,
        )
        row = row.series
    if isinstance(row, Series):
        values.update(
            SeriesInstanceUID=row.series_uid,
            Modality=row.modality,
            SeriesNumber=row.series_number,
            SeriesDescription=row.description,
            BodyPartExamined=row.body_part,
            NumberOfSeriesRelatedInstances=row.num_instances,
        )
        row = row.study
    if isinstance(row, Study):
        values.update(
            StudyInstanceUID=row.study_uid,
            StudyDate=row.study_date.strftime("%Y%m%d") if row.study_date else "",
            StudyTime=row.study_time,
            AccessionNumber=row.accession_number,
            StudyID=row.study_id,
            StudyDescription=row.description,
            ReferringPhysicianName=row.referring_physician,
            ModalitiesInStudy=row.modalities.split("\\") if row.modalities else "",
            NumberOfStudyRelatedSeries=row.num_series,
            NumberOfStudyRelatedInstances=row.num_instances,
        )
        row = row.patient
    values.update(
        PatientName=row.patient_name,
        PatientID=row.patient_id,
        IssuerOfPatientID=row.issuer_of_patient_id,
        PatientBirthDate=row.birth_date.strftime("%Y%m%d") if row.birth_date else "",
        PatientSex=row.sex,
    )
    return values


def responses(identifier: Dataset) -> Iterator[Dataset]:
    """One response identifier per match, with exactly the keys that were asked for."""
    keys = [element.keyword for element in identifier if element.keyword]
    for row in matches(identifier).iterator():
        known = _values(row)
        response = Dataset()
        response.SpecificCharacterSet = "ISO_IR 192"  # we store Unicode
        for keyword in keys:
            if keyword == "SpecificCharacterSet":
                continue
            value = known.get(
                keyword, identifier.get(keyword) if keyword == "QueryRetrieveLevel" else ""
            )
            setattr(response, keyword, "" if value is None else value)
        yield response


def instances_for(identifier: Dataset) -> QuerySet:
    """Every stored instance below the matched patients, studies, series or instances."""
    level = _text(identifier, "QueryRetrieveLevel").upper()
    rows = matches(identifier)
    if level == "PATIENT":
        query = Q(series__study__patient__in=rows)
    elif level == "STUDY":
        query = Q(series__study__in=rows)
    elif level == "SERIES":
        query = Q(series__in=rows)
    else:
        return rows
    return Instance.objects.filter(query).order_by("id")
