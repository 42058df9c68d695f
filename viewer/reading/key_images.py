"""Key images: a person's marked images kept as a DICOM Key Object Selection document.

Each person has one current document per study, in a "Key images" series of their own
(its UID is made from the study, the person and this installation's secret, so it is
found again without a table and differs from every other installation's). Marking or
unmarking writes a new document through the archive's importer and then removes the
ones it replaces; unmarking the last image leaves none. Only a document that is provably
this person's here (our manufacturer, their login as observer, their series) is ever
replaced or removed; of several, the newest made is current. Documents from elsewhere
(a modality, another PACS, another installation of PACSweb) are read the same way and
never removed: their references that are images of this study in the archive are shown,
the others are counted.
"""

import io
import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import highdicom as hd
import pydicom
from django.conf import settings
from django.db import transaction
from pydicom.charset import convert_encodings
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from viewer.archive.importer import IMPORTED, PRESENT, Importer
from viewer.archive.models import Instance, Study
from viewer.archive.parsing import RejectedFile, parse_instance
from viewer.archive.removal import remove_instance
from viewer.archive.storage import absolute_path

from .documents import KEY_OBJECT_SELECTION
from .export import read_header
from .sr import person_name

logger = logging.getLogger(__name__)

KOS_SOP_CLASS = KEY_OBJECT_SELECTION
KEY_SERIES_NUMBER = 9002  # beside the SR export's 9001, far from the modality's numbers
KEY_SERIES_DESCRIPTION = "Key images"
MANUFACTURER = "PACSweb"
_PERSON_OBSERVER_NAME = "121008"
_PERSON_OBSERVER_LOGIN = "128774"
# Attributes highdicom takes from the first evidence instance; an empty value where the
# study's files have none (Type 2 in the KOS too).
_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
)


class KeyImageError(Exception):
    """The image cannot be marked (not an image of this study, no such frame)."""


@dataclass(frozen=True)
class KeyImage:
    """One key image: an instance and its frame (1 for a single-frame image)."""

    series_uid: str
    sop_instance_uid: str
    frame: int = 1

    def as_dict(self) -> dict:
        return {
            "series_uid": self.series_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "frame": self.frame,
        }


@dataclass(frozen=True)
class KeyDocument:
    """A KOS of the study: its images in the archive, in its order, and how many it
    references that are not (or are not images of this study)."""

    sop_instance_uid: str
    series_uid: str
    author: str
    mine: bool
    images: list[KeyImage]
    missing: int


@dataclass
class StudyKeyImages:
    """The study's key images: the person's own marks and every document's."""

    mine: list[KeyImage] = field(default_factory=list)
    documents: list[KeyDocument] = field(default_factory=list)

    @property
    def images(self) -> list[KeyImage]:
        """Every document's images once each: the person's own first, then the others'."""
        seen: dict[tuple[str, int], KeyImage] = {}
        for document in sorted(self.documents, key=lambda d: not d.mine):
            for image in document.images:
                seen.setdefault((image.sop_instance_uid, image.frame), image)
        return list(seen.values())

    @property
    def missing(self) -> int:
        """References of all documents to images that are not here."""
        return sum(d.missing for d in self.documents)

    def as_dict(self) -> dict:
        return {
            "mine": [m.as_dict() for m in self.mine],
            "images": [i.as_dict() for i in self.images],
            "missing": self.missing,
            "documents": [
                {
                    "sop_instance_uid": d.sop_instance_uid,
                    "series_uid": d.series_uid,
                    "author": d.author,
                    "mine": d.mine,
                    "images": len(d.images),
                    "missing": d.missing,
                }
                for d in self.documents
            ],
        }


def author_series_uid(study_uid: str, user) -> str:
    """The UID of ``user``'s "Key images" series in the study (the same on every call).

    The installation's secret goes in (hashed, never shown): user number 3 of another
    site must not have the same series, or its documents retrieved here would be taken
    for ours and replaced.
    """
    return generate_uid(entropy_srcs=[settings.SECRET_KEY, study_uid, "key images", str(user.pk)])


def _login(user) -> str:
    return user.get_username()[:64]  # as written: a TEXT item holds at most 64 here


def _documents(study: Study):
    return (
        Instance.objects.filter(series__study=study, sop_class_uid=KOS_SOP_CLASS)
        .select_related("series")
        .order_by("series__series_number", "series_id", "instance_number", "id")
    )


def _read(path) -> pydicom.Dataset:
    # pydicom's warnings can quote values (patient data): none reach the log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


@dataclass(frozen=True)
class _Reference:
    sop_instance_uid: str
    frames: tuple[int, ...]  # empty: the whole instance


@dataclass(frozen=True)
class _Parsed:
    """What a stored KOS says: its references in content order and who made it where."""

    references: list[_Reference] = field(default_factory=list)
    author: str = ""
    login: str = ""
    manufacturer: str = ""
    created: str = ""  # InstanceCreationDate + Time, to find the newest of one's own


