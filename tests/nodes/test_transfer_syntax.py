"""What a node is asked for: the per-node choice, the WADO Accept/params, the C-GET contexts."""

import logging

import pytest
from django.core.exceptions import ValidationError

from viewer.nodes.dicomweb import (
    WADO_RS_ACCEPT,
    as_stored,
    instance_url,
    note_refusal,
    wado_rs_accept,
)
from viewer.nodes.models import LOSSLESS_COMPRESSED, RemoteNode
from viewer.nodes.scu import COMMON_CLASSES, MAX_CONTEXTS, PIXEL_CLASSES, storage_contexts
from viewer.nodes.validators import validate_transfer_syntax_uid

JPEG_LS = "1.2.840.10008.1.2.4.80"
CT = "1.2.840.10008.5.1.4.1.1.2"


def web_node(method=RemoteNode.WADO_RS, **fields) -> RemoteNode:
    return RemoteNode(
        name="web",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url="http://pacs/dicom-web",
        retrieve_method=method,
        **fields,
    )


def test_it_asks_for_lossless_compressed_by_default():
    assert web_node().wanted_transfer_syntaxes() == LOSSLESS_COMPRESSED
    assert LOSSLESS_COMPRESSED[0] == JPEG_LS


def test_it_asks_for_nothing_in_particular_as_stored():
    assert web_node(ask_for=RemoteNode.AS_STORED).wanted_transfer_syntaxes() == ()


def test_it_asks_for_the_explicit_syntax_alone():
    node = web_node(ask_for=RemoteNode.EXPLICIT, transfer_syntax_uid="1.2.840.10008.1.2.4.90")
    assert node.wanted_transfer_syntaxes() == ("1.2.840.10008.1.2.4.90",)


def test_it_asks_as_stored_once_the_node_refused():
    node = web_node()
    node.compression_refused = True
    assert node.wanted_transfer_syntaxes() == ()


def test_it_needs_the_uid_of_an_explicit_syntax():
    node = web_node(ask_for=RemoteNode.EXPLICIT)
    with pytest.raises(ValidationError) as caught:
        node.clean()
    assert "transfer_syntax_uid" in caught.value.message_dict


@pytest.mark.parametrize(
    "value, words",
    [
        ("1.2.840.10008.1.2.4.080", "no component starting with 0"),
        ("JPEG-LS", "digits and dots"),
        ("1." + "2" * 70, "up to 64"),
        ("1.2.840.10008.5.1.4.1.1.2", "not a known transfer syntax"),  # a SOP class
        # Regression: an explicit lossy syntax made every retrieved study lossy for all.
        ("1.2.840.10008.1.2.4.50", "may lose pixel values"),  # JPEG baseline
        ("1.2.840.10008.1.2.4.91", "may lose pixel values"),  # JPEG 2000
        ("1.2.840.10008.1.2.4.81", "may lose pixel values"),  # JPEG-LS near-lossless
    ],
)
def test_it_refuses_what_is_no_transfer_syntax_uid(value, words):
    with pytest.raises(ValidationError, match=words):
        validate_transfer_syntax_uid(value)


def test_it_takes_a_known_transfer_syntax_uid():
    validate_transfer_syntax_uid(JPEG_LS)
    validate_transfer_syntax_uid("")  # blank: as stored or lossless need none


def test_it_ranks_the_accept_with_q_values_and_the_best_last():
    accept = wado_rs_accept(LOSSLESS_COMPRESSED)
    ranges = [item.strip() for item in accept.split(",")]
    assert ranges[0] == f"{WADO_RS_ACCEPT}; q=0.1"
    assert [r.split("transfer-syntax=")[1].split(";")[0] for r in ranges] == [
        "*",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.90",
        JPEG_LS,
    ]
    qualities = [float(r.split("q=")[1]) if "q=" in r else 1.0 for r in ranges]
    assert qualities == sorted(qualities) and qualities[-1] == 1.0


def test_it_asks_as_stored_alone_when_nothing_is_wanted():
    assert wado_rs_accept(()) == WADO_RS_ACCEPT


def test_it_puts_the_best_syntax_in_a_wado_uri_request():
    url, _ = instance_url(web_node(RemoteNode.WADO_URI), "1.2", "1.3", "1.4")
    assert f"transferSyntax={JPEG_LS}" in url and "contentType=application/dicom" in url
    url, _ = instance_url(
        web_node(RemoteNode.WADO_URI, ask_for=RemoteNode.AS_STORED), "1", "2", "3"
    )
    assert "transferSyntax" not in url


def test_it_makes_the_same_request_as_stored():
    node = web_node(RemoteNode.WADO_URI)
    url, accept = instance_url(node, "1.2", "1.3", "1.4")
    plain_url, plain_accept = as_stored(url, accept)
    assert "transferSyntax" not in plain_url and "contentType=application/dicom" in plain_url
    assert "objectUID=1.4" in plain_url and plain_accept == accept
    rs_url, rs_accept = instance_url(web_node(), "1.2", "1.3", "1.4")
    assert as_stored(rs_url, rs_accept) == (rs_url, WADO_RS_ACCEPT)
    assert as_stored(rs_url, WADO_RS_ACCEPT) is None  # nothing to fall back from


def test_it_remembers_a_refusal_for_the_job_and_says_so_once(caplog):
    node = web_node()
    with caplog.at_level(logging.WARNING, logger="viewer.nodes.dicomweb"):
        note_refusal(node, 406)
        note_refusal(node, 406)
    assert node.compression_refused
    assert len(caplog.records) == 1 and "as stored for the rest of this job" in caplog.text


def test_it_does_not_remember_an_instance_that_could_not_be_transcoded():
    node = web_node()
    note_refusal(node, 500)
    assert not node.compression_refused


def test_it_proposes_each_lossless_syntax_as_its_own_context_first():
    contexts = storage_contexts(LOSSLESS_COMPRESSED)
    ct = [syntaxes for sop_class, syntaxes in contexts if sop_class == CT]
    assert ct[:3] == [[uid] for uid in LOSSLESS_COMPRESSED]
    assert "1.2.840.10008.1.2.1" in ct[3] and JPEG_LS in ct[3]  # then anything, as stored


def test_it_stays_within_pynetdicoms_context_limit():
    for wanted in (LOSSLESS_COMPRESSED, (JPEG_LS,), ()):
        assert len(storage_contexts(wanted)) <= MAX_CONTEXTS - 1  # one is the C-GET's


def test_it_keeps_every_image_class_and_the_common_others_when_room_runs_out():
    classes = {sop_class for sop_class, _ in storage_contexts(LOSSLESS_COMPRESSED)}
    assert set(PIXEL_CLASSES) <= classes and set(COMMON_CLASSES) <= classes


def test_it_proposes_one_context_per_class_as_stored():
    contexts = storage_contexts(())
    assert len({sop_class for sop_class, _ in contexts}) == len(contexts)
