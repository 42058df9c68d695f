"""Our SCP's DIMSE provider: a query's C-FIND responses share one encoded command set,
each small response goes in one PDU, a C-STORE's response is encoded directly, and a
message is served as soon as it is whole."""

import logging
import queue
import struct

from pynetdicom import evt
from pynetdicom._handlers import standard_dimse_sent_handler
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import _COMMAND_SET_KEYWORDS, C_FIND_RSP, DIMSEMessage
from pynetdicom.dimse_primitives import C_FIND, C_STORE
from pynetdicom.pdu_primitives import P_DATA

# The logger pynetdicom's standard handlers write to.
_LOGGER = logging.getLogger(standard_dimse_sent_handler.__module__)

# What a C-FIND-RSP's command set is made of; the primitive has no value for the rest.
_FIND_RSP_KEYWORDS = _COMMAND_SET_KEYWORDS["C-FIND-RSP"]

# How long the association's thread waits for a message before its own checks (a
# release or abort from the peer); it wakes as soon as a message is whole.
MESSAGE_WAIT_SECONDS = 0.005

# PS3.8 E.2, the Message Control Header of a data set fragment: last or not; and of a
# whole command set.
_DATA_SET_FRAGMENT, _LAST_DATA_SET_FRAGMENT = b"\x00", b"\x02"
_WHOLE_COMMAND = b"\x03"
# PS3.7 9.3.1.2: a C-STORE-RSP's Command Field, and "no data set" in Command Data Set Type.
_C_STORE_RSP, _NO_DATA_SET = 0x8001, 0x0101