def _references(dataset: pydicom.Dataset) -> _Parsed:
    """The document's references in content order, and the person observer's name and login."""
    found, author, login = [], "", ""
    for item in dataset.get("ContentSequence", []):
        kind = str(item.get("ValueType", ""))
        concept = item.get("ConceptNameCodeSequence")
        code = concept[0].get("CodeValue") if concept else None
        if kind == "PNAME" and code == _PERSON_OBSERVER_NAME:
            author = str(item.get("PersonName", ""))
        if kind == "TEXT" and code == _PERSON_OBSERVER_LOGIN:
            login = str(item.get("TextValue", ""))
        if kind not in ("IMAGE", "COMPOSITE") or not item.get("ReferencedSOPSequence"):
            continue
        ref = item.ReferencedSOPSequence[0]
        frames = ref.get("ReferencedFrameNumber")
        if frames is None or frames == "":
            numbers: tuple[int, ...] = ()
        elif isinstance(frames, int | str):
            numbers = (int(frames),)
        else:
            numbers = tuple(int(n) for n in frames)
        found.append(_Reference(str(ref.get("ReferencedSOPInstanceUID", "")), numbers))
    created = f"{dataset.get('InstanceCreationDate', '')}{dataset.get('InstanceCreationTime', '')}"
    return _Parsed(found, author, login, str(dataset.get("Manufacturer", "")), created)


def _parse(instance: Instance) -> _Parsed:
    try:
        return _references(_read(absolute_path(instance.file_path)))
    except Exception as exc:  # a damaged document shows as one with nothing in it
        logger.info("key images: document not read: %s", type(exc).__name__)
        return _Parsed()


def _is_own(instance: Instance, parsed: _Parsed, own_series: str, user) -> bool:
    """Whether the document is provably ``user``'s, made here: only such is ever replaced."""
    return (
        instance.series.series_uid == own_series
        and parsed.manufacturer == MANUFACTURER
        and parsed.login == _login(user)
    )


def _own_documents(user, study: Study) -> list[tuple[Instance, _Parsed]]:
    """``user``'s own documents of the study, oldest made first (the last is current):
    an older one retrieved back from a node must not become current again."""
    own_series = author_series_uid(study.study_uid, user)
    found = [
        (instance, parsed)
        for instance in _documents(study).filter(series__series_uid=own_series)
        if _is_own(instance, parsed := _parse(instance), own_series, user)
    ]
    # Same creation time (clock steps): the one stored last.
    return sorted(found, key=lambda pair: (pair[1].created, pair[0].id))


def read_document(instance: Instance, study: Study, mine: bool) -> KeyDocument:
    """A stored KOS with its references checked against the study's images."""
    return _checked(instance, study, _parse(instance), mine)


def _checked(instance: Instance, study: Study, parsed: _Parsed, mine: bool) -> KeyDocument:
    references = parsed.references
    images_here = {
        row[0]: row[1:]
        for row in Instance.objects.filter(
            series__study=study,
            rows__isnull=False,
            sop_instance_uid__in={r.sop_instance_uid for r in references},
        ).values_list("sop_instance_uid", "series__series_uid", "number_of_frames")
    }
    images, missing = [], 0
    for ref in references:
        here = images_here.get(ref.sop_instance_uid)
        if here is None:
            missing += max(1, len(ref.frames))
            continue
        series_uid, count = here[0], max(1, here[1] or 1)
        # No frame numbers on a multi-frame image: the whole image, every frame.
        for frame in ref.frames or range(1, count + 1):
            if 1 <= frame <= count:
                images.append(KeyImage(series_uid, ref.sop_instance_uid, frame))
            else:
                missing += 1
    return KeyDocument(
        sop_instance_uid=instance.sop_instance_uid,
        series_uid=instance.series.series_uid,
        author=parsed.author,
        mine=mine,
        images=images,
        missing=missing,
    )


def key_images(user, study: Study) -> StudyKeyImages:
    """The person's marks and every KOS document of the study, in series order."""
    own_series = author_series_uid(study.study_uid, user)
    result = StudyKeyImages()
    newest = None
    for instance in _documents(study):
        parsed = _parse(instance)
        mine = _is_own(instance, parsed, own_series, user)
        document = _checked(instance, study, parsed, mine)
        result.documents.append(document)
        if mine and (newest is None or (parsed.created, instance.id) > newest[0]):
            newest = ((parsed.created, instance.id), document)
    if newest is not None:
        result.mine = list(newest[1].images)
    return result


