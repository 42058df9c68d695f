"""Parsing and checking single files, without the database."""

import io

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.filebase import DicomBytesIO

from tests.base import bare_dataset_bytes, charset_sample, sample
from viewer.archive.parsing import RejectedFile, parse_file, parse_instance


def test_it_reads_the_indexed_attributes():
    parsed = parse_instance(sample("CT_small.dcm").read_bytes())
    assert parsed.modality == "CT"
    assert parsed.rows == 128 and parsed.columns == 128
    assert parsed.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    assert parsed.transfer_syntax_uid == "1.2.840.10008.1.2.1"


def test_it_decodes_gb18030_names():
    parsed = parse_instance(charset_sample("chrX2.dcm").read_bytes())
    assert parsed.patient_name == "Wang^XiaoDong=王^小东"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chrX1.dcm", "Wang^XiaoDong=王^小東"),
        ("chrH31.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
        ("chrI2.dcm", "Hong^Gildong=洪^吉洞=홍^길동"),
        ("chrRuss.dcm", "Люкceмбypг"),
        ("chrGreek.dcm", "Διονυσιος"),
        ("chrFren.dcm", "Buc^Jérôme"),
    ],
)
def test_it_decodes_each_charset_sample(name, expected):
    assert parse_instance(charset_sample(name).read_bytes()).patient_name == expected


def test_it_rejects_truncated_pixel_data():
    with pytest.raises(RejectedFile, match="truncated"):
        parse_instance(sample("MR_truncated.dcm").read_bytes())


def test_it_rejects_a_file_cut_inside_a_sequence():
    with pytest.raises(RejectedFile, match="truncated"):
        parse_instance(sample("rtplan_truncated.dcm").read_bytes())


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9, 0.999])
def test_it_rejects_files_cut_anywhere_in_the_image(keep):
    content = sample("CT_small.dcm").read_bytes()
    with pytest.raises(RejectedFile):
        parse_instance(content[: int(len(content) * keep)])


def test_it_rejects_a_cut_compressed_image():
    content = sample("JPEG2000.dcm").read_bytes()
    with pytest.raises(RejectedFile, match="truncated"):
        parse_instance(content[:-500])


def test_it_rejects_non_dicom():
    with pytest.raises(RejectedFile, match="not a DICOM file"):
        parse_instance(b"%PDF-1.4 this is a report, not an image" * 10)


def test_it_rejects_a_tiny_file():
    with pytest.raises(RejectedFile, match="too short"):
        parse_instance(b"DICM")


def test_it_rejects_a_file_without_uids():
    with pytest.raises(RejectedFile, match="missing Study Instance UID"):
        parse_instance(sample("JPEGLSNearLossless_08.dcm").read_bytes())


def test_it_accepts_a_bare_data_set_and_wraps_it_as_a_file():
    parsed = parse_instance(bare_dataset_bytes(sample("CT_small.dcm")))
    assert parsed.content[128:132] == b"DICM"
    assert parsed.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert parse_instance(parsed.content).sop_instance_uid == parsed.sop_instance_uid


def test_it_accepts_subsampled_colour_at_its_real_size():
    parsed = parse_instance(sample("SC_ybr_full_422_uncompressed.dcm").read_bytes())
    assert parsed.rows == 100


def test_it_rejects_a_dicomdir_found_in_a_folder():
    content = sample("dicomdirtests/DICOMDIR").read_bytes()
    with pytest.raises(RejectedFile, match="DICOMDIR"):
        parse_instance(content)


def test_it_rejects_a_uid_that_could_escape_the_storage_root(tmp_path):
    import pydicom

    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.SeriesInstanceUID = "../../etc"
    target = tmp_path / "evil.dcm"
    dataset.save_as(target)
    with pytest.raises(RejectedFile, match="not a valid UID"):
        parse_instance(target.read_bytes())


def end_of_pixel_data(content: bytes) -> int:
    """Where the pixel data element ends (after its delimiter, if it has one)."""
    dataset = pydicom.dcmread(io.BytesIO(content))
    raw = dataset.get_item(0x7FE00010, keep_deferred=True)
    end = raw.value_tell + len(raw.value)
    return end + 8 if raw.length == 0xFFFFFFFF else end


