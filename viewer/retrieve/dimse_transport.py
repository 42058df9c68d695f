"""DIMSE transport: C-GET one instance at a time over a pool of associations, or C-MOVE.

C-GET sends the instance back over our own association, so it needs nothing from the
node's configuration; C-MOVE needs the node to know our AE title and our SCP to be
listening, and the instance is matched to its task by its UID in the archive.
"""

import threading
from pathlib import Path

from django.conf import settings

from viewer.archive.models import Instance
from viewer.archive.parsing import ParsedInstance
from viewer.archive.storage import absolute_path
from viewer.nodes import scu
from viewer.nodes.errors import NODE, TransferError
from viewer.nodes.models import RemoteNode

from .transports import Attempt, InstanceRef, checked

# Statuses after which the instance will not come however often we ask.
_FINAL = {0xA900, 0xA801, 0x0122, 0xC000}


class _Slot:
    """One association and the place its C-STORE handler drops what arrives."""

    def __init__(self, node: RemoteNode) -> None:
        self.received: list[bytes] = []
        self.assoc, failure = scu.open_get_association(node, self._store)
        if failure is not None:
            # Refused, rejected or aborted before a request was made: the node's state.
            raise TransferError(failure.message, kind=NODE)

    def _store(self, event) -> int:
        try:
            self.received.append(event.encoded_dataset())
        except Exception:
            return 0xC000  # could not be re-encoded: the attempt fails below
        return 0x0000


class DimseTransport:
    """Fetch instances with C-GET (one association per node slot the job holds, released
    when the slot is given back) or C-MOVE to our SCP."""

    def __init__(self, node: RemoteNode, part_folder: Path) -> None:
        self.node = node
        self._slots: dict[int, _Slot] = {}
        self._lock = threading.Lock()

    def fetch(self, ref: InstanceRef, attempt: Attempt) -> ParsedInstance:
        """Retrieve one instance and return it checked."""
        if self.node.retrieve_method == RemoteNode.C_MOVE:
            return self._move(ref)
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

    def _move(self, ref: InstanceRef) -> ParsedInstance:
        outcome = scu.move(
            self.node,
            settings.PACSWEB_AE_TITLE,
            ref.study_uid,
            ref.series_uid,
            ref.sop_instance_uid,
        )
        # Our SCP stored and indexed the instance before it answered the node's C-STORE,
        # so the archive is where the arrival is matched to this task.
        stored = Instance.objects.filter(sop_instance_uid=ref.sop_instance_uid).first()
        if stored is None:
            raise _failure("C-MOVE", outcome)
        try:
            return checked(absolute_path(stored.file_path).read_bytes(), ref)
        except OSError as exc:
            raise TransferError(f"the moved instance cannot be read back: {exc.strerror}") from exc

    def _association(self, number: int) -> _Slot:
        """Node slot ``number``'s association, opened anew if the node dropped it."""
        with self._lock:
            slot = self._slots.get(number)
        if slot is not None and slot.assoc.is_established:
            return slot
        slot = _Slot(self.node)
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
        """Nothing to tidy: DIMSE keeps no part files."""

    def close(self) -> None:
        """Release every association."""
        with self._lock:
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            if slot.assoc.is_established:
                slot.assoc.release()


def _failure(service: str, outcome: scu.RetrieveOutcome) -> TransferError:
    if outcome.code is None:
        # No final status at all: the association failed, was aborted or timed out.
        return TransferError(f"{service} brought nothing: {outcome.status}", kind=NODE)
    if outcome.code == 0x0000 and outcome.completed == 0 and outcome.failed == 0:
        return TransferError(f"the node has no such instance ({service})", retryable=False)
    # Out of resources (A7xx) or a failed sub-operation: this instance, worth asking again.
    return TransferError(
        f"{service} brought nothing: {outcome.status}", retryable=outcome.code not in _FINAL
    )
