"""Import DICOM files, folders and DICOMDIRs into the archive, one report line per file."""

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import pydicom
from django.db import DatabaseError, IntegrityError, connection, transaction

from . import storage
from .models import Instance, Patient, Series, Study
from .parsing import ParsedInstance, RejectedFile, parse_instance
from .search import normalize_name

logger = logging.getLogger(__name__)

IMPORTED, PRESENT, REJECTED = "imported", "already present", "rejected"
# The instance contradicts what the archive holds: its study is filed under another
# patient, its series under another study, or its SOP Instance UID under another series.
# Unlike a REJECTED file that could not be written, sending it again cannot succeed.
CONFLICT = "conflict"
_BATCH = 100
_BATCH_BYTES = 256 * 1024**2
_MAX_FILE_BYTES = 2 * 1024**3
# The index's tables, for the plain SQL of the per-instance lookups and insert.
_PATIENT, _STUDY = Patient._meta.db_table, Study._meta.db_table
_SERIES, _INSTANCE = Series._meta.db_table, Instance._meta.db_table


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
            yield _media_path(dicomdir.parent, parts)


def _media_path(media_root: Path, parts: list[str]) -> Path:
    """A DICOMDIR file ID as a path inside the media folder, matched case-insensitively.

    Linux mounts ISO 9660 discs with lower-case names, while file IDs are upper case;
    IDs that climb out of the media folder are kept inside it, where they do not exist.
    """
    path = media_root
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\\" in part:
            return media_root / "invalid file ID in DICOMDIR"
        candidate = path / part
        if not candidate.exists() and path.is_dir():
            matches = [child for child in path.iterdir() if child.name.lower() == part.lower()]
            candidate = matches[0] if matches else candidate
        path = candidate
    return path


