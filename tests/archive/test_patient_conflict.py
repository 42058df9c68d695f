"""An instance is never filed under another patient's study: the importer refuses it."""

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.base import sample, stored_files
from viewer.archive import importer as importer_module
from viewer.archive.importer import CONFLICT, IMPORTED, Importer
from viewer.archive.models import Instance, Patient, Series, Study

pytestmark = pytest.mark.django_db

STUDY_UID = "1.2.826.0.1.3680043.8.498.4242"
PATIENT_ID_DIFFERS = "study filed under another patient (Patient ID differs)"


def instance_of(folder: Path, patient_id: str, name: str = "", **changes) -> Path:
    """CT_small as a new instance of one fixed study, of the patient ``patient_id``."""
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.StudyInstanceUID = STUDY_UID
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientID = patient_id
    if name:
        dataset.PatientName = name
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset.SOPInstanceUID}.dcm"
    dataset.save_as(path)
    return path


def assert_only(path: Path, archive_root: Path) -> None:
    """The archive holds ``path``'s instance alone, filed under its own patient."""
    dataset = pydicom.dcmread(path)
    (instance,) = Instance.objects.select_related("series__study__patient")
    assert instance.sop_instance_uid == dataset.SOPInstanceUID
    assert stored_files(archive_root) == [archive_root / instance.file_path]
    assert instance.series.study.patient.patient_id == dataset.PatientID
    assert Patient.objects.count() == Study.objects.count() == Series.objects.count() == 1


def test_it_refuses_another_patients_instance_in_a_stored_study(tmp_path, archive_root):
    first = instance_of(tmp_path, "PAT-A")
    assert Importer().run([first]).imported == 1
    report = Importer().run([instance_of(tmp_path / "b", "PAT-B")])
    assert report.imported == 0
    assert [reason for _, reason in report.rejected] == [PATIENT_ID_DIFFERS]
    assert_only(first, archive_root)


def test_it_refuses_it_with_the_study_in_a_warm_cache(tmp_path, archive_root):
    importer = Importer()
    first = instance_of(tmp_path, "PAT-A")
    importer.run([first])
    parsed = importer.read_file(instance_of(tmp_path / "b", "PAT-B"))
    assert importer.store(parsed) == (CONFLICT, PATIENT_ID_DIFFERS)
    assert_only(first, archive_root)


def test_it_refuses_it_when_both_come_in_one_batch(tmp_path, archive_root):
    first = instance_of(tmp_path / "1", "PAT-A")
    second = instance_of(tmp_path / "2", "PAT-B")
    report = Importer().run([first, second])
    assert report.imported == 1
    assert report.rejected == [(str(second), PATIENT_ID_DIFFERS)]
    assert_only(first, archive_root)


def test_it_still_imports_the_same_patient_under_another_spelling(tmp_path, archive_root):
    Importer().run([instance_of(tmp_path, "PAT-A", "Doe^Jane")])
    report = Importer().run([instance_of(tmp_path / "b", "PAT-A", "DOE^JANE")])
    assert report.imported == 1 and not report.rejected
    assert Instance.objects.count() == 2
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"PatientID": ""}, PATIENT_ID_DIFFERS),
        (
            {"IssuerOfPatientID": "OTHER-HOSPITAL"},
            "study filed under another patient (Issuer of Patient ID differs)",
        ),
    ],
)
def test_it_refuses_a_missing_id_or_another_issuer(tmp_path, archive_root, changes, reason):
    first = instance_of(tmp_path, "PAT-A", IssuerOfPatientID="HOSPITAL")
    Importer().run([first])
    report = Importer().run([instance_of(tmp_path / "b", "PAT-A", **changes)])
    assert [text for _, text in report.rejected] == [reason]
    assert_only(first, archive_root)


def test_it_refuses_another_name_when_neither_has_an_id(tmp_path, archive_root):
    first = instance_of(tmp_path, "", "Doe^Jane")
    Importer().run([first])
    report = Importer().run([instance_of(tmp_path / "b", "", "Roe^Richard")])
    reason = "study filed under another patient (name or birth date differs)"
    assert [text for _, text in report.rejected] == [reason]
    assert_only(first, archive_root)


def test_it_does_not_repair_a_lost_file_with_another_patients_copy(tmp_path, archive_root):
    first = instance_of(tmp_path, "PAT-A")
    Importer().run([first])
    (stored,) = stored_files(archive_root)
    stored.unlink()
    impostor = pydicom.dcmread(first)
    impostor.PatientID = "PAT-B"
    impostor.save_as(tmp_path / "impostor.dcm")
    report = Importer().run([tmp_path / "impostor.dcm"])
    assert [text for _, text in report.rejected] == [PATIENT_ID_DIFFERS]
    assert stored_files(archive_root) == []
    assert Instance.objects.get().series.study.patient.patient_id == "PAT-A"


def test_it_refuses_a_study_another_importer_files_meanwhile(tmp_path, archive_root, monkeypatch):
    # The SCP and a worker can store one study at once: the study that another importer
    # creates after this one looked is caught as the row is made, and the file removed.
    first = instance_of(tmp_path / "a", "PAT-A")
    write_atomic = importer_module.storage.write_atomic

    def write_then_let_the_other_importer_in(*args, **kwargs):
        write_atomic(*args, **kwargs)
        monkeypatch.setattr(importer_module.storage, "write_atomic", write_atomic)
        assert Importer().run([first]).imported == 1

    monkeypatch.setattr(
        importer_module.storage, "write_atomic", write_then_let_the_other_importer_in
    )
    importer = Importer()
    parsed = importer.read_file(instance_of(tmp_path / "b", "PAT-B"))
    assert importer.store(parsed) == (CONFLICT, PATIENT_ID_DIFFERS)
    assert_only(first, archive_root)
    # The importer's cache does not keep the refused rows: the right patient still imports.
    parsed = importer.read_file(instance_of(tmp_path / "c", "PAT-A"))
    assert importer.store(parsed)[0] == IMPORTED


def test_it_takes_the_same_id_when_one_side_names_no_issuer(tmp_path, archive_root):
    # A modality sends the ID alone; the PACS it went to sends it with its issuer.
    Importer().run([instance_of(tmp_path, "PAT-A")])
    report = Importer().run([instance_of(tmp_path / "b", "PAT-A", IssuerOfPatientID="PACS")])
    assert report.imported == 1 and not report.rejected
    assert Patient.objects.count() == 1


def test_it_takes_the_same_name_spelt_otherwise_when_neither_has_an_id(tmp_path, archive_root):
    Importer().run([instance_of(tmp_path, "", "Doe^Jane")])
    report = Importer().run([instance_of(tmp_path / "b", "", "DOE^JANE^^")])
    assert report.imported == 1 and not report.rejected
