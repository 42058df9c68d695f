"""C-FIND over the archive: match a query identifier, build the response identifiers.

Plain functions of a pydicom Dataset and the ORM, so they are tested without a network.
"""

import datetime
from collections.abc import Iterator

from django.db.models import Prefetch, Q, QuerySet
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from viewer.archive.models import Instance, Patient, Series, Study
from viewer.archive.search import name_filter, patient_name_filter, wildcard_filter

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


def named_study(identifier: Dataset) -> str:
    """The Study Instance UID an identifier names, if it names exactly one (for the audit)."""
    uids = _uid_list(identifier, "StudyInstanceUID")
    return uids[0] if len(uids) == 1 and "*" not in uids[0] and "?" not in uids[0] else ""


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
        # Patients first below the patient level, as the study list: see patient_name_filter.
        query &= (
            patient_name_filter(name, prefix.removesuffix("__"))
            if prefix
            else name_filter(name, "name_search")
        )
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


# Everything in the archive is on its disk (Instance Availability, PS3.4 C.4.1.1.3.2).
ONLINE = "ONLINE"


def _instance_values(row: Instance) -> dict[str, object]:
    return {
        "SOPInstanceUID": row.sop_instance_uid,
        "SOPClassUID": row.sop_class_uid,
        "InstanceNumber": row.instance_number,
        "Rows": row.rows,
        "Columns": row.columns,
        "NumberOfFrames": row.number_of_frames,
        "InstanceAvailability": ONLINE,
    }


# What _instance_values reads of an Instance, and the link to its series.
_INSTANCE_COLUMNS = (
    "sop_instance_uid",
    "sop_class_uid",
    "instance_number",
    "rows",
    "columns",
    "number_of_frames",
    "series",
)


def _series_values(row: Series) -> dict[str, object]:
    return {
        "SeriesInstanceUID": row.series_uid,
        "Modality": row.modality,
        "SeriesNumber": row.series_number,
        "SeriesDescription": row.description,
        "BodyPartExamined": row.body_part,
        "NumberOfSeriesRelatedInstances": row.num_instances,
        "InstanceAvailability": ONLINE,
    }


def _study_values(row: Study) -> dict[str, object]:
    return {
        "StudyInstanceUID": row.study_uid,
        "StudyDate": row.study_date.strftime("%Y%m%d") if row.study_date else "",
        "StudyTime": row.study_time,
        "AccessionNumber": row.accession_number,
        "StudyID": row.study_id,
        "StudyDescription": row.description,
        "ReferringPhysicianName": row.referring_physician,
        "ModalitiesInStudy": row.modalities.split("\\") if row.modalities else "",
        "NumberOfStudyRelatedSeries": row.num_series,
        "NumberOfStudyRelatedInstances": row.num_instances,
        "InstanceAvailability": ONLINE,
    }


def _patient_values(row: Patient) -> dict[str, object]:
    return {
        "PatientName": row.patient_name,
        "PatientID": row.patient_id,
        "IssuerOfPatientID": row.issuer_of_patient_id,
        "PatientBirthDate": row.birth_date.strftime("%Y%m%d") if row.birth_date else "",
        "PatientSex": row.sex,
    }


# What we know of a row at each level, and the field that leads to the level above.
_LEVEL_VALUES = {
    Instance: (_instance_values, "series"),
    Series: (_series_values, "study"),
    Study: (_study_values, "patient"),
    Patient: (_patient_values, ""),
}
_LEVEL_MODELS = {"PATIENT": Patient, "STUDY": Study, "SERIES": Series, "IMAGE": Instance}


def answered_keywords(level: str) -> list[str]:
    """The attributes the archive has values for at ``level`` and every level above it."""
    model = _LEVEL_MODELS[level]
    keywords: list[str] = []
    while model is not None:
        values, parent = _LEVEL_VALUES[model]
        keywords += values(model()).keys()
        model = model._meta.get_field(parent).related_model if parent else None
    return list(dict.fromkeys(keywords))


# Rows are read from the database this many at a time: the first match goes out after
# one chunk is read, not after the whole result.
CHUNK_SIZE = 100


class _Responses:
    """Response identifiers for one query, each data element made once.

    Tags and VRs are looked up once per query, and the elements of a series, study or
    patient once for a run of rows that share it (an image query's matches do).
    """

    def __init__(self, identifier: Dataset) -> None:
        self._tags = {
            element.keyword: element.tag
            for element in identifier
            if element.keyword and element.keyword != "SpecificCharacterSet"
        }
        self._level = identifier.get("QueryRetrieveLevel", "")
        self._last: dict[type, tuple[int, list[DataElement]]] = {}
        self._fixed: list[DataElement] | None = None

    def build(self, row) -> Dataset:
        """The response identifier for one matched row, with exactly the keys asked for."""
        response = Dataset()
        while row is not None:
            values, parent = _LEVEL_VALUES[type(row)]
            for element in self._elements(row, values):
                response[element.tag] = element
            row = getattr(row, parent) if parent else None
        if self._fixed is None:
            # Keys no level of these rows answers: the same for every row of the query.
            self._fixed = [DataElement(0x00080005, "CS", "ISO_IR 192")]  # we store Unicode
            for keyword, tag in self._tags.items():
                if tag not in response:
                    value = self._level if keyword == "QueryRetrieveLevel" else ""
                    self._fixed.append(self._element(keyword, value))
        for element in self._fixed:
            response[element.tag] = element
        return response

    def _elements(self, row, values) -> list[DataElement]:
        last = self._last.get(type(row))
        if last is None or last[0] != row.pk:
            elements = [
                self._element(keyword, value)
                for keyword, value in values(row).items()
                if keyword in self._tags
            ]
            last = self._last[type(row)] = (row.pk, elements)
        return last[1]

    def _element(self, keyword: str, value: object) -> DataElement:
        tag = self._tags[keyword]
        return DataElement(tag, dictionary_VR(tag), "" if value is None else value)


def responses(identifier: Dataset, offset: int = 0, limit: int | None = None) -> Iterator[Dataset]:
    """One response identifier per match, yielded as the matches are read; ``offset`` and
    ``limit`` page through the matches in SQL (QIDO-RS)."""
    rows = matches(identifier)
    if rows.model is Instance:
        # An image query's matches share a few series: each series, study and patient
        # is read and made once a chunk, not joined onto every image's row.
        # Only the columns an image's response needs: not its geometry, a JSON document
        # decoded for every row.
        parents = Prefetch("series", queryset=Series.objects.select_related("study__patient"))
        rows = rows.select_related(None).prefetch_related(parents).only(*_INSTANCE_COLUMNS)
    if offset or limit is not None:
        rows = rows[offset : None if limit is None else offset + limit]
    builder = _Responses(identifier)
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield builder.build(row)


# The unique key a C-GET or C-MOVE names at each level (PS3.4 C.4.2.2.1, C.4.3.2.1).
UNIQUE_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}


def instances_for(identifier: Dataset) -> QuerySet:
    """Every stored instance below the matched patients, studies, series or instances.

    A retrieve names its level's unique key (a value or a list of them, no wildcards):
    raises ``QueryError`` otherwise, rather than retrieve all of the level's rows.
    """
    level = _text(identifier, "QueryRetrieveLevel").upper()
    if not level:
        raise QueryError("no Query/Retrieve Level")
    if level not in LEVELS:
        raise QueryError(f"unknown Query/Retrieve Level {level!r}")
    key = UNIQUE_KEYS[level]
    values = _uid_list(identifier, key)
    if not values or any("*" in value or "?" in value for value in values):
        raise QueryError(f"{level} level retrieve needs {key} without wildcards")
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
