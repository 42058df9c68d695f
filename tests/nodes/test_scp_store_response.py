"""Our SCP's C-STORE responses, encoded directly: byte for byte pynetdicom's encoding, and
pynetdicom's own path wherever the response carries more than a status."""

import pytest
from pydicom.uid import CTImageStorage, MRImageStorage, generate_uid
from pynetdicom.dimse_messages import C_STORE_RSP
from pynetdicom.dimse_primitives import C_STORE

from viewer.nodes.dimse import c_store_rsp_command


def response(message_id: int, sop_class_uid: str, sop_instance_uid: str, status: int) -> C_STORE:
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.AffectedSOPClassUID = sop_class_uid
    primitive.AffectedSOPInstanceUID = sop_instance_uid
    primitive.Status = status
    return primitive


def pynetdicom_command(primitive: C_STORE) -> bytes:
    message = C_STORE_RSP()
    message.primitive_to_message(primitive)
    (pdata,) = message.encode_msg(1, 0)
    ((_, fragment),) = pdata.presentation_data_value_list
    assert fragment[:1] == b"\x03"  # a whole command set, last fragment
    return fragment[1:]


@pytest.mark.parametrize(
    "message_id, sop_class_uid, sop_instance_uid, status",
    [
        (1, CTImageStorage, "1.2.3.4", 0x0000),  # even-length UIDs
        (65535, MRImageStorage, "1.2.3.45", 0xB000),  # an odd one, a warning status
        (7, CTImageStorage, generate_uid(), 0xA700),
        (300, "1.2.840.10008.5.1.4.1.1.7", generate_uid(prefix="1.2.826.0.1."), 0xC000),
    ],
)
def test_it_encodes_a_c_store_response_as_pynetdicom_does(
    message_id, sop_class_uid, sop_instance_uid, status
):
    primitive = response(message_id, sop_class_uid, sop_instance_uid, status)
    assert c_store_rsp_command(primitive) == pynetdicom_command(primitive)


def test_a_response_with_an_error_comment_is_left_to_pynetdicom():
    primitive = response(1, CTImageStorage, "1.2.3.4", 0xC000)
    primitive.ErrorComment = "malformed data set"
    assert c_store_rsp_command(primitive) is None


def test_a_response_with_an_offending_element_is_left_to_pynetdicom():
    primitive = response(1, CTImageStorage, "1.2.3.4", 0xC000)
    primitive.OffendingElement = [0x00100010]
    assert c_store_rsp_command(primitive) is None


def test_a_c_store_request_is_left_to_pynetdicom():
    # Our SCP sends requests too, for a C-GET.
    primitive = C_STORE()
    primitive.MessageID = 1
    primitive.AffectedSOPClassUID = CTImageStorage
    primitive.AffectedSOPInstanceUID = "1.2.3.4"
    assert c_store_rsp_command(primitive) is None
