"""DIMSE transport: C-GET one instance at a time, or C-MOVE a few of one series at once,
over a pool of associations.

C-GET sends the instance back over our own association, so it needs nothing from the
node's configuration. C-MOVE needs the node to know our AE title as a destination and
our SCP to be listening. Our SCP in this process hands each instance a C-MOVE waits for
to it as a part file (``arrivals``), checked and stored like a C-GET's; one our SCP
stored itself (it runs in another process) is matched to its task by its archive row
and never read back. A C-MOVE names up to ``PACSWEB_MOVE_BATCH`` instances (list-of-UID
matching), so the node opens one store association for them, not one each.
"""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from pynetdicom.status import Status

from viewer.archive.importer import IMPORTED, PRESENT, Importer
from viewer.archive.models import Instance
from viewer.archive.parsing import ParsedInstance, parse_file
from viewer.nodes import arrivals, scu
from viewer.nodes.errors import NODE, TransferError
from viewer.nodes.handlers import (
    CANNOT_UNDERSTAND,
    IDENTIFIER_DOES_NOT_MATCH,
    SOP_CLASS_NOT_SUPPORTED,
    UNABLE_TO_PROCESS,
)
from viewer.nodes.models import RemoteNode

from .transports import Attempt, InstanceRef, checked, checked_file

logger = logging.getLogger(__name__)

# Statuses after which the instance will not come however often we ask.
_FINAL = {
    IDENTIFIER_DOES_NOT_MATCH,
    Status.MOVE_DESTINATION_UNKNOWN,
    SOP_CLASS_NOT_SUPPORTED,
    UNABLE_TO_PROCESS,
}
# ``scu.associate``'s words for an A-ASSOCIATE-RJ of our calling AE title.
_CALLING_AE_REFUSED = "calling AE title not recognised"


@dataclass(frozen=True)
class AlreadyStored:
    """An instance our SCP stored and indexed while the node moved it: nothing to import."""

    sop_instance_uid: str
    size: int


class _Slot:
    """One association; for C-GET also the place its C-STORE handler drops what arrives."""

    def __init__(self, node: RemoteNode, move: bool) -> None:
        self.received: list[bytes] = []
        if move:
            self.assoc, failure = scu.open_move_association(node)
        else:
            self.assoc, failure = scu.open_get_association(node, self._store)
        if failure is None:
            return
        if move and _CALLING_AE_REFUSED in failure.message:
            # Every association will be refused alike until the node is configured.
            raise TransferError(_unknown_to_node(node, failure.message), retryable=False)
        # Refused, rejected or aborted before a request was made: the node's state.
        raise TransferError(failure.message, kind=NODE)

    def _store(self, event) -> int:
        try:
            self.received.append(event.encoded_dataset())
        except Exception:
            return CANNOT_UNDERSTAND  # could not be re-encoded: the attempt fails below
        return Status.SUCCESS


