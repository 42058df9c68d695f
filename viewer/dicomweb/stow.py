"""STOW-RS (PS3.18 10.5): a request's parts read one at a time from its body, each DICOM
part stored through the archive's importer, and the Store Instances Response built."""

import io
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message

import pydicom
from django.conf import settings
from pydicom.dataset import Dataset

from viewer.archive.importer import CONFLICT, IMPORTED, PRESENT, Importer
from viewer.archive.parsing import RejectedFile, parse_instance
from viewer.audit.models import AuditEvent, record
from viewer.nodes.ingest import INGEST_BUDGET_BYTES, ByteBudget

from .parts import CHUNK_BYTES, MalformedBody, Part

logger = logging.getLogger(__name__)

# Largest instance one part may carry, as the importer's file limit; the setting
# PACSWEB_STOW_MAX_BYTES overrides it. A part is held in memory while it is stored.
MAX_PART_BYTES = 2 * 1024**3
MAX_BOUNDARY = 200
# Study counts are made exact once, as the request ends, not after every instance.
COUNTS_INTERVAL = 1.0

# Failure Reason (0008,1197) values: PS3.18 10.5.3 takes the C-STORE statuses of PS3.4 B.2.3.
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
# A 0xCxxx "cannot understand" code, used by dcm4chee-arc for this case too: the instance
# is not of the study the request's path names.
STUDY_UID_MISMATCH = 0xC409
# The instance contradicts the archive (its study is filed under another patient, its
# series under another study): the C-STORE status our SCP answers for it, a Cxxx code as
# a resend cannot succeed.
ARCHIVE_CONFLICT = 0xC778

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
MULTIPART_RELATED = "multipart/related"
# Parts may declare these; anything else is not a DICOM file.
_PART_TYPES = {"", DICOM, "application/octet-stream"}

# Parsing holds about twice an instance; requests running at once take turns over this.
_BUDGET = ByteBudget(INGEST_BUDGET_BYTES)


class StowError(Exception):
    """The request as a whole cannot be served; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def max_part_bytes() -> int:
    """The largest instance a request may carry (PACSWEB_STOW_MAX_BYTES, else the default)."""
    return int(getattr(settings, "PACSWEB_STOW_MAX_BYTES", MAX_PART_BYTES))


def request_boundary(content_type: str | None) -> str | None:
    """The multipart boundary of a STOW-RS request's Content-Type; None for a single
    ``application/dicom`` body. Raises ``StowError`` (400 or 415) for anything else."""
    if not content_type or not content_type.strip():
        raise StowError(415, _SUPPORTED)
    header = Message()
    header["content-type"] = content_type
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == DICOM:
        return None
    if media_type != MULTIPART_RELATED:
        raise StowError(415, f"Content-Type {media_type} is not supported. {_SUPPORTED}")
    # Some clients leave out ``type``: the parts are then taken as DICOM files.
    part_type = str(header.get_param("type", DICOM) or DICOM).strip().lower()
    if part_type != DICOM:
        raise StowError(415, f"Parts of type {part_type} are not supported. {_SUPPORTED}")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise StowError(400, "The multipart/related Content-Type has no boundary parameter.")
    # RFC 2046 says at most 70, but Orthanc's STOW client sends 73 (two UUIDs): be
    # liberal, yet bound what the scanner looks for.
    if len(boundary) > MAX_BOUNDARY:
        raise StowError(400, f"The multipart boundary is longer than {MAX_BOUNDARY} characters.")
    return boundary


_SUPPORTED = (
    'We store multipart/related; type="application/dicom" (each part a DICOM file) or a '
    "single application/dicom body; metadata with bulk data (application/dicom+json or "
    "+xml parts) is not supported."
)


def single_part(read: Callable[[int], bytes], limit: int | None = None) -> Iterator[Part]:
    """An ``application/dicom`` body as one part; raises ``StowError`` 413 over ``limit``."""
    limit = max_part_bytes() if limit is None else limit
    chunks, size = [], 0
    while chunk := read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise StowError(413, f"The instance is larger than the {limit} bytes we take.")
        chunks.append(chunk)
    if not size:
        raise MalformedBody("The request has an empty body.")
    yield Part({"content-type": DICOM}, b"".join(chunks))


@dataclass
class Outcome:
    """What became of one part: stored (``failure`` 0) or the failure code and reason."""

    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str = ""
    series_uid: str = ""
    failure: int = 0
    reason: str = ""
    present: bool = False  # it was already in the archive: success, nothing written


@dataclass
class StoreResult:
    """Every part's outcome, in request order."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def stored(self) -> list[Outcome]:
        """The outcomes of parts now in the archive."""
        return [o for o in self.outcomes if not o.failure]

    @property
    def failed(self) -> list[Outcome]:
        """The outcomes of parts not stored."""
        return [o for o in self.outcomes if o.failure]

    @property
    def http_status(self) -> int:
        """200 all stored, 409 none stored, 202 some (PS3.18 10.5.3)."""
        if not self.failed:
            return 200
        return 409 if not self.stored else 202


