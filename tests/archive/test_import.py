"""Importing files, folders and DICOMDIRs into the archive."""

import shutil

import pydicom
import pytest
from django.core.management import call_command
from pydicom.fileset import FileSet

from tests.base import (
    charset_sample,
    copy_with_new_uids,
    sample,
    stored_files,
    truncated_copy,
)
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Patient, Series, Study
from viewer.demo.samples import write_charset_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_folder(tmp_path):
    """Valid, duplicate, truncated and non-DICOM files, some in sub-folders."""
    folder = tmp_path / "incoming"
    (folder / "a" / "b").mkdir(parents=True)
    shutil.copy(sample("CT_small.dcm"), folder / "ct.dcm")
    shutil.copy(sample("CT_small.dcm"), folder / "a" / "ct-copy.dcm")
    shutil.copy(sample("MR_small.dcm"), folder / "a" / "b" / "mr")
    truncated_copy(sample("MR_small.dcm"), folder / "a" / "cut.dcm")
    copy_with_new_uids(sample("CT_small.dcm"), folder / "other.dcm", "other")
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "a" / "b" / "empty.dcm").write_bytes(b"")
    return folder


def test_it_reports_every_file_of_a_mixed_folder(mixed_folder, archive_root):
    report = Importer().run([mixed_folder])
    assert report.imported == 3
    assert report.present == 1
    reasons = dict(report.rejected)
    assert set(reasons) == {
        str(mixed_folder / "a" / "cut.dcm"),
        str(mixed_folder / "notes.txt"),
        str(mixed_folder / "a" / "b" / "empty.dcm"),
    }
    assert reasons[str(mixed_folder / "a" / "cut.dcm")].startswith("truncated")
    assert reasons[str(mixed_folder / "notes.txt")].startswith("not a DICOM file")


def test_it_leaves_no_partial_file_in_storage(mixed_folder, archive_root):
    Importer().run([mixed_folder])
    files = stored_files(archive_root)
    assert len(files) == Instance.objects.count() == 3
    assert not [path for path in files if path.name.startswith(".part")]
    for instance in Instance.objects.all():
        stored = archive_root / instance.file_path
        assert pydicom.dcmread(stored).SOPInstanceUID == instance.sop_instance_uid


def test_it_stores_the_original_bytes(archive_root):
    Importer().run([sample("CT_small.dcm")])
    instance = Instance.objects.get()
    assert (archive_root / instance.file_path).read_bytes() == sample("CT_small.dcm").read_bytes()


def test_it_is_idempotent(mixed_folder):
    Importer().run([mixed_folder])
    again = Importer().run([mixed_folder])
    assert again.imported == 0
    assert again.present == 4
    assert Instance.objects.count() == 3
    assert Study.objects.count() == 3


def test_it_restores_a_file_lost_from_storage(archive_root):
    Importer().run([sample("CT_small.dcm")])
    instance = Instance.objects.get()
    (archive_root / instance.file_path).unlink()
    report = Importer().run([sample("CT_small.dcm")])
    assert report.imported == 1
    assert (archive_root / instance.file_path).exists()
    assert Instance.objects.count() == 1


def test_it_keeps_counts_and_hierarchy(small_ct):
    study = Study.objects.get()
    assert study.num_series == 4
    assert study.num_instances == 1 + 6 + 12 + 4
    assert study.modalities == "CT"
    assert list(Series.objects.values_list("num_instances", flat=True)) == [1, 6, 12, 4]
    assert study.patient.patient_name == "Zhang^Wei=张^伟"
    assert study.patient.name_search == "zhang wei=张 伟"


def test_it_imports_the_files_a_dicomdir_lists(tmp_path, small_ct_folder):
    file_set = FileSet()
    for path in sorted((small_ct_folder / "s02").glob("*.dcm")):
        file_set.add(pydicom.dcmread(path))
    file_set.write(tmp_path / "media")
    report = Importer().run([tmp_path / "media" / "DICOMDIR"])
    assert report.imported == 6
    assert not report.rejected


def test_it_refuses_a_sop_instance_uid_reused_in_another_series(tmp_path):
    Importer().run([sample("CT_small.dcm")])
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.SeriesInstanceUID = "1.2.3.4.5"
    dataset.save_as(tmp_path / "clash.dcm")
    report = Importer().run([tmp_path / "clash.dcm"])
    assert [source for source, _ in report.rejected] == [str(tmp_path / "clash.dcm")]
    assert "another series" in report.rejected[0][1]
    assert Instance.objects.get().series.series_uid != "1.2.3.4.5"


def test_it_stores_each_charset_sample_as_unicode(tmp_path):
    Importer().run(write_charset_samples(tmp_path / "charsets"))
    names = set(Patient.objects.values_list("patient_name", flat=True))
    for name in ("chrX1.dcm", "chrX2.dcm", "chrH31.dcm", "chrI2.dcm", "chrRuss.dcm"):
        assert str(pydicom.dcmread(charset_sample(name)).PatientName) in names
    assert "Wang^XiaoDong=王^小东" in names


