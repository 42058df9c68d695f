"""The C-STORE fast paths keep what the archive indexes: values read from raw bytes as
pydicom reads them, rows inserted in plain SQL as the ORM inserts them."""

import io
import os
import shutil

import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.datadict import dictionary_VR, keyword_dict

from tests.base import sample
from viewer.archive import parsing, storage
from viewer.archive.importer import IMPORTED, Importer
from viewer.archive.models import Instance
from viewer.archive.parsing import parse_file, parse_instance, text_value

# Every keyword whose VR ``text_value`` reads straight from the raw bytes.
_PLAIN_KEYWORDS = [k for k, tag in keyword_dict.items() if dictionary_VR(tag) in parsing._PLAIN_VRS]


def _read(path) -> pydicom.Dataset:
    return pydicom.dcmread(path, force=True, defer_size=64 * 1024)


def _pydicom_text(path, keyword: str, monkeypatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "_plain_text", lambda dataset, keyword: None)
        return text_value(_read(path), keyword)


@pytest.mark.parametrize("path", get_testdata_files("*.dcm")[:60], ids=os.path.basename)
def test_it_reads_uids_codes_dates_and_times_as_pydicom_does(path, monkeypatch):
    try:
        dataset = _read(path)
    except Exception:
        pytest.skip("pydicom cannot read this sample at all")
    for keyword in (k for k in _PLAIN_KEYWORDS if k in dataset):
        assert text_value(_read(path), keyword) == _pydicom_text(path, keyword, monkeypatch)


def test_it_reads_padded_and_multi_valued_plain_values_as_pydicom_does(tmp_path, monkeypatch):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.SOPClassUID = dataset.SOPClassUID  # unchanged, read back from bytes below
    dataset.ImageType = ["ORIGINAL ", "PRIMARY", "AXIAL"]
    dataset.Modality = "CT "
    dataset.StudyDate = "20260102"
    dataset.StudyTime = "101010.5 "
    dataset.FrameOfReferenceUID = "1.2.3 "
    path = tmp_path / "padded.dcm"
    dataset.save_as(path)
    for keyword in ("ImageType", "Modality", "StudyDate", "StudyTime", "FrameOfReferenceUID"):
        assert text_value(_read(path), keyword) == _pydicom_text(path, keyword, monkeypatch)
    assert text_value(_read(path), "ImageType") == "ORIGINAL \\PRIMARY\\AXIAL"
    parsed = parse_instance(path.read_bytes())
    assert parsed.modality == "CT" and parsed.frame_of_reference_uid == "1.2.3"


@pytest.mark.django_db
def test_it_indexes_a_stored_file_with_every_attribute_the_orm_would_give(tmp_path, archive_root):
    path = tmp_path / "arrived.dcm"
    shutil.copyfile(sample("CT_small.dcm"), path)
    parsed = parse_file(path)
    assert Importer(source_label="c-store").store_file(path, parsed) == (IMPORTED, "")
    row = Instance.objects.select_related("series__study__patient").get(
        sop_instance_uid=parsed.sop_instance_uid
    )
    assert row.series.series_uid == parsed.series_uid
    assert row.series.study.study_uid == parsed.study_uid
    assert row.sop_class_uid == parsed.sop_class_uid
    assert (row.rows, row.columns, row.number_of_frames) == (128, 128, 1)
    assert row.instance_number == parsed.instance_number
    assert row.transfer_syntax_uid == parsed.transfer_syntax_uid
    assert row.file_size == sample("CT_small.dcm").stat().st_size
    assert row.geometry == parsed.geometry and row.geometry["rows"] == 128
    assert row.created_at is not None
    assert storage.absolute_path(row.file_path).read_bytes() == sample("CT_small.dcm").read_bytes()


@pytest.mark.django_db
def test_it_indexes_a_batch_of_instances_of_one_series_together(tmp_path, archive_root):
    contents = []
    for number in range(3):
        dataset = pydicom.dcmread(sample("CT_small.dcm"))
        dataset.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.77.{number + 1}"
        dataset.InstanceNumber = number + 1
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        contents.append((f"slice {number}", buffer.getvalue()))
    report = Importer().run_contents(contents)
    assert report.imported == 3 and not report.rejected
    numbers = sorted(Instance.objects.values_list("instance_number", flat=True))
    assert numbers == [1, 2, 3]