def store_parts(parts: Iterable[Part], study_uid: str | None = None) -> StoreResult:
    """Store each DICOM part durably before going on to the next; never stops on a bad one.

    With ``study_uid`` (POST /studies/{study}) an instance of another study is refused.
    """
    result = StoreResult()
    importer = Importer(source_label="stow-rs", counts_interval=COUNTS_INTERVAL)
    try:
        for part in parts:
            outcome, importer = _store_part(part, study_uid, importer)
            result.outcomes.append(outcome)
            if outcome.failure:
                logger.info("STOW-RS refused a part: %s", outcome.reason)
    finally:
        try:
            importer.flush_counts()
        except Exception:
            logger.exception("STOW-RS could not refresh study counts")
    if not result.outcomes:
        raise MalformedBody("The request holds no instances.")
    return result


def _store_part(part: Part, study_uid: str | None, importer: Importer) -> tuple[Outcome, Importer]:
    if part.error:
        code = OUT_OF_RESOURCES if part.too_large else CANNOT_UNDERSTAND
        return _failed(part.content, code, part.error), importer
    part_type = part.headers.get("content-type", "").partition(";")[0].strip().lower()
    if part_type not in _PART_TYPES:
        reason = f"a part of type {part_type}; parts must be {DICOM}"
        return _failed(part.content, CANNOT_UNDERSTAND, reason), importer
    with _BUDGET.hold(len(part.content)):
        try:
            parsed = parse_instance(part.content)
        except RejectedFile as exc:
            return _failed(part.content, CANNOT_UNDERSTAND, str(exc)), importer
        outcome = Outcome(
            parsed.sop_class_uid, parsed.sop_instance_uid, parsed.study_uid, parsed.series_uid
        )
        if study_uid is not None and parsed.study_uid != study_uid:
            outcome.failure = STUDY_UID_MISMATCH
            outcome.reason = "its Study Instance UID is not the one in the request's path"
            return outcome, importer
        try:
            stored, reason = importer.store(parsed)
        except Exception:
            logger.exception("STOW-RS could not store an instance")
            outcome.failure = OUT_OF_RESOURCES
            outcome.reason = "the archive could not store the instance"
            return outcome, _fresh_importer(importer)
    if stored == CONFLICT:
        outcome.failure, outcome.reason = ARCHIVE_CONFLICT, reason
    elif stored not in (IMPORTED, PRESENT):
        outcome.failure = OUT_OF_RESOURCES if "write" in reason else CANNOT_UNDERSTAND
        outcome.reason = reason
    outcome.present = stored == PRESENT
    return outcome, importer


def _fresh_importer(importer: Importer) -> Importer:
    # After an error its cached rows may be rolled back: keep the counts owed, start afresh.
    try:
        importer.flush_counts()
    except Exception:
        logger.exception("STOW-RS could not refresh study counts")
    return Importer(source_label="stow-rs", counts_interval=COUNTS_INTERVAL)


