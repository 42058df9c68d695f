"""Study search: DICOM-style wildcard name matching and the study list's filters."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from .lookups import dicom_to_like
from .models import Series, Study

SORT_FIELDS = {
    "patient_name": "patient__name_search",
    "patient_id": "patient__patient_id",
    "study_date": "study_date",
    "accession_number": "accession_number",
    "description": "description",
    "modalities": "modalities",
    "num_series": "num_series",
    "num_instances": "num_instances",
}


def normalize_name(name: str) -> str:
    """Case-folded name, components joined by single spaces, groups by ``=``."""
    groups = [" ".join(group.replace("^", " ").split()) for group in name.split("=")]
    return "=".join(groups).rstrip("=").casefold()


@dataclass(frozen=True)
class StudyQuery:
    """What a person searches the study list by; empty fields do not filter."""

    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    modality: str = ""
    sort: str = "-study_date"


def name_filter(term: str, field: str = "patient__name_search") -> Q:
    """Match a patient name: ``*``/``?`` wildcards match a whole name group, else contains.

    "王" finds "Wang^XiaoDong=王^小东"; "wang*" and "王*" both find it too, since each
    of the alphabetic, ideographic and phonetic groups may match on its own.
    """
    needle = normalize_name(term)
    if not needle:
        return Q()
    if "*" not in needle and "?" not in needle:
        return Q(**{f"{field}__contains": needle})
    pattern = dicom_to_like(needle)
    like = f"{field}__like"
    return (
        Q(**{like: pattern})
        | Q(**{like: f"{pattern}=%"})
        | Q(**{like: f"%={pattern}"})
        | Q(**{like: f"%={pattern}=%"})
    )


def wildcard_filter(field: str, term: str) -> Q:
    """Case-insensitive exact match, or a DICOM wildcard match when the term has ``*``/``?``."""
    term = term.strip()
    if not term:
        return Q()
    return Q(**{f"{field}__upper__like": dicom_to_like(term.upper())})


def search_studies(query: StudyQuery) -> QuerySet[Study]:
    """The studies matching ``query``, sorted as asked, with their patients joined."""
    studies = Study.objects.select_related("patient").filter(
        name_filter(query.patient_name),
        wildcard_filter("patient__patient_id", query.patient_id),
        wildcard_filter("accession_number", query.accession_number),
    )
    if query.date_from:
        studies = studies.filter(study_date__gte=query.date_from)
    if query.date_to:
        studies = studies.filter(study_date__lte=query.date_to)
    if query.modality.strip():
        studies = studies.filter(
            Exists(
                Series.objects.filter(study=OuterRef("pk"), modality__iexact=query.modality.strip())
            )
        )
    descending = query.sort.startswith("-")
    field = SORT_FIELDS.get(query.sort.lstrip("-"), "study_date")
    order = f"-{field}" if descending else field
    return studies.order_by(order, "-id" if descending else "id")