def test_it_keeps_patient_data_out_of_log_lines(tmp_path, caplog):
    caplog.set_level("DEBUG")
    truncated_copy(charset_sample("chrX2.dcm"), tmp_path / "cut.dcm", keep=0.8)
    Importer().run([tmp_path / "cut.dcm", charset_sample("chrX2.dcm")])
    assert caplog.records, "the rejection should be logged"
    assert "王" not in caplog.text and "Wang" not in caplog.text


def test_the_command_prints_a_summary_and_one_line_per_rejection(mixed_folder, capsys):
    from django.core.management.base import CommandError

    # Refused files make it fail (exit status 1), after it has said which and why.
    with pytest.raises(CommandError, match="3 of 7 files were not imported"):
        call_command("import_dicom", str(mixed_folder), "--no-progress")
    out = capsys.readouterr().out
    assert "imported: 3, already present: 1, rejected: 3" in out
    assert f"rejected {mixed_folder / 'notes.txt'}: not a DICOM file" in out


def test_the_command_succeeds_when_every_file_is_imported(small_ct_folder, capsys):
    call_command("import_dicom", str(small_ct_folder), "--no-progress")
    assert "rejected: 0" in capsys.readouterr().out


def test_the_command_fails_when_the_disk_is_full(small_ct_folder, monkeypatch, capsys):
    import errno

    from django.core.management.base import CommandError

    from viewer.archive import importer

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importer.storage, "write_atomic", full_disk)
    with pytest.raises(CommandError, match="were not imported"):
        call_command("import_dicom", str(small_ct_folder), "--no-progress")
    assert "cannot write to the archive: No space left on device" in capsys.readouterr().out


def test_the_command_refuses_a_missing_path(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no such file"):
        call_command("import_dicom", str(tmp_path / "nowhere"))


def test_it_refuses_a_series_uid_reused_in_another_study(tmp_path, archive_root):
    Importer().run([sample("CT_small.dcm")])
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.StudyInstanceUID = "1.2.3.4.6"
    dataset.SOPInstanceUID = "1.2.3.4.7"
    dataset.save_as(tmp_path / "clash.dcm")
    report = Importer().run([tmp_path / "clash.dcm"])
    assert "another study" in report.rejected[0][1]
    assert len(stored_files(archive_root)) == 1
    assert Study.objects.count() == 1


def test_a_series_uid_in_two_studies_of_one_batch_is_refused(tmp_path, archive_root):
    for index, study_uid in enumerate(["1.2.3.1", "1.2.3.2"]):
        dataset = pydicom.dcmread(sample("CT_small.dcm"))
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, "1.2.3.9"
        dataset.SOPInstanceUID = f"1.2.3.9.{index}"
        dataset.save_as(tmp_path / f"{index}.dcm")
    report = Importer().run([tmp_path])
    assert report.imported == 1
    assert "another study" in report.rejected[0][1]
    assert [s.study_uid for s in Study.objects.all()] == ["1.2.3.1"]
    assert len(stored_files(archive_root)) == 1


def test_over_long_and_out_of_range_values_do_not_stop_the_import(tmp_path, archive_root):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.PatientID = "P" * 70
    dataset.AccessionNumber = "A" * 70
    dataset.InstanceNumber = "99999999999"
    dataset.SOPInstanceUID = "1.2.3.4.5.6"
    dataset.save_as(tmp_path / "wild.dcm", enforce_file_format=True)
    report = Importer().run([tmp_path / "wild.dcm", sample("MR_small.dcm")])
    assert report.imported == 2 and not report.rejected
    instance = Instance.objects.get(sop_instance_uid="1.2.3.4.5.6")
    assert instance.instance_number is None
    assert len(instance.series.study.patient.patient_id) == 64


def test_a_dicomdir_on_a_lower_case_mount_still_imports(tmp_path, small_ct_folder):
    file_set = FileSet()
    for path in sorted((small_ct_folder / "s02").glob("*.dcm"))[:2]:
        file_set.add(pydicom.dcmread(path))
    file_set.write(tmp_path / "media")
    for path in sorted((tmp_path / "media").rglob("*"), reverse=True):
        if path.name != "DICOMDIR":
            path.rename(path.with_name(path.name.lower()))
    assert Importer().run([tmp_path / "media" / "DICOMDIR"]).imported == 2


def test_a_dicomdir_cannot_point_outside_its_media(tmp_path):
    (tmp_path / "media").mkdir()
    shutil.copy(sample("CT_small.dcm"), tmp_path / "secret.dcm")
    dicomdir = pydicom.dcmread(sample("dicomdirtests/DICOMDIR"))
    dicomdir.DirectoryRecordSequence[-1].ReferencedFileID = ["..", "secret.dcm"]
    dicomdir.save_as(tmp_path / "media" / "DICOMDIR")
    report = Importer().run([tmp_path / "media" / "DICOMDIR"])
    assert (
        Instance.objects.filter(
            sop_instance_uid=pydicom.dcmread(tmp_path / "secret.dcm").SOPInstanceUID
        ).count()
        == 0
    )
    assert any("invalid file ID" in source for source, _ in report.rejected)
