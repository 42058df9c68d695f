"""Fixtures the frame endpoints' tests share: the small CT's thin series, and a
multi-frame image filed in it."""

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series


@pytest.fixture
def thin(small_ct) -> Series:
    return Series.objects.get(description="Axial 1.0 mm")


@pytest.fixture
def dose(thin, tmp_path) -> Instance:
    """pydicom's 15-frame uint32 RT dose filed in the thin series: a multi-frame image
    there (and one JPEG-LS cannot carry)."""
    dataset = pydicom.dcmread(sample("rtdose.dcm"))
    patient = thin.study.patient
    # The study's own patient: the archive refuses another patient's image in it.
    dataset.PatientID, dataset.PatientName = patient.patient_id, patient.patient_name
    dataset.IssuerOfPatientID = patient.issuer_of_patient_id
    dataset.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    dataset.StudyInstanceUID = thin.study.study_uid
    dataset.SeriesInstanceUID = thin.series_uid
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=["frames", "dose"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.save_as(tmp_path / "dose.dcm")
    assert not Importer().run([tmp_path / "dose.dcm"]).rejected
    return Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)