class Importer:
    """Import files into the archive; caches parents and commits in batches for speed."""

    def __init__(
        self,
        root: Path | None = None,
        source_label: str = "import",
        counts_interval: float = 0.0,
    ) -> None:
        self.root = root or storage.storage_root()
        self.report = ImportReport()
        self.source_label = source_label
        # A download stores one instance at a time: recounting the study after every
        # one would serialise the writers, so it may wait this many seconds.
        self.counts_interval = counts_interval
        # The first stores of a download happen together: their counts can wait too.
        self._counted_at = time.monotonic() if counts_interval else 0.0
        self._patients: dict[str, Patient] = {}
        self._studies: dict[str, Study] = {}
        self._series: dict[str, Series] = {}
        self._touched: set[int] = set()

    def run(
        self, paths: Iterable[str | Path], progress: Callable[[str], None] | None = None
    ) -> ImportReport:
        """Import every file below ``paths``; never stops on a bad file."""
        return self._import(
            ((str(path), self.read_file(path)) for path in iter_source_files(paths)), progress
        )

    def run_contents(
        self, contents: Iterable[tuple[str, bytes]], progress: Callable[[str], None] | None = None
    ) -> ImportReport:
        """Import instances made in memory, as (source, file bytes); never stops on a bad one."""
        return self._import(((source, _parsed(content)) for source, content in contents), progress)

    def _import(
        self,
        outcomes: Iterable[tuple[str, ParsedInstance | str]],
        progress: Callable[[str], None] | None,
    ) -> ImportReport:
        batch: list[tuple[str, ParsedInstance]] = []
        batch_bytes = 0
        for source, outcome in outcomes:
            if isinstance(outcome, ParsedInstance):
                batch.append((source, outcome))
                batch_bytes += len(outcome.content)
            else:
                self._count(source, REJECTED, outcome)
            if progress:
                progress(source)
            if len(batch) >= _BATCH or batch_bytes >= _BATCH_BYTES:
                self._store_and_count(batch)
                batch, batch_bytes = [], 0
        if batch:
            self._store_and_count(batch)
        return self.report

    def read_file(self, path: Path) -> ParsedInstance | str:
        """Read and check one file: its parsed form, or the reason it is rejected."""
        try:
            size = path.stat().st_size
            if size > _MAX_FILE_BYTES:
                return f"too large ({size} bytes)"
            content = path.read_bytes()
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"
        return _parsed(content)

    def store(self, parsed: ParsedInstance) -> tuple[str, str]:
        """Write one instance atomically, then index it; returns outcome and reason."""
        return self.store_batch([parsed])[0]

    def store_file(self, path: Path, parsed: ParsedInstance) -> tuple[str, str]:
        """Store the finished file ``path`` (whose bytes are the instance ``parsed``) by
        renaming it into the archive, then index it; as ``store`` otherwise. The file is
        moved only when the outcome is IMPORTED; else it stays where it is."""
        size = path.stat().st_size
        return self.store(replace(parsed, content=b"", file=path, file_size=size))

    def store_batch(self, batch: list[ParsedInstance]) -> list[tuple[str, str]]:
        """Write the files (fsync each, then each folder once), then index them together.

        An instance that names its finished file (``ParsedInstance.file``) is renamed
        into the archive instead of written; the file stays put unless IMPORTED.

        A file's row is committed only after its rename is durable, so the index never
        points at a file that a crash could lose. An instance whose patient is not the
        patient its study is filed under is refused as a CONFLICT before anything is
        written (see ``patient_conflict``), as is one that would move a series or an
        instance to another study or series.
        """
        # Plain SQL: as ORM queries these lookups were a fifth of a C-STORE's time.
        existing = _stored_instances([parsed.sop_instance_uid for parsed in batch])
        # Read from the database for every batch, never from this importer's cache: the
        # cache may predate another importer filing the study. A known series brings its
        # study's patient along; only the studies of new series are looked up apart.
        series_study, study_patient = _filed_series({parsed.series_uid for parsed in batch})
        unknown = {parsed.study_uid for parsed in batch} - study_patient.keys()
        if unknown:
            study_patient.update(_filed_studies(unknown))
        outcomes: list[tuple[str, str]] = []
        to_index: list[tuple[int, ParsedInstance, str]] = []
        folders: set[Path] = set()
        seen: set[str] = set()
        for parsed in batch:
            # Checked against the index and the files before it in this batch.
            if series_study.setdefault(parsed.series_uid, parsed.study_uid) != parsed.study_uid:
                outcomes.append((CONFLICT, "Series Instance UID already belongs to another study"))
                continue
            stored = study_patient.setdefault(parsed.study_uid, identity_of(parsed))
            conflict = patient_conflict(stored, parsed)
            if conflict:
                outcomes.append((CONFLICT, conflict))
                continue
            outcome, relative = self._write(parsed, existing.get(parsed.sop_instance_uid), seen)
            outcomes.append(outcome)
            if relative is not None:
                folders.add(storage.absolute_path(relative, self.root).parent)
                if parsed.sop_instance_uid not in existing:
                    to_index.append((len(outcomes) - 1, parsed, relative))
        for folder in folders:
            storage.fsync_dir(folder)
        with transaction.atomic():
            if not self._index_together(to_index):
                for position, parsed, relative in to_index:
                    outcomes[position] = self._index(parsed, relative)
            if time.monotonic() - self._counted_at >= self.counts_interval:
                self._refresh_counts()
        return outcomes

    def flush_counts(self) -> None:
        """Bring the counts of every study stored into up to date now."""
        if self._touched:
            with transaction.atomic():
                self._refresh_counts()

    def _index_together(self, to_index: list[tuple[int, ParsedInstance, str]]) -> bool:
        """Insert every row in one statement; False (nothing inserted) if any one fails."""
        if not to_index:
            return True
        try:
            with transaction.atomic():
                rows = [self._instance_row(parsed, relative) for _, parsed, relative in to_index]
                _insert_instances(rows)
        except (DatabaseError, _Conflict):
            self._series.clear()
            self._studies.clear()
            self._patients.clear()
            return False  # the caller indexes one by one to find and report the culprit
        self._touched.update(row.series.study_id for row in rows)
        return True

    def _instance_row(self, parsed: ParsedInstance, relative: str) -> Instance:
        series = self._series_for(parsed)
        # Checked again as the row is made: another importer (the SCP, a worker) may have
        # filed the study or the series since ``store_batch`` looked.
        if series.study.study_uid != parsed.study_uid:
            raise _Conflict("Series Instance UID already belongs to another study")
        conflict = patient_conflict(_identity_of_row(series.study.patient), parsed)
        if conflict:
            raise _Conflict(conflict)
        return Instance(
            sop_instance_uid=parsed.sop_instance_uid,
            series=series,
            sop_class_uid=parsed.sop_class_uid,
            instance_number=parsed.instance_number,
            transfer_syntax_uid=parsed.transfer_syntax_uid,
            rows=parsed.rows,
            columns=parsed.columns,
            number_of_frames=parsed.number_of_frames,
            file_path=relative,
            file_size=parsed.size,
            geometry=parsed.geometry,
        )

    def _write(
        self, parsed: ParsedInstance, existing: "StoredInstance | None", seen: set[str]
    ) -> tuple[tuple[str, str], str | None]:
        if parsed.sop_instance_uid in seen:
            return (PRESENT, ""), None
        seen.add(parsed.sop_instance_uid)
        if existing is not None:
            if existing.series_uid != parsed.series_uid:
                return (CONFLICT, "SOP Instance UID already stored in another series"), None
            if storage.absolute_path(existing.file_path, self.root).exists():
                self.report.study_uids.add(parsed.study_uid)
                return (PRESENT, ""), None
        relative = storage.relative_path(
            parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid
        )
        try:
            if parsed.file is not None:
                storage.move_atomic(parsed.file, relative, self.root, sync_dir=False)
            else:
                storage.write_atomic(relative, parsed.content, self.root, sync_dir=False)
        except OSError as exc:
            return (REJECTED, f"cannot write to the archive: {exc.strerror or exc}"), None
        # A surviving row whose file was lost is repaired by writing the file alone.
        self.report.study_uids.add(parsed.study_uid)
        return (IMPORTED, ""), relative

    def _index(self, parsed: ParsedInstance, relative: str) -> tuple[str, str]:
        try:
            with transaction.atomic():
                row = self._instance_row(parsed, relative)
                row.save(force_insert=True)
        except IntegrityError:
            # Another importer (the SCP, a worker) indexed it between our check and insert.
            self._forget_cached(parsed)
            return PRESENT, ""
        except _Conflict as exc:
            # Nothing of it may stay: the file written for it is taken back out, even if
            # another importer's row names the same path (one SOP Instance UID stored at
            # once for two patients): a missing image is safer than another patient's.
            self._forget_cached(parsed)
            self._take_back(parsed, relative)
            return CONFLICT, str(exc)
        except DatabaseError as exc:
            # The file is whole but cannot be indexed: take it back out, report, go on.
            self._forget_cached(parsed)
            self._take_back(parsed, relative)
            return REJECTED, f"cannot index: {type(exc).__name__}"
        self._touched.add(row.series.study_id)
        return IMPORTED, ""

    def _take_back(self, parsed: ParsedInstance, relative: str) -> None:
        """Take an unindexed file back out of the archive: one renamed in goes back where
        it came from (its owner keeps it, as for any outcome but IMPORTED), else it goes."""
        target = storage.absolute_path(relative, self.root)
        if parsed.file is not None:
            try:
                os.replace(target, parsed.file)
                return
            except OSError:
                pass  # copied in from another file system: it cannot be renamed back
        target.unlink(missing_ok=True)

    def _store_and_count(self, batch: list[tuple[str, ParsedInstance]]) -> None:
        outcomes = self.store_batch([parsed for _, parsed in batch])
        for (source, _), (outcome, reason) in zip(batch, outcomes, strict=True):
            self._count(source, outcome, reason)

    def _count(self, source: str, outcome: str, reason: str) -> None:
        self.report.add(outcome, source, reason)
        if outcome == CONFLICT:
            logger.warning("refused a file: %s", reason)
        elif outcome == REJECTED:
            logger.debug("rejected a file: %s", reason)

    def _series_for(self, parsed: ParsedInstance) -> Series:
        return _cached_get_or_create(
            self._series,
            Series,
            "series_uid",
            parsed.series_uid,
            lambda: {
                "study": self._study_for(parsed),
                "modality": parsed.modality,
                "series_number": parsed.series_number,
                "description": parsed.series_description,
                "body_part": parsed.body_part,
                "frame_of_reference_uid": parsed.frame_of_reference_uid,
            },
        )

    def _study_for(self, parsed: ParsedInstance) -> Study:
        return _cached_get_or_create(
            self._studies,
            Study,
            "study_uid",
            parsed.study_uid,
            lambda: {
                "patient": self._patient_for(parsed),
                "study_date": parsed.study_date,
                "study_time": parsed.study_time,
                "accession_number": parsed.accession_number,
                "study_id": parsed.study_id,
                "description": parsed.study_description,
                "referring_physician": parsed.referring_physician,
            },
        )

    def _patient_for(self, parsed: ParsedInstance) -> Patient:
        return _cached_get_or_create(
            self._patients,
            Patient,
            "patient_key",
            patient_key(parsed),
            lambda: {
                "patient_id": parsed.patient_id,
                "issuer_of_patient_id": parsed.issuer_of_patient_id,
                "patient_name": parsed.patient_name,
                "name_search": normalize_name(parsed.patient_name),
                "birth_date": parsed.birth_date,
                "sex": parsed.sex,
            },
        )

    def _forget_cached(self, parsed: ParsedInstance) -> None:
        # After a rolled-back savepoint the cached rows may not exist.
        self._series.pop(parsed.series_uid, None)
        self._studies.pop(parsed.study_uid, None)
        self._patients.pop(patient_key(parsed), None)

    def _refresh_counts(self) -> None:
        # Locked so that two importers of one study cannot both write stale counts: the
        # one that waits counts after the other has committed. NO KEY UPDATE (PostgreSQL;
        # SQLite has one writer anyway) does not block other importers adding a series
        # to the study, as their foreign key takes a KEY SHARE lock on its row.
        touched = Study.objects.select_for_update(no_key=True).filter(id__in=self._touched)
        for study in touched.order_by("id"):
            study.refresh_counts()
        self._touched.clear()
        self._counted_at = time.monotonic()


