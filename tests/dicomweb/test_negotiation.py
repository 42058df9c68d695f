"""Accept headers read as clients write them, and the transfer syntax chosen from them."""

import pytest

from viewer.dicomweb import multipart
from viewer.dicomweb.negotiation import AcceptedType, NotAcceptable, accepted_types
from viewer.dicomweb.transcode import (
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    JPEG_2000_LOSSLESS,
    JPEG_LS_LOSSLESS,
    RLE_LOSSLESS,
    choose_transfer_syntax,
    retrieve_ranges,
)
from viewer.dicomweb.wado import BadWadoRequest, parse_wado_uri

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
DICOM_MULTIPART = 'multipart/related; type="application/dicom"'


def ts_range(transfer_syntax: str, q: float = 1.0) -> AcceptedType:
    return AcceptedType("application/dicom", {"transfer-syntax": transfer_syntax}, q, True)


def test_it_reads_a_missing_header_as_anything():
    assert accepted_types(None) == [AcceptedType("*/*", {}, 1.0, False)]
    assert accepted_types("  ") == [AcceptedType("*/*", {}, 1.0, False)]


def test_it_takes_the_part_type_of_multipart_related():
    (only,) = accepted_types(
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80; q=0.9'
    )
    assert only == AcceptedType(
        "application/dicom", {"transfer-syntax": JPEG_LS_LOSSLESS}, 0.9, multipart=True
    )
    assert only.transfer_syntax == JPEG_LS_LOSSLESS


def test_it_reads_an_unquoted_type_and_a_missing_one():
    unquoted, untyped = accepted_types(
        "multipart/related; type=application/dicom, multipart/related"
    )
    assert (unquoted.media_type, unquoted.multipart) == ("application/dicom", True)
    assert (untyped.media_type, untyped.multipart) == ("*/*", True)


def test_it_sorts_by_q_keeping_header_order_on_ties():
    ranges = accepted_types(
        f"{DICOM_MULTIPART}; transfer-syntax=1.2.840.10008.1.2.5; q=0.5, "
        f"{DICOM_MULTIPART}; transfer-syntax=1.2.840.10008.1.2.4.80, "
        f"{DICOM_MULTIPART}; transfer-syntax=*; q=0.5, image/png"
    )
    assert [r.transfer_syntax for r in ranges] == [JPEG_LS_LOSSLESS, None, RLE_LOSSLESS, "*"]
    assert [r.q for r in ranges] == [1.0, 1.0, 0.5, 0.5]


def test_it_keeps_commas_and_semicolons_inside_quotes():
    (only, after) = accepted_types('application/x; note="a, b; c", image/jpeg')
    assert only.params == {"note": "a, b; c"}
    assert after.media_type == "image/jpeg"


def test_it_drops_ranges_with_q_zero():
    assert [r.media_type for r in accepted_types("image/png;q=0, image/jpeg")] == ["image/jpeg"]


@pytest.mark.parametrize("header", ["application", "image/png; q=2", "image/png; q=x", "a/b; c"])
def test_it_refuses_malformed_ranges(header):
    with pytest.raises(NotAcceptable, match="Malformed"):
        accepted_types(header)


def test_it_lists_what_can_be_sent_when_refusing():
    message = str(NotAcceptable("No.", ["application/dicom", "image/png"]))
    assert message == "No. We can send: application/dicom, image/png."


def test_it_keeps_only_ranges_a_retrieve_can_meet():
    ranges = accepted_types(f"application/dicom, image/png, {DICOM_MULTIPART}, */*;q=0.1")
    assert [(r.media_type, r.multipart) for r in retrieve_ranges(ranges)] == [
        ("application/dicom", True),
        ("*/*", False),
    ]


def test_it_defaults_to_explicit_vr_little_endian():
    assert choose_transfer_syntax(accepted_types(None), RLE_LOSSLESS) == EXPLICIT_VR_LE
    assert choose_transfer_syntax(accepted_types(DICOM_MULTIPART), JPEG_BASELINE) == EXPLICIT_VR_LE


def test_it_sends_as_stored_for_a_star():
    assert choose_transfer_syntax([ts_range("*")], JPEG_BASELINE) == JPEG_BASELINE


