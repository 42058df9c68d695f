"""Import DICOM files, folders and DICOMDIRs into the archive, one report line per file."""

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from django.db import IntegrityError, transaction

from . import storage
from .models import Instance, Patient, Series, Study
from .parsing import ParsedInstance, RejectedFile, parse_instance
from .search import normalize_name

logger = logging.getLogger(__name__)

IMPORTED, PRESENT, REJECTED = "imported", "already present", "rejected"
_BATCH = 100
_MAX_FILE_BYTES = 2 * 1024**3


@dataclass
class ImportReport:
    """Counts per outcome and the reason for every rejected file."""

    imported: int = 0
    present: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    study_uids: set[str] = field(default_factory=set)

    def add(self, outcome: str, source: str, reason: str = "") -> None:
        """Count one file's outcome."""
        if outcome == IMPORTED:
            self.imported += 1
        elif outcome == PRESENT:
            self.present += 1
        else:
            self.rejected.append((source, reason))


def iter_source_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield each file to import once: files, folders recursively, DICOMDIR references."""
    seen: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            candidates = _walk(path)
        elif path.name.upper() == "DICOMDIR":
            candidates = _dicomdir_files(path)
        else:
            candidates = iter([path])
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate


def _walk(folder: Path) -> Iterator[Path]:
    for current, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            # A DICOMDIR only indexes files the walk reaches anyway; dot files are
            # editors' and our own temporaries.
            if name.upper() != "DICOMDIR" and not name.startswith("."):
                yield Path(current) / name


def _dicomdir_files(dicomdir: Path) -> Iterator[Path]:
    try:
        directory = pydicom.dcmread(dicomdir)
        records = directory.DirectoryRecordSequence
    except Exception:
        # An unreadable DICOMDIR is reported like any other bad file.
        yield dicomdir
        return
    for record in records:
        file_id = record.get("ReferencedFileID")
        if file_id:
            parts = [file_id] if isinstance(file_id, str) else list(file_id)
            yield dicomdir.parent.joinpath(*parts)


class Importer:
    """Import files into the archive; caches parents and commits in batches for speed."""

    def __init__(self, root: Path | None = None, source_label: str = "import") -> None:
        self.root = root or storage.storage_root()
        self.report = ImportReport()
        self.source_label = source_label
        self._patients: dict[str, Patient] = {}
        self._studies: dict[str, Study] = {}
        self._series: dict[str, Series] = {}
        self._touched: set[int] = set()

    def run(
        self, paths: Iterable[str | Path], progress: Callable[[Path], None] | None = None
    ) -> ImportReport:
        """Import every file below ``paths``; never stops on a bad file."""
        batch: list[Path] = []
        for path in iter_source_files(paths):
            batch.append(path)
            if len(batch) >= _BATCH:
                self._run_batch(batch, progress)
                batch = []
        if batch:
            self._run_batch(batch, progress)
        return self.report

    def _run_batch(self, paths: list[Path], progress: Callable[[Path], None] | None) -> None:
        with transaction.atomic():
            for path in paths:
                outcome, reason = self.import_file(path)
                self.report.add(outcome, str(path), reason)
                if outcome == REJECTED:
                    logger.debug("rejected a file: %s", reason)
                if progress:
                    progress(path)
            self._refresh_counts()

    def import_file(self, path: Path) -> tuple[str, str]:
        """Import one file and return its outcome and, when rejected, the reason."""
        try:
            size = path.stat().st_size
            if size > _MAX_FILE_BYTES:
                return REJECTED, f"too large ({size} bytes)"
            content = path.read_bytes()
        except OSError as exc:
            return REJECTED, f"cannot read: {exc.strerror or exc}"
        try:
            parsed = parse_instance(content)
        except RejectedFile as exc:
            return REJECTED, str(exc)
        return self.store(parsed)

    def store(self, parsed: ParsedInstance) -> tuple[str, str]:
        """Write the file atomically, then index it; a duplicate is not stored twice."""
        existing = (
            Instance.objects.filter(sop_instance_uid=parsed.sop_instance_uid)
            .select_related("series__study")
            .first()
        )
        if existing is not None:
            if existing.series.series_uid != parsed.series_uid:
                return REJECTED, "SOP Instance UID already stored in another series"
            if storage.absolute_path(existing.file_path, self.root).exists():
                self.report.study_uids.add(parsed.study_uid)
                return PRESENT, ""
        relative = storage.relative_path(
            parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid
        )
        try:
            storage.write_atomic(relative, parsed.content, self.root)
        except OSError as exc:
            return REJECTED, f"cannot write to the archive: {exc.strerror or exc}"
        if existing is not None:  # the row survived but its file was lost: repaired
            self.report.study_uids.add(parsed.study_uid)
            return IMPORTED, ""
        try:
            with transaction.atomic():
                series = self._series_for(parsed)
                Instance.objects.create(
                    sop_instance_uid=parsed.sop_instance_uid,
                    series=series,
                    sop_class_uid=parsed.sop_class_uid,
                    instance_number=parsed.instance_number,
                    transfer_syntax_uid=parsed.transfer_syntax_uid,
                    rows=parsed.rows,
                    columns=parsed.columns,
                    number_of_frames=parsed.number_of_frames,
                    file_path=relative,
                    file_size=len(parsed.content),
                )
        except IntegrityError:
            # Another importer (the SCP, a worker) indexed it between our check and insert.
            self._forget_cached(parsed)
            return PRESENT, ""
        self._touched.add(series.study_id)
        self.report.study_uids.add(parsed.study_uid)
        return IMPORTED, ""

    def _series_for(self, parsed: ParsedInstance) -> Series:
        series = self._series.get(parsed.series_uid)
        if series is None:
            study = self._study_for(parsed)
            series, _ = Series.objects.get_or_create(
                series_uid=parsed.series_uid,
                defaults={
                    "study": study,
                    "modality": parsed.modality,
                    "series_number": parsed.series_number,
                    "description": parsed.series_description,
                    "body_part": parsed.body_part,
                    "frame_of_reference_uid": parsed.frame_of_reference_uid,
                },
            )
            self._series[parsed.series_uid] = series
        return series

    def _study_for(self, parsed: ParsedInstance) -> Study:
        study = self._studies.get(parsed.study_uid)
        if study is None:
            study, _ = Study.objects.get_or_create(
                study_uid=parsed.study_uid,
                defaults={
                    "patient": self._patient_for(parsed),
                    "study_date": parsed.study_date,
                    "study_time": parsed.study_time,
                    "accession_number": parsed.accession_number,
                    "study_id": parsed.study_id,
                    "description": parsed.study_description,
                    "referring_physician": parsed.referring_physician,
                },
            )
            self._studies[parsed.study_uid] = study
        return study

    def _patient_for(self, parsed: ParsedInstance) -> Patient:
        key = patient_key(parsed)
        patient = self._patients.get(key)
        if patient is None:
            patient, _ = Patient.objects.get_or_create(
                patient_key=key,
                defaults={
                    "patient_id": parsed.patient_id,
                    "issuer_of_patient_id": parsed.issuer_of_patient_id,
                    "patient_name": parsed.patient_name,
                    "name_search": normalize_name(parsed.patient_name),
                    "birth_date": parsed.birth_date,
                    "sex": parsed.sex,
                },
            )
            self._patients[key] = patient
        return patient

    def _forget_cached(self, parsed: ParsedInstance) -> None:
        # After a rolled-back savepoint the cached rows may not exist.
        self._series.pop(parsed.series_uid, None)
        self._studies.pop(parsed.study_uid, None)
        self._patients.pop(patient_key(parsed), None)

    def _refresh_counts(self) -> None:
        for study in Study.objects.filter(id__in=self._touched):
            study.refresh_counts()
        self._touched.clear()


def patient_key(parsed: ParsedInstance) -> str:
    """Identity of a patient: issuer and ID, or name and birth date when the ID is empty."""
    if parsed.patient_id:
        return f"id:{parsed.issuer_of_patient_id}|{parsed.patient_id}"
    return f"name:{parsed.patient_name}|{parsed.birth_date or ''}"
