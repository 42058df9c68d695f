"""The STOW-RS request parser on byte strings: boundaries, CRLF, preamble and epilogue,
reads that split a delimiter anywhere, truncation and size limits (no database)."""

import io

import pytest

from viewer.dicomweb import parts as multipart_parts
from viewer.dicomweb.parts import MalformedBody, iter_parts
from viewer.dicomweb.stow import StowError, request_boundary

BOUNDARY = "b0und4ry"
READ_SIZES = [1, 7, 64 * 1024]


def body(*contents: bytes, preamble: bytes = b"", epilogue: bytes = b"", close=True) -> bytes:
    """A multipart/related body of DICOM parts, as clients send it."""
    out = preamble
    for content in contents:
        out += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + content
        out += b"\r\n"
    if close:
        out += f"--{BOUNDARY}--\r\n".encode() + epilogue
    return out


def parts(data: bytes, read_size: int = 64 * 1024, limit: int = 1 << 20) -> list:
    stream = io.BytesIO(data)
    return list(iter_parts(lambda n: stream.read(min(n, read_size)), BOUNDARY, limit, read_size))


@pytest.mark.parametrize("read_size", READ_SIZES)
def test_it_reads_each_part_whatever_the_read_size(read_size):
    contents = [b"first\r\ninstance", b"", b"-" * 30 + b"\r\n--b0und"]
    found = parts(body(*contents), read_size)
    assert [p.content for p in found] == contents
    assert all(not p.error for p in found)
    assert found[0].headers == {"content-type": "application/dicom"}


@pytest.mark.parametrize("read_size", READ_SIZES)
def test_it_skips_the_preamble_and_the_epilogue(read_size):
    data = body(
        b"one",
        b"two",
        preamble=b"This is a preamble --b0und4ry-ish\r\n",
        epilogue=b"\r\n--b0und4ry\r\nnot a part\r\n",
    )
    assert [p.content for p in parts(data, read_size)] == [b"one", b"two"]


@pytest.mark.parametrize("read_size", READ_SIZES)
def test_it_keeps_boundary_text_that_is_not_a_delimiter(read_size):
    # "--b0und4ry" followed by more characters is content: a delimiter ends its line.
    content = b"abc\r\n--b0und4ryX more\r\n--b0und4ry2"
    assert [p.content for p in parts(body(content), read_size)] == [content]


def test_it_takes_transport_padding_after_a_delimiter():
    data = f"--{BOUNDARY}  \r\n\r\nbare\r\n--{BOUNDARY}--".encode()
    (part,) = parts(data)
    assert (part.headers, part.content, part.error) == ({}, b"bare", "")


def test_it_reads_header_names_in_any_case_and_folded_lines():
    data = (
        f"--{BOUNDARY}\r\ncontent-TYPE: application/dicom\r\nX-Note: one\r\n two\r\n\r\n"
        f"x\r\n--{BOUNDARY}--"
    ).encode()
    (part,) = parts(data)
    assert part.headers == {"content-type": "application/dicom", "x-note": "one two"}


@pytest.mark.parametrize("read_size", READ_SIZES)
def test_it_marks_a_part_the_body_ends_inside_as_cut_short(read_size):
    data = body(b"whole", b"cut short here")[: -len(f"here\r\n--{BOUNDARY}--\r\n")]
    found = parts(data, read_size)
    assert [p.content for p in found] == [b"whole", b"cut short "]
    assert found[0].error == ""
    assert "cut short" in found[1].error


def test_it_marks_a_body_ending_inside_headers():
    found = parts(f"--{BOUNDARY}\r\nContent-Type: appl".encode())
    assert len(found) == 1 and "headers" in found[0].error


def test_it_accepts_a_missing_close_delimiter_after_a_whole_part():
    data = body(b"one", close=False) + f"--{BOUNDARY}".encode()
    found = parts(data)
    assert [(p.content, p.error) for p in found] == [(b"one", "")]