def mark(user, study: Study, sop_instance_uid: str, frame: int, key: bool) -> StudyKeyImages:
    """Mark (``key``) or unmark an image of the study for ``user``; the key images after.

    Raises ``KeyImageError`` for an instance that is not an image of the study or a
    frame it does not have.
    """
    instance = (
        Instance.objects.filter(
            series__study=study, sop_instance_uid=sop_instance_uid, rows__isnull=False
        )
        .select_related("series")
        .first()
    )
    if instance is None:
        raise KeyImageError("no such image in this study")
    if not 1 <= frame <= max(1, instance.number_of_frames or 1):
        raise KeyImageError("the image has no such frame")
    wanted = KeyImage(instance.series.series_uid, sop_instance_uid, frame)
    own_series = author_series_uid(study.study_uid, user)
    written = None
    try:
        with transaction.atomic():
            # One change to the study's key images at a time: two marks made at once must
            # not each replace the document the other is writing. No key: as the importer
            # locks it, so the study's new rows are not held up behind it.
            Study.objects.select_for_update(no_key=True).filter(pk=study.pk).first()
            own = _own_documents(user, study)
            marks = _checked(own[-1][0], study, own[-1][1], True).images if own else []
            if key == (wanted in marks):
                return key_images(user, study)
            marks = [*marks, wanted] if key else [m for m in marks if m != wanted]
            if marks:
                written = _store(user, study, marks, own_series)
            for old, _ in own:
                remove_instance(old.sop_instance_uid)  # its file goes once this commits
    except Exception:
        if written is not None:  # the rows rolled back: the new file must not stay alone
            written.unlink(missing_ok=True)
        raise
    return key_images(user, study)


def _store(user, study: Study, marks: list[KeyImage], series_uid: str) -> Path | None:
    """Store the new document; the path of the file written (None if it was there)."""
    content = build_document(user, study, marks, series_uid)
    try:
        parsed = parse_instance(content)
    except RejectedFile as exc:
        raise KeyImageError(f"the document was not accepted: {exc}") from exc
    outcome, reason = Importer(source_label="key images").store(parsed)
    if outcome not in (IMPORTED, PRESENT):
        raise KeyImageError(f"the document was not stored: {reason}")
    if outcome == PRESENT:
        return None
    row = Instance.objects.get(sop_instance_uid=parsed.sop_instance_uid)
    return absolute_path(row.file_path)


def _evidence(study: Study, marks: list[KeyImage]) -> dict[str, pydicom.Dataset]:
    rows = Instance.objects.filter(
        series__study=study, sop_instance_uid__in={m.sop_instance_uid for m in marks}
    )
    headers = {}
    for row in rows:
        try:
            headers[row.sop_instance_uid] = read_header(absolute_path(row.file_path))
        except Exception as exc:  # an unreadable image is left out of the document
            logger.info("key images: image header not read: %s", type(exc).__name__)
    return headers


def _encodable(text: str, charset) -> bool:
    """Whether ``text`` can be written in the study's character set as it is."""
    if not charset:
        return text.isascii()
    values = [charset] if isinstance(charset, str) else list(charset)
    for encoding in convert_encodings(values):
        try:
            text.encode(encoding)
            return True
        except (UnicodeError, LookupError):
            continue
    return False


def build_document(user, study: Study, marks: list[KeyImage], series_uid: str) -> bytes:
    """The Key Object Selection document of ``marks``, titled "Of Interest", by ``user``.

    Patient and study attributes come from the marked images' own headers (with their
    character set); referenced frame numbers are given for multi-frame images.
    """
    headers = _evidence(study, marks)
    marks = [m for m in marks if m.sop_instance_uid in headers]
    if not marks:
        raise KeyImageError("the marked images cannot be read")
    for header in headers.values():
        for keyword in _COPIED:
            if keyword not in header:
                setattr(header, keyword, "")
    first = headers[marks[0].sop_instance_uid]
    # highdicom copies the patient and study from the first evidence: the first marked.
    evidence = [first, *(h for uid, h in headers.items() if h is not first)]
    author = person_name(user)
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=author, login_name=_login(user)
        ),
    )
    content = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest,
        referenced_objects=[headers[m.sop_instance_uid] for m in marks],
        observer_person_context=observer,
    )
    images = [item for item in content[0].ContentSequence if item.ValueType == "IMAGE"]
    for item, m in zip(images, marks, strict=True):
        if int(headers[m.sop_instance_uid].get("NumberOfFrames", 1) or 1) > 1:
            item.ReferencedSOPSequence[0].ReferencedFrameNumber = m.frame
    charset = first.get("SpecificCharacterSet")
    wording = f"{author} {user.get_username()}"
    document = hd.ko.KeyObjectSelectionDocument(
        evidence=evidence,
        content=content,
        series_instance_uid=series_uid,
        series_number=KEY_SERIES_NUMBER,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        # The person's name may not fit the study's character set: then UTF-8 holds both.
        specific_character_set=charset if _encodable(wording, charset) else "ISO_IR 192",
    )
    document.SeriesDescription = KEY_SERIES_DESCRIPTION
    # To the microsecond: the newest of one's own documents is the current one.
    now = datetime.now()
    document.InstanceCreationDate = now.strftime("%Y%m%d")
    document.InstanceCreationTime = now.strftime("%H%M%S.%f")
    for keyword in ("IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence"):
        if keyword in first:
            setattr(document, keyword, first[keyword].value)
    buffer = io.BytesIO()
    document.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def current_document(user, study: Study) -> Instance | None:
    """The person's current KOS of the study, if they have marked any image."""
    own = _own_documents(user, study)
    return own[-1][0] if own else None