class StoredInstance(NamedTuple):
    """What the importer needs of an instance already indexed."""

    series_uid: str
    file_path: str


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _select_in(select: str, column: str, values: list[str]) -> list[tuple]:
    """The rows of ``select`` whose ``column`` is one of ``values`` (none for none)."""
    if not values:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"{select} WHERE {column} IN ({_placeholders(values)})", values)
        return cursor.fetchall()


def _stored_instances(sop_instance_uids: list[str]) -> dict[str, StoredInstance]:
    """The indexed instances among ``sop_instance_uids``, by SOP Instance UID."""
    rows = _select_in(
        f"SELECT i.sop_instance_uid, s.series_uid, i.file_path FROM {_INSTANCE} i"
        f" JOIN {_SERIES} s ON s.id = i.series_id",
        "i.sop_instance_uid",
        sop_instance_uids,
    )
    return {uid: StoredInstance(series, path) for uid, series, path in rows}


def _filed_series(
    series_uids: set[str],
) -> tuple[dict[str, str], dict[str, "PatientIdentity"]]:
    """Which study each known series is filed under, and each such study's patient."""
    rows = _select_in(
        f"SELECT s.series_uid, st.study_uid, p.patient_key, p.patient_id,"
        f" p.issuer_of_patient_id FROM {_SERIES} s"
        f" JOIN {_STUDY} st ON st.id = s.study_id JOIN {_PATIENT} p ON p.id = st.patient_id",
        "s.series_uid",
        list(series_uids),
    )
    series_study: dict[str, str] = {}
    study_patient: dict[str, PatientIdentity] = {}
    for series_uid, study_uid, key, patient_id, issuer in rows:
        series_study[series_uid] = study_uid
        study_patient[study_uid] = PatientIdentity(key, patient_id, issuer)
    return series_study, study_patient


