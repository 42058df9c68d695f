"""What an audit row says beyond who and when: a search's terms, a study's patient."""

from viewer.archive.models import Study

# StudyQuery's terms as the trail names them, in the order they are written.
_TERMS = (
    ("patient_name", "patient name"),
    ("patient_id", "patient ID"),
    ("accession_number", "accession number"),
    ("date_from", "from"),
    ("date_to", "to"),
    ("modality", "modality"),
)


def search_detail(query, where: str = "local archive") -> str:
    """A search's terms in one line, e.g. ``local archive: patient name=wang*, from
    2024-01-01``; ``all studies`` when none is given.

    The row may hold a patient's name (it is the trail); log lines never get this.
    """
    terms = [
        f"{label}={value}" if label not in ("from", "to") else f"{label} {value}"
        for name, label in _TERMS
        if (value := getattr(query, name, None))
    ]
    return f"{where}: {', '.join(terms) or 'all studies'}"


def patient_id_of(study_uid: str) -> str:
    """The Patient ID of a study in the archive; empty if it is not (yet) here."""
    if not study_uid:
        return ""
    found = (
        Study.objects.filter(study_uid=study_uid)
        .values_list("patient__patient_id", flat=True)
        .first()
    )
    return found or ""


def dicomweb_search_detail(
    resource: str, terms: list[tuple[str, str]], matched: int | None = None, error: str = ""
) -> str:
    """A QIDO-RS search in one line, e.g. ``DICOMweb search studies: PatientName=wang*,
    StudyDate=20240101-; 3 matches``; the error instead of the count when refused."""
    asked = ", ".join(f"{keyword}={value}" for keyword, value in terms) or "all"
    outcome = f"not understood ({error})" if error else f"{matched} matches"
    return f"DICOMweb search {resource}: {asked}; {outcome}"
