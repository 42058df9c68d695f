"""Files from and for a real DICOM toolkit: dcmtk converts, we import, dcmtk reads back."""

import subprocess

import pydicom
import pytest

from tests.base import bare_dataset_bytes, charset_sample, require_peer, sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance

pytestmark = [pytest.mark.django_db, pytest.mark.dcmtk]


@pytest.mark.parametrize(
    ("tool", "option", "syntax"),
    [
        ("dcmconv", "+td", "1.2.840.10008.1.2.1.99"),  # deflated explicit little endian
        ("dcmconv", "+tb", "1.2.840.10008.1.2.2"),  # explicit big endian
        ("dcmconv", "+ti", "1.2.840.10008.1.2"),  # implicit little endian
        ("dcmcrle", "", "1.2.840.10008.1.2.5"),  # RLE lossless
        ("dcmcjpeg", "+e1", "1.2.840.10008.1.2.4.70"),  # JPEG lossless, process 14 SV1
    ],
)
def test_it_imports_what_dcmtk_writes_in_each_transfer_syntax(
    tmp_path, archive_root, tool, option, syntax
):
    converted = tmp_path / f"{tool}.dcm"
    subprocess.run(
        [require_peer(tool), *([option] if option else []), sample("CT_small.dcm"), converted],
        check=True,
        capture_output=True,
    )
    report = Importer().run([converted])
    assert report.imported == 1, report.rejected
    instance = Instance.objects.get()
    assert instance.transfer_syntax_uid == syntax
    assert (archive_root / instance.file_path).read_bytes() == converted.read_bytes()


def test_a_cut_dcmtk_file_is_rejected(tmp_path):
    converted = tmp_path / "rle.dcm"
    subprocess.run(  # RLE: encapsulated fragments, cut in the last one
        [require_peer("dcmcrle"), sample("CT_small.dcm"), converted],
        check=True,
        capture_output=True,
    )
    content = converted.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(content[: len(content) * 4 // 5])
    report = Importer().run([tmp_path / "cut.dcm"])
    assert report.imported == 0 and report.rejected[0][1].startswith("truncated")


def test_dcmtk_reads_a_rewrapped_bare_data_set(tmp_path, archive_root):
    (tmp_path / "bare").write_bytes(bare_dataset_bytes(sample("CT_small.dcm")))
    Importer().run([tmp_path / "bare", charset_sample("chrX2.dcm")])
    for instance in Instance.objects.all():
        result = subprocess.run(
            [require_peer("dcmdump"), "-q", archive_root / instance.file_path],
            capture_output=True,
            encoding="utf-8",
            errors="replace",
        )
        assert result.returncode == 0, result.stderr
        assert "(0002,0010)" in result.stdout  # the file meta header is there
        assert pydicom.dcmread(archive_root / instance.file_path).SOPInstanceUID == (
            instance.sop_instance_uid
        )