@pytest.mark.parametrize("read_size", [7, 64 * 1024])
def test_it_drops_a_part_over_the_limit_without_holding_it(read_size):
    data = body(b"small", b"x" * 5000, b"after")
    found = parts(data, read_size, limit=1000)
    assert [p.content for p in found] == [b"small", b"", b"after"]
    assert found[1].too_large and "1000 bytes" in found[1].error
    assert not found[0].error and not found[2].error


def test_it_refuses_a_part_declaring_a_huge_length_at_once():
    data = (
        f"--{BOUNDARY}\r\nContent-Length: 99999999999999\r\n\r\nsmall\r\n--{BOUNDARY}--"
    ).encode()
    (part,) = parts(data)
    assert part.too_large and part.content == b""


def test_it_refuses_a_part_whose_declared_length_is_wrong():
    data = f"--{BOUNDARY}\r\nContent-Length: 10\r\n\r\nfive!\r\n--{BOUNDARY}--".encode()
    (part,) = parts(data)
    assert "Content-Length says 10" in part.error


def test_it_refuses_an_empty_body():
    with pytest.raises(MalformedBody, match="empty"):
        parts(b"")


def test_it_refuses_a_body_without_the_boundary():
    with pytest.raises(MalformedBody, match="no part"):
        parts(b"--other\r\n\r\ncontent\r\n--other--")


def test_it_refuses_endless_part_headers():
    with pytest.raises(MalformedBody, match="headers"):
        parts(f"--{BOUNDARY}\r\nX: ".encode() + b"y" * 40000)


ORTHANC = "0b2bd43d-3b9f-4b5e-9c1e-5f2d9e0c1a2b-7a9f3c1e-2d4b-4f6a-8e0c-1b3d5f7a9c2e"


@pytest.mark.parametrize(
    "content_type, boundary",
    [
        (f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"', BOUNDARY),
        (f"multipart/related; type=application/dicom; boundary={BOUNDARY}", BOUNDARY),
        (f"Multipart/Related; boundary={BOUNDARY}", BOUNDARY),  # no type: DICOM parts
        ('multipart/related; boundary="a;b c"; type="application/dicom"', "a;b c"),
        ("application/dicom", None),
        # Orthanc's STOW client: two UUIDs, 73 characters (RFC 2046 says 70).
        (f"multipart/related; type=application/dicom; boundary={ORTHANC}", ORTHANC),
    ],
)
def test_it_reads_the_boundary_from_the_content_type(content_type, boundary):
    assert request_boundary(content_type) == boundary


@pytest.mark.parametrize(
    "content_type, status, words",
    [
        ('multipart/related; type="application/dicom"', 400, "no boundary"),
        ("multipart/related; boundary=" + "x" * 201, 400, "200"),
        ('multipart/related; type="application/dicom+json"; boundary=x', 415, "dicom+json"),
        ('multipart/related; type="application/dicom+xml"; boundary=x', 415, "not supported"),
        ("application/json", 415, "not supported"),
        ("", 415, "multipart/related"),
        (None, 415, "multipart/related"),
    ],
)
def test_it_refuses_other_content_types(content_type, status, words):
    with pytest.raises(StowError) as raised:
        request_boundary(content_type)
    assert raised.value.status == status
    assert words in raised.value.detail


def test_it_holds_no_more_than_the_size_limit_and_one_read(monkeypatch):
    sizes = []
    fill = multipart_parts._Scanner.fill

    def measured_fill(scanner) -> bool:
        more = fill(scanner)
        sizes.append(len(scanner.buf))
        return more

    monkeypatch.setattr(multipart_parts._Scanner, "fill", measured_fill)
    found = parts(body(b"a" * 3000, b"x" * 200_000, b"b" * 3000), read_size=1000, limit=5000)
    assert [len(p.content) for p in found] == [3000, 0, 3000]
    assert max(sizes) < 5000 + 1000 + 64