def _filed_studies(study_uids: set[str]) -> dict[str, "PatientIdentity"]:
    """The patient each known study among ``study_uids`` is filed under."""
    rows = _select_in(
        f"SELECT st.study_uid, p.patient_key, p.patient_id, p.issuer_of_patient_id"
        f" FROM {_STUDY} st JOIN {_PATIENT} p ON p.id = st.patient_id",
        "st.study_uid",
        list(study_uids),
    )
    return {
        study_uid: PatientIdentity(key, patient_id, issuer)
        for study_uid, key, patient_id, issuer in rows
    }


def _insert_instances(rows: list[Instance]) -> None:
    """Insert ``rows`` in one statement, each value prepared by its field as the ORM
    does (``auto_now_add``, JSON), without the ORM's query building: a quarter of a
    C-STORE's time went there. Their ids are not read back."""
    fields = [field for field in Instance._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = ", ".join([f"({_placeholders(fields)})"] * len(rows))
    params = [
        field.get_db_prep_save(field.pre_save(row, add=True), connection)
        for row in rows
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_INSTANCE} ({columns}) VALUES {values}", params)


def _cached_get_or_create(cache: dict, model, field: str, key: str, defaults: Callable[[], dict]):
    """The row whose ``field`` is ``key``, from the run's cache, the database, or created."""
    row = cache.get(key)
    if row is None:
        # Looked up first: ``defaults`` makes the parent rows, wanted only for a new one
        # (a study filed under a patient named otherwise must not leave a stray patient).
        row = model.objects.filter(**{field: key}).first()
        if row is None:
            row, _ = model.objects.get_or_create(**{field: key}, defaults=defaults())
        cache[key] = row
    return row


def _parsed(content: bytes) -> ParsedInstance | str:
    """The parsed instance, or the reason it is rejected."""
    try:
        return parse_instance(content)
    except RejectedFile as exc:
        return str(exc)


def patient_key(parsed: ParsedInstance) -> str:
    """Identity of a patient: issuer and ID, or name and birth date when the ID is empty."""
    if parsed.patient_id:
        return f"id:{parsed.issuer_of_patient_id}|{parsed.patient_id}"
    return f"name:{parsed.patient_name}|{parsed.birth_date or ''}"


class PatientIdentity(NamedTuple):
    """Who a study is filed under: the patient's key and the attributes it is made of."""

    key: str
    patient_id: str
    issuer: str


class _Conflict(Exception):
    """The instance contradicts the archive; the message is the reason, without values."""


def identity_of(parsed: ParsedInstance) -> PatientIdentity:
    """The identity of the patient an instance names."""
    return PatientIdentity(patient_key(parsed), parsed.patient_id, parsed.issuer_of_patient_id)


def _identity_of_row(patient: Patient) -> PatientIdentity:
    return PatientIdentity(patient.patient_key, patient.patient_id, patient.issuer_of_patient_id)


def _same_name(stored_key: str, parsed: ParsedInstance) -> bool:
    """Whether a patient filed without an ID (key ``name:NAME|BIRTH``) has the
    instance's name, as search compares names (case, spaces, carets), and birth date."""
    name, _, birth = stored_key.removeprefix("name:").rpartition("|")
    return normalize_name(name) == normalize_name(parsed.patient_name) and birth == str(
        parsed.birth_date or ""
    )


def patient_conflict(stored: PatientIdentity, parsed: ParsedInstance) -> str:
    """Why ``parsed`` may not join a study filed under ``stored``; empty when it may.

    The rule: the instance names the stored patient. With a Patient ID that means the
    same ID, and the same issuer when both name one (names may differ in spelling or
    character set); an instance without an ID never joins the study of a patient with
    one, nor the other way round, as name and birth date cannot prove the same person;
    without IDs on either side, the same name (as search compares names) and birth date.
    The reason names the attribute that differs, never its values (it reaches logs).
    """
    if stored.key == patient_key(parsed):
        return ""
    if (
        stored.patient_id
        and stored.patient_id == parsed.patient_id
        and not (stored.issuer and parsed.issuer_of_patient_id)
    ):
        # One side names no issuer: the same ID in the same study (its UID is unique)
        # is the same patient, as when a PACS adds its issuer to a modality's IDs.
        return ""
    if not stored.patient_id and not parsed.patient_id and _same_name(stored.key, parsed):
        return ""
    if stored.patient_id != parsed.patient_id:
        what = "Patient ID differs"
    elif stored.issuer != parsed.issuer_of_patient_id:
        what = "Issuer of Patient ID differs"
    else:
        what = "name or birth date differs"
    # Short enough for a C-STORE Error Comment (LO, 64 characters) whole.
    return f"study filed under another patient ({what})"