def test_it_picks_the_first_it_can_produce():
    asked = [ts_range(JPEG_BASELINE), ts_range(JPEG_2000_LOSSLESS, 0.8), ts_range("*", 0.5)]
    assert choose_transfer_syntax(asked, EXPLICIT_VR_LE) == JPEG_2000_LOSSLESS
    assert choose_transfer_syntax(asked, JPEG_BASELINE) == JPEG_BASELINE  # as stored


def test_it_recompresses_lossless_stored_images_losslessly():
    for wanted in (JPEG_LS_LOSSLESS, RLE_LOSSLESS, JPEG_2000_LOSSLESS, IMPLICIT_VR_LE):
        assert choose_transfer_syntax([ts_range(wanted)], JPEG_LOSSLESS_SV1) == wanted


def test_it_never_claims_lossless_for_a_lossy_image():
    with pytest.raises(NotAcceptable, match="stored lossy") as refused:
        choose_transfer_syntax([ts_range(JPEG_LS_LOSSLESS)], JPEG_BASELINE)
    assert "transfer-syntax=*" in str(refused.value)


def test_it_refuses_syntaxes_it_does_not_encode():
    with pytest.raises(NotAcceptable, match="do not encode"):
        choose_transfer_syntax([ts_range(JPEG_BASELINE)], EXPLICIT_VR_LE)


def test_it_sends_objects_without_pixels_uncompressed_only():
    assert choose_transfer_syntax([ts_range(IMPLICIT_VR_LE)], EXPLICIT_VR_LE, False) == (
        IMPLICIT_VR_LE
    )
    with pytest.raises(NotAcceptable, match="no pixel data"):
        choose_transfer_syntax([ts_range(RLE_LOSSLESS)], EXPLICIT_VR_LE, has_pixels=False)


def test_it_refuses_accept_without_dicom():
    with pytest.raises(NotAcceptable, match="Only application/dicom"):
        choose_transfer_syntax(accepted_types("image/png"), EXPLICIT_VR_LE)


def test_it_writes_the_multipart_content_type_and_body():
    assert multipart.content_type("application/dicom", "b1", EXPLICIT_VR_LE) == (
        'multipart/related; type="application/dicom"; '
        "transfer-syntax=1.2.840.10008.1.2.1; boundary=b1"
    )
    assert multipart.content_type("application/dicom", "b1", None).endswith('"; boundary=b1')
    body = b"".join(multipart.body("b1", [({"Content-Type": "x/y"}, b"AB"), ({}, b"")]))
    assert body == b"--b1\r\nContent-Type: x/y\r\n\r\nAB\r\n--b1\r\n\r\n\r\n--b1--\r\n"


WADO = {"requestType": "WADO", "studyUID": "1.2", "seriesUID": "1.2.3", "objectUID": "1.2.3.4"}


def test_it_reads_a_wado_uri_request_with_defaults():
    request = parse_wado_uri(WADO)
    assert (request.content_type, request.frame_number, request.window) == (
        "image/jpeg",
        None,
        None,
    )
    request = parse_wado_uri({**WADO, "contentType": "application/dicom", "transferSyntax": "*"})
    assert (request.content_type, request.transfer_syntax) == ("application/dicom", "*")


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"requestType": "RS"}, 400, "requestType=WADO"),
        ({"objectUID": ""}, 400, "objectUID is required"),
        ({"seriesUID": "1..2"}, 400, "seriesUID is not a UID"),
        ({"contentType": "text/html"}, 406, "cannot be sent"),
        ({"windowCenter": "40"}, 400, "go together"),
        ({"windowCenter": "40", "windowWidth": "0"}, 400, "positive"),
        ({"rows": "0"}, 400, "rows is a whole number"),
        ({"frameNumber": "x"}, 400, "frameNumber"),
        ({"anonymize": "yes"}, 400, "anonymize is not supported"),
        ({"region": "0,0,1,1"}, 400, "region is not supported"),
        ({"transferSyntax": "1.2.840.10008.1.2.1"}, 400, "only with contentType=application/dicom"),
    ],
)
def test_it_refuses_bad_wado_uri_requests(change, status, detail):
    with pytest.raises(BadWadoRequest, match=detail) as refused:
        parse_wado_uri({**WADO, **change})
    assert refused.value.status == status