class DimseTransport:
    """Fetch instances with C-GET or C-MOVE over one association per node slot the job
    holds, kept for the job's requests and released when the slot is given back."""

    def __init__(self, node: RemoteNode, part_folder: Path) -> None:
        self.node = node
        self.part_folder = part_folder
        self._moves = node.retrieve_method == RemoteNode.C_MOVE
        self._slots: dict[int, _Slot] = {}
        self._lock = threading.Lock()
        # Once the node has refused us as a move destination, the job's other instances
        # fail at once with the same words instead of each asking the node again.
        self._refusal: str | None = None
        self._moved = False  # a C-MOVE has brought an instance: the node knows us
        # Instances the engine may hand one fetch (fetch_many); 1 once the node has
        # shown it does not match a list of UIDs.
        self.batch = settings.PACSWEB_MOVE_BATCH if self._moves else 1

    def fetch(self, ref: InstanceRef, attempt: Attempt) -> ParsedInstance | AlreadyStored:
        """Retrieve one instance: checked and parsed (C-GET; C-MOVE to our SCP in this
        process), or already in the archive (C-MOVE stored by our SCP elsewhere)."""
        if self._moves:
            return self._move(ref, attempt)
        slot = self._association(attempt.slot)
        slot.received.clear()
        try:
            outcome = scu.send_get(slot.assoc, ref.study_uid, ref.series_uid, ref.sop_instance_uid)
        except RuntimeError as exc:
            # The kept association went while it was idle (reset, aborted by the peer).
            raise TransferError(f"the node dropped the association ({exc})", kind=NODE) from exc
        if not slot.received:
            raise _failure("C-GET", outcome)
        content = slot.received[0]
        if attempt.on_bytes is not None:
            attempt.on_bytes(len(content))
        return checked(content, ref)

    def _move(self, ref: InstanceRef, attempt: Attempt) -> ParsedInstance | AlreadyStored:
        outcome, arrived = self._moved_here([ref], [attempt])
        if ref.sop_instance_uid not in arrived:
            raise self._move_failure(outcome)
        result = arrived[ref.sop_instance_uid]
        if isinstance(result, TransferError):
            raise result
        return result

    def _moved_here(
        self, refs: list[InstanceRef], attempts: list[Attempt]
    ) -> tuple[scu.RetrieveOutcome, dict[str, ParsedInstance | AlreadyStored | TransferError]]:
        """One C-MOVE of ``refs`` (one series): its outcome, and what came of each that
        arrived, by SOP Instance UID (absent: it did not come)."""
        uids = [ref.sop_instance_uid for ref in refs]
        with arrivals.expecting(uids, self.part_folder, self.node.ae_title) as expected:
            outcome = self._request_move(refs[0], attempts[0], uids if len(uids) > 1 else uids[0])
        handed = expected.arrived()
        rows = self._arrived([ref for ref in refs if ref.sop_instance_uid not in handed])
        results: dict[str, ParsedInstance | AlreadyStored | TransferError] = {}
        for ref, attempt in zip(refs, attempts, strict=True):
            uid = ref.sop_instance_uid
            if uid in handed:
                results[uid] = self._handed(ref, attempt, handed[uid])
            elif uid in rows:
                results[uid] = self._as_stored(ref, attempt, rows[uid])
        return outcome, results

    def _handed(
        self, ref: InstanceRef, attempt: Attempt, path: Path
    ) -> ParsedInstance | TransferError:
        """An instance our SCP handed over as it came: checked like a C-GET's."""
        self._moved = True
        if attempt.on_bytes is not None:
            attempt.on_bytes(path.stat().st_size)
        try:
            return checked_file(path, ref)
        except TransferError as exc:
            _keep_as_sent(path)
            return exc

    def _request_move(
        self, ref: InstanceRef, attempt: Attempt, sop_instance_uids: str | list[str]
    ) -> scu.RetrieveOutcome:
        """One C-MOVE request over the slot's association (instances of ``ref``'s series)."""
        if self._refusal is not None:
            raise TransferError(self._refusal, retryable=False)
        try:
            slot = self._association(attempt.slot)
        except TransferError as exc:
            if not exc.retryable:
                self._refusal = str(exc)
            raise
        try:
            return scu.send_move(
                slot.assoc,
                settings.PACSWEB_AE_TITLE,
                ref.study_uid,
                ref.series_uid,
                sop_instance_uids,
            )
        except RuntimeError as exc:
            raise TransferError(f"the node dropped the association ({exc})", kind=NODE) from exc

    @staticmethod
    def _arrived(refs: list[InstanceRef]) -> dict[str, tuple[str, str, int]]:
        """The archive rows of those ``refs`` that are here: series, study and size by SOP
        Instance UID. Our SCP stored and indexed each before it answered the node's
        C-STORE, so the row is the arrival."""
        rows = Instance.objects.filter(
            sop_instance_uid__in=[ref.sop_instance_uid for ref in refs]
        ).values_list(
            "sop_instance_uid", "series__series_uid", "series__study__study_uid", "file_size"
        )
        return {sop: (series, study, size) for sop, series, study, size in rows}

    def _as_stored(
        self, ref: InstanceRef, attempt: Attempt, row: tuple[str, str, int]
    ) -> AlreadyStored | TransferError:
        series_uid, study_uid, size = row
        if (study_uid, series_uid) != (ref.study_uid, ref.series_uid):
            return TransferError(
                "the node sent an instance of another series or study than the one asked for",
                retryable=False,
            )
        self._moved = True
        if attempt.on_bytes is not None:
            attempt.on_bytes(size)
        return AlreadyStored(ref.sop_instance_uid, size)

    def fetch_many(
        self, refs: list[InstanceRef], attempts: list[Attempt]
    ) -> list[ParsedInstance | AlreadyStored | TransferError]:
        """C-MOVE several instances of one series in one request (all in one slot): each
        one's arrival, or why it did not come. One the node left out is asked for on its
        own, so its failure is its own."""
        if len(refs) == 1 or not self._moves:
            return [
                self._outcome_of(self.fetch, ref, a) for ref, a in zip(refs, attempts, strict=True)
            ]
        try:
            outcome, arrived = self._moved_here(refs, attempts)
        except TransferError as exc:
            return [exc for _ in refs]
        if not arrived and outcome.code is None and not outcome.aborted_by_peer:
            # No status at all (the association failed or timed out): the node's state,
            # not each instance's; asking each alone would reopen it once an instance.
            return [_failure("C-MOVE", outcome) for _ in refs]
        if not arrived and outcome.code == Status.MOVE_DESTINATION_UNKNOWN:
            # The node will not move to us: said once. (An abort is asked again alone: a
            # node may abort a list it does not take, and that says nothing of our AE.)
            failure = self._move_failure(outcome)
            return [failure for _ in refs]
        results: list[ParsedInstance | AlreadyStored | TransferError] = []
        came_alone = False
        for ref, attempt in zip(refs, attempts, strict=True):
            if ref.sop_instance_uid in arrived:
                results.append(arrived[ref.sop_instance_uid])
            else:
                results.append(self._outcome_of(self._move, ref, attempt))
                came_alone = came_alone or not isinstance(results[-1], TransferError)
        if came_alone and (not arrived or outcome.ok):
            # Left out of a list the node said it moved (or brought nothing for), yet it
            # came alone: the node does not match a list of UIDs (or only its first).
            self.batch = 1
        return results

    @staticmethod
    def _outcome_of(fetch, ref: InstanceRef, attempt: Attempt):
        try:
            return fetch(ref, attempt)
        except TransferError as exc:
            return exc

    def _move_failure(self, outcome: scu.RetrieveOutcome) -> TransferError:
        """Why a C-MOVE brought nothing; a node that will not move to us is said once."""
        refused = outcome.code == Status.MOVE_DESTINATION_UNKNOWN or (
            # Orthanc aborts a C-MOVE from an AE title it does not know. Once a move has
            # worked the node knows us, and an abort is the node's trouble.
            outcome.aborted_by_peer and not self._moved
        )
        if refused:
            reason = (
                outcome.status
                if outcome.code is not None
                else "the node aborted the association in answer to our C-MOVE request"
            )
            self._refusal = _unknown_to_node(self.node, reason)
            return TransferError(self._refusal, retryable=False)
        hint = ""
        if outcome.completed == 0:
            # Nothing reached our SCP: the node's entry for us is the likely cause.
            hint = (
                f"; nothing reached our SCP: check that the node has "
                f"{settings.PACSWEB_AE_TITLE} as a move destination with this server's "
                f"address and port {settings.PACSWEB_DICOM_PORT}, and that our SCP runs"
            )
        return _failure("C-MOVE", outcome, hint)

    def _association(self, number: int) -> _Slot:
        """Node slot ``number``'s association, opened anew if the node dropped it."""
        with self._lock:
            slot = self._slots.get(number)
        if slot is not None and slot.assoc.is_established:
            return slot
        slot = _Slot(self.node, self._moves)
        with self._lock:
            self._slots[number] = slot
        return slot

    def release(self, number: int) -> None:
        """Release the association of a slot the job gives back."""
        with self._lock:
            slot = self._slots.pop(number, None)
        if slot is not None and slot.assoc.is_established:
            slot.assoc.release()

    def done(self, ref: InstanceRef) -> None:
        """The instance is in the archive: a moved part file left behind goes."""
        (self.part_folder / f"{ref.sop_instance_uid}.moved").unlink(missing_ok=True)

    def close(self) -> None:
        """Release every association."""
        with self._lock:
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            if slot.assoc.is_established:
                slot.assoc.release()


