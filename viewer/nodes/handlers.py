"""Our SCP's event handlers, bound as ``(evt, handler, [args])``; statuses are named."""

import logging
import threading

from django.db import close_old_connections
from pydicom.dataset import Dataset

from viewer.archive.importer import IMPORTED, PRESENT, Importer
from viewer.archive.parsing import RejectedFile, parse_instance
from viewer.audit.models import AuditEvent, record

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Storage: Refused, out of resources
CANNOT_UNDERSTAND = 0xC000  # Storage: Error, cannot understand
PROCESSING_FAILURE = 0x0110


class ReceivedStudies:
    """Study UIDs received per association, for one audit event each at its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_association: dict[int, tuple[str, set[str]]] = {}

    def add(self, assoc, study_uid: str) -> None:
        """Note that ``assoc`` delivered an instance of ``study_uid``."""
        calling = assoc.requestor.ae_title
        with self._lock:
            self._by_association.setdefault(id(assoc), (calling, set()))[1].add(study_uid)

    def pop(self, assoc) -> tuple[str, set[str]]:
        """Forget and return what ``assoc`` delivered."""
        with self._lock:
            return self._by_association.pop(id(assoc), ("", set()))


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # LO
    return status


def handle_store(event, received: ReceivedStudies) -> Dataset:
    """C-STORE: check, write atomically and index before answering success.

    A duplicate is answered with success and not stored twice; a malformed data set
    gets a failure status with the reason and nothing is stored.
    """
    try:
        content = event.encoded_dataset()
        parsed = parse_instance(content)
    except RejectedFile as exc:
        logger.info("C-STORE refused: %s", exc)
        return _status(CANNOT_UNDERSTAND, str(exc))
    except Exception as exc:  # a data set pynetdicom cannot even re-encode
        logger.info("C-STORE refused: %s", type(exc).__name__)
        return _status(CANNOT_UNDERSTAND, "malformed data set")
    close_old_connections()
    try:
        outcome, reason = Importer(source_label="c-store").store(parsed)
    except Exception:
        logger.exception("C-STORE could not be stored")
        return _status(OUT_OF_RESOURCES, "the archive could not store the instance")
    finally:
        close_old_connections()
    if outcome in (IMPORTED, PRESENT):
        received.add(event.assoc, parsed.study_uid)
        return _status(SUCCESS)
    logger.info("C-STORE refused: %s", reason)
    return _status(OUT_OF_RESOURCES if "write" in reason else CANNOT_UNDERSTAND, reason)


def handle_echo(event) -> int:
    """C-ECHO: always success."""
    return SUCCESS


def handle_association_end(event, received: ReceivedStudies) -> None:
    """Audit the studies an association delivered, once it is released or aborted."""
    calling, studies = received.pop(event.assoc)
    if not studies:
        return
    close_old_connections()
    try:
        for study_uid in sorted(studies):
            record(
                AuditEvent.IMPORTED,
                username=f"AE {calling}",
                study_uid=study_uid,
                detail=f"C-STORE from {calling} at {event.assoc.requestor.address}",
            )
    finally:
        close_old_connections()