def _failed(content: bytes, code: int, reason: str) -> Outcome:
    """A failure naming the instance if its UIDs can be read from what came."""
    sop_class_uid, sop_instance_uid = _identify(content)
    return Outcome(sop_class_uid, sop_instance_uid, failure=code, reason=reason)


def _identify(content: bytes) -> tuple[str, str]:
    if not content:
        return "", ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's warnings can quote patient data
        try:
            dataset = pydicom.dcmread(
                io.BytesIO(content),
                force=True,
                stop_before_pixels=True,
                specific_tags=["SOPClassUID", "SOPInstanceUID"],
            )
            meta = getattr(dataset, "file_meta", None) or Dataset()
            sop_class = dataset.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
            sop_instance = dataset.get("SOPInstanceUID") or meta.get("MediaStorageSOPInstanceUID")
            return _uid_text(sop_class), _uid_text(sop_instance)
        except Exception:
            return "", ""


def _uid_text(value) -> str:
    text = str(value or "").strip().rstrip("\0")
    # Only a plausible UID goes back to the client: damaged bytes are not echoed.
    return text if len(text) <= 64 and all(c in "0123456789." for c in text) else ""


def response_dataset(result: StoreResult, base_url: str, study_uid: str | None = None) -> Dataset:
    """The Store Instances Response (PS3.18 10.5.3) for ``result``; ``base_url`` is the
    service's root, e.g. ``https://pacs.example/dicom-web``."""
    response = Dataset()
    studies = {o.study_uid for o in result.stored}
    if len(studies) == 1:
        response.RetrieveURL = f"{base_url}/studies/{studies.pop()}"
    elif study_uid is not None and result.stored:
        response.RetrieveURL = f"{base_url}/studies/{study_uid}"
    if result.failed:
        response.FailedSOPSequence = [_failed_item(o) for o in result.failed]
    response.ReferencedSOPSequence = [_stored_item(o, base_url) for o in result.stored]
    return response


def _failed_item(outcome: Outcome) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = outcome.sop_class_uid
    item.ReferencedSOPInstanceUID = outcome.sop_instance_uid
    item.FailureReason = outcome.failure
    return item


def _stored_item(outcome: Outcome, base_url: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = outcome.sop_class_uid
    item.ReferencedSOPInstanceUID = outcome.sop_instance_uid
    item.RetrieveURL = (
        f"{base_url}/studies/{outcome.study_uid}/series/{outcome.series_uid}"
        f"/instances/{outcome.sop_instance_uid}"
    )
    return item


def warning_header(result: StoreResult, most: int = 10) -> str:
    """A ``Warning`` header (299, as PS3.18 8.3.5 uses it) giving each failure's reason
    in words, which the response's codes cannot; empty if nothing failed."""
    warnings_text = []
    for position, outcome in enumerate(result.outcomes, start=1):
        if outcome.failure and len(warnings_text) < most:
            text = f"part {position}: {outcome.reason}".replace('"', "'").replace("\\", "/")
            text = "".join(c if " " <= c <= "~" else "?" for c in text)[:200]
            warnings_text.append(f'299 pacsweb "{text}"')
    return ", ".join(warnings_text)


def audit_arrival(result: StoreResult, user, address: str | None) -> None:
    """One audit row per study the request delivered (with how many instances), and one
    for parts refused without a readable study."""
    per_study: dict[str, list[Outcome]] = {}
    for outcome in result.outcomes:
        per_study.setdefault(outcome.study_uid, []).append(outcome)
    for study_uid, outcomes in sorted(per_study.items()):
        stored = [o for o in outcomes if not o.failure]
        present = sum(1 for o in stored if o.present)
        refused = len(outcomes) - len(stored)
        detail = f"STOW-RS: {len(stored)} instances stored ({present} already here)"
        if refused:
            detail += f", {refused} refused"
        record(
            AuditEvent.IMPORTED,
            user=user,
            study_uid=study_uid,
            outcome=AuditEvent.SUCCESS if stored else AuditEvent.FAILURE,
            address=address,
            count=len(stored) or refused,
            detail=f"{detail}; from {address or 'an unknown address'}",
        )