def _keep_as_sent(path: Path) -> None:
    """A handed file that is not the instance asked for was answered with success: it
    is filed as our SCP would have filed it (a refusal is logged), not dropped."""
    try:
        outcome, reason = Importer(source_label="c-store").store_file(path, parse_file(path))
    except Exception:  # noqa: BLE001 - unreadable: the SCP would have refused it
        outcome, reason = "unreadable", "not a whole DICOM instance"
    if outcome not in (IMPORTED, PRESENT):
        logger.warning("a moved instance that was not the one asked for was not kept: %s", reason)
    path.unlink(missing_ok=True)


def _failure(service: str, outcome: scu.RetrieveOutcome, hint: str = "") -> TransferError:
    if outcome.code is None:
        # No final status at all: the association failed, was aborted or timed out.
        return TransferError(f"{service} brought nothing: {outcome.status}{hint}", kind=NODE)
    if outcome.code == Status.SUCCESS and outcome.completed == 0 and outcome.failed == 0:
        return TransferError(f"the node has no such instance ({service})", retryable=False)
    # Out of resources (A7xx) or a failed sub-operation: this instance, worth asking again.
    return TransferError(
        f"{service} brought nothing: {outcome.status}{hint}", retryable=outcome.code not in _FINAL
    )


def _unknown_to_node(node: RemoteNode, reason: str) -> str:
    """The words for a node that will not move instances to us, and what to do."""
    destination = settings.PACSWEB_AE_TITLE
    calling = node.our_ae_title
    also = f" (and {calling} as a calling AE title)" if calling != destination else ""
    return (
        f"the node does not know our AE title {destination} as a move destination{also} "
        f"({reason}): add {destination} with this server's address and port "
        f"{settings.PACSWEB_DICOM_PORT} on the node, or retrieve from it by C-GET"
    )