CUT_SAMPLES = [
    "CT_small.dcm",  # native, with trailing padding after the pixels
    "MR_small_RLE.dcm",
    "JPEG2000.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPGExtended.dcm",
    "rtdose.dcm",  # implicit VR, multi-frame
    "liver_1frame.dcm",  # segmentation: not an "Image Storage" class
    "ExplVR_BigEnd.dcm",
]


@pytest.mark.parametrize("name", CUT_SAMPLES)
def test_it_rejects_a_file_cut_anywhere_before_its_pixels_end(name):
    content = sample(name).read_bytes()
    parse_instance(content)  # whole, it is accepted
    end = end_of_pixel_data(content)
    cuts = sorted(set(range(max(0, end - 80), end)) | set(range(0, end, 37)))
    accepted = []
    for cut in cuts:
        try:
            parse_instance(content[:cut])
            accepted.append(cut)
        except RejectedFile:
            pass
    assert accepted == []


def test_it_rejects_a_bare_data_set_cut_inside_an_element():
    content = bare_dataset_bytes(sample("CT_small.dcm"))
    end = len(content) - 126 - 8  # the trailing padding element of CT_small
    for cut in range(300, end, 7):
        with pytest.raises(RejectedFile):
            parse_instance(content[:cut])


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(min_size=0, max_size=4096))
def test_it_rejects_random_bytes_without_crashing(garbage):
    with pytest.raises(RejectedFile):
        parse_instance(garbage)


def large_ct_bytes(bare: bool = False) -> bytes:
    """CT_small with 512x512 pixels (512 KB, far over what parsing reads eagerly)."""
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.Rows = dataset.Columns = 512
    dataset.PixelData = bytes(range(256)) * 2048
    del dataset[0xFFFCFFFC]  # the trailing padding: the pixels end the file
    if bare:
        buffer = DicomBytesIO()
        buffer.is_little_endian, buffer.is_implicit_VR = True, False
        pydicom.filewriter.write_dataset(buffer, dataset)
    else:
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("bare", [False, True], ids=["file", "bare data set"])
def test_it_rejects_large_pixel_data_cut_anywhere(bare):
    content = large_ct_bytes(bare)
    parse_instance(content)  # whole, it is accepted
    for cut in [*range(len(content) - 524288 - 20, len(content), 4099), len(content) - 1]:
        with pytest.raises(RejectedFile, match="truncated"):
            parse_instance(content[:cut])


def test_it_rejects_large_pixel_data_shorter_than_the_image():
    dataset = pydicom.dcmread(io.BytesIO(large_ct_bytes()))
    dataset.Rows = 1024  # the pixels hold half of this image
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    with pytest.raises(RejectedFile, match="pixel data holds 524288 of 1048576 bytes"):
        parse_instance(buffer.getvalue())


def test_it_re_encodes_a_large_bare_data_set_whole(tmp_path):
    parsed = parse_instance(large_ct_bytes(bare=True))
    assert pydicom.dcmread(io.BytesIO(parsed.content)).PixelData == bytes(range(256)) * 2048
    path = tmp_path / "bare.dcm"
    path.write_bytes(large_ct_bytes(bare=True))
    assert parsed.content.startswith(b"\x00" * 128 + b"DICM")
    assert parse_file(path).content == parsed.content


@pytest.mark.parametrize(
    "name", ["examples_jpeg2k.dcm", "examples_ybr_color.dcm", "J2K_pixelrep_mismatch.dcm"]
)
def test_it_reads_encapsulated_pixel_data_left_unread_and_refuses_it_cut(name):
    # Regression: with large values left unread, every file whose pixel data has an
    # undefined length (compressed) was refused as having no sequence delimiter.
    content = sample(name).read_bytes()
    parsed = parse_instance(content)
    assert parsed.sop_instance_uid == pydicom.dcmread(sample(name)).SOPInstanceUID
    for cut in (len(content) - 8, len(content) - 9, len(content) // 2):
        with pytest.raises(RejectedFile, match="truncated"):
            parse_instance(content[:cut])
