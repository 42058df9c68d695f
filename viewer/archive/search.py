"""Study search: DICOM-style wildcard name matching and the study list's filters."""

import datetime
import re
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.db.models.lookups import Contains

from .lookups import Like, dicom_to_like
from .models import Patient, Series, Study

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


# Han, kana, bopomofo and Hangul: names in these scripts are written without spaces,
# so "张伟" must find "张^伟" (issue 13).
_IDEOGRAPHIC = re.compile(
    "[\u2e80-\u2fdf\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)


def normalize_name(name: str) -> str:
    """Case-folded name, components joined by single spaces, groups by ``=``."""
    groups = [" ".join(group.replace("^", " ").split()) for group in name.split("=")]
    return "=".join(groups).rstrip("=").casefold()


def is_ideographic(term: str) -> bool:
    """Does ``term`` hold a Han, kana, bopomofo or Hangul character?"""
    return _IDEOGRAPHIC.search(term) is not None


def _compact(normalized: str) -> str:
    # Groups stay apart: "张伟" must not match across "zhang wei=张 伟"'s "=".
    return normalized.replace(" ", "")


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
    of the alphabetic, ideographic and phonetic groups may match on its own. A term in
    an ideographic script also matches with the component separators ignored on both
    sides: "张伟" finds "张^伟". ``name_matches`` is the same test in Python.
    """
    needle = normalize_name(term)
    if not needle:
        return Q()
    query = _match_q(F(field), needle)
    if is_ideographic(needle):
        query |= _match_q(Replace(F(field), Value(" "), Value("")), _compact(needle))
    return query


def _match_q(lhs, needle: str) -> Q:
    """``needle`` contained in ``lhs``, or as a wildcard pattern matching whole groups."""
    if "*" not in needle and "?" not in needle:
        return Q(Contains(lhs, needle))
    pattern = dicom_to_like(needle)
    return (
        Q(Like(lhs, pattern))
        | Q(Like(lhs, f"{pattern}=%"))
        | Q(Like(lhs, f"%={pattern}"))
        | Q(Like(lhs, f"%={pattern}=%"))
    )


def name_matches(term: str, name: str) -> bool:
    """Does the patient name ``name`` match the search ``term``, as ``name_filter`` says?

    For answers from a remote node, whose own matching is cruder than ours.
    """
    needle = normalize_name(term)
    if not needle:
        return True
    normalized = normalize_name(name)
    if _matches(needle, normalized):
        return True
    return is_ideographic(needle) and _matches(_compact(needle), _compact(normalized))


def _matches(needle: str, normalized: str) -> bool:
    if "*" not in needle and "?" not in needle:
        return needle in normalized
    # The LIKE forms above: the pattern matches a run of whole groups.
    groups = normalized.split("=")
    return any(
        wildcard_match(needle, "=".join(groups[start:end]))
        for start in range(len(groups))
        for end in range(start + 1, len(groups) + 1)
    )


def wildcard_match(pattern: str, text: str) -> bool:
    """DICOM ``*``/``?`` matching of all of ``text``, without a backtracking regex."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume, p = p, t, p + 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif star >= 0:
            # Let the last "*" take one more character and try again from there.
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def wildcard_filter(field: str, term: str) -> Q:
    """Case-insensitive exact match, or a DICOM wildcard match when the term has ``*``/``?``."""
    term = term.strip()
    if not term:
        return Q()
    if "*" not in term and "?" not in term:
        # ``UPPER(x) = 'X'``, not LIKE: SQLite serves only equality from the UPPER()
        # expression index (bench/archive_scale.py: C-FIND by ID read every patient).
        return Q(**{f"{field}__upper": term.upper()})
    return Q(**{f"{field}__upper__like": dicom_to_like(term.upper())})


def patient_name_filter(term: str, field: str = "patient") -> Q:
    """Rows whose patient's name matches ``term`` (``name_filter``), patients first.

    A subquery over the patients, not a join: SQLite's planner otherwise walks the
    studies in sort order and tests each one's patient name (45x slower at 100k).
    """
    if not normalize_name(term):
        return Q()
    return Q(**{f"{field}__in": Patient.objects.filter(name_filter(term, "name_search"))})


def search_studies(query: StudyQuery) -> QuerySet[Study]:
    """The studies matching ``query``, sorted as asked, with their patients joined."""
    studies = Study.objects.select_related("patient").filter(
        patient_name_filter(query.patient_name),
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