class ScpDIMSEProvider(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider for our SCP: a C-FIND's response command set encoded
    once, and a whole message handed to the association without waiting for its nap.

    pynetdicom builds each response's command set as a pydicom Dataset and encodes it
    twice (its group length, then the message): most of a match's time on our side,
    though every pending response of a query has the same command set. Here it is
    built once per query and status, and sent with the identifier in one PDU when both
    fit. Other messages are pynetdicom's own.
    """

    def __init__(self, assoc) -> None:
        super().__init__(assoc)
        self._find_response: tuple[tuple, C_FIND_RSP, list[bytes]] | None = None

    def get_msg(self, block: bool = False):
        """The next whole message. The association's reactor asks without blocking after
        each 1 ms nap, so a message waited for the end of one; here that ask waits a
        little on the queue instead, and is woken by the message."""
        if block:
            return super().get_msg(block=True)
        try:
            return self.msg_queue.get(timeout=MESSAGE_WAIT_SECONDS)
        except queue.Empty:
            return None, None

    def send_msg(self, primitive, context_id: int) -> None:
        """Send a DIMSE message; a C-FIND response with an identifier reuses its command,
        and a plain C-STORE response is encoded directly."""
        if isinstance(primitive, C_STORE) and (command := c_store_rsp_command(primitive)):
            if not self._announced():
                self._send_fragments(context_id, _WHOLE_COMMAND + command)
                return
        if (
            not isinstance(primitive, C_FIND)
            or primitive.MessageIDBeingRespondedTo is None
            or primitive.Identifier is None
            or not (data_set := primitive.Identifier.getvalue())
        ):
            super().send_msg(primitive, context_id)
            return
        max_pdu = self.maximum_pdu_size
        message, command = self._command(primitive, context_id, max_pdu)
        message.data_set = primitive.Identifier
        if self._announced():
            evt.trigger(self.assoc, evt.EVT_DIMSE_SENT, {"message": message})
        # PS3.8 9.3.5 lets one P-DATA-TF carry several PDVs: a small response goes as
        # its command and its identifier in one PDU (as dcm4che's packPDV does), half
        # the PDUs for the DUL thread to encode and send.
        # Each PDV item adds its length (4 bytes), context ID and Message Control Header.
        packed = len(command[0]) + 1 + len(data_set) + 2 * 5
        if len(command) == 1 and (not max_pdu or packed <= max_pdu):
            self._send_fragments(context_id, command[0], _LAST_DATA_SET_FRAGMENT + data_set)
            return
        for fragment in command:
            self._send_fragments(context_id, fragment)
        # Fragmented as pynetdicom does (each fragment fits a PDU); the last one marked.
        fragments = list(DIMSEMessage._generate_pdv_fragments(data_set, max_pdu))
        for fragment in fragments[:-1]:
            self._send_fragments(context_id, _DATA_SET_FRAGMENT + fragment)
        self._send_fragments(context_id, _LAST_DATA_SET_FRAGMENT + fragments[-1])

    def _command(self, primitive: C_FIND, context_id: int, max_pdu: int):
        """The response message and its command set's fragments, made once a query."""
        key = (context_id, max_pdu, *(getattr(primitive, kw, None) for kw in _FIND_RSP_KEYWORDS))
        if self._find_response is None or self._find_response[0] != key:
            message = C_FIND_RSP()
            message.primitive_to_message(primitive)
            message.context_id = context_id
            # The command set alone: pynetdicom encodes it first, then the data set.
            identifier, message.data_set = message.data_set, None
            command = [
                pdata.presentation_data_value_list[0][1]
                for pdata in message.encode_msg(context_id, max_pdu)
            ]
            message.data_set = identifier
            self._find_response = (key, message, command)
        return self._find_response[1], self._find_response[2]

    def _announced(self) -> bool:
        """Whether EVT_DIMSE_SENT has a handler with work to do: pynetdicom's standard
        one only writes DEBUG lines, which it formats for every response."""
        handlers = [handler for handler, _ in self.assoc.get_handlers(evt.EVT_DIMSE_SENT)]
        return handlers != [standard_dimse_sent_handler] or _LOGGER.isEnabledFor(logging.DEBUG)

    def _send_fragments(self, context_id: int, *fragments: bytes) -> None:
        """One P-DATA-TF PDU holding ``fragments``, each with its Message Control Header."""
        pdata = P_DATA()
        for fragment in fragments:
            pdata.presentation_data_value_list.append((context_id, fragment))
        self.dul.send_pdu(pdata)


def c_store_rsp_command(primitive: C_STORE) -> bytes | None:
    """The C-STORE-RSP command set of ``primitive`` in Implicit VR Little Endian, as
    pynetdicom encodes it; None for a request, or a response with an Offending Element or
    Error Comment (pynetdicom encodes those).

    pynetdicom builds it as a pydicom Dataset and encodes it twice (its group length,
    then the message): a tenth of a stored image's time in our SCP's threads.
    """
    values = (
        primitive.MessageIDBeingRespondedTo,
        primitive.AffectedSOPClassUID,
        primitive.AffectedSOPInstanceUID,
        primitive.Status,
    )
    if any(value is None for value in values) or primitive.OffendingElement:
        return None
    if primitive.ErrorComment:
        return None
    message_id, sop_class_uid, sop_instance_uid, status = values
    elements = b"".join(
        (
            _element(0x0002, _uid(sop_class_uid)),
            _element(0x0100, struct.pack("<H", _C_STORE_RSP)),
            _element(0x0120, struct.pack("<H", message_id)),
            _element(0x0800, struct.pack("<H", _NO_DATA_SET)),
            _element(0x0900, struct.pack("<H", status)),
            _element(0x1000, _uid(sop_instance_uid)),
        )
    )
    return _element(0x0000, struct.pack("<I", len(elements))) + elements


def _element(element: int, value: bytes) -> bytes:
    """A command element of group 0000, Implicit VR Little Endian."""
    return struct.pack("<HHI", 0x0000, element, len(value)) + value


def _uid(uid: str) -> bytes:
    """A UI value: ASCII, padded to an even length with a NUL."""
    value = str(uid).encode("ascii")
    return value + b"\x00" if len(value) % 2 else value
