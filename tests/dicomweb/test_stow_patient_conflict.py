"""STOW-RS refuses, with a failure reason, an instance whose study is filed under another
patient, and stores the rest of the request."""

import json

import pydicom
import pytest
from django.contrib.auth.models import Permission
from pydicom.filebase import DicomBytesIO
from pydicom.uid import generate_uid

from tests.base import stored_files
from viewer.archive.importer import Importer
from viewer.archive.models import Instance

pytestmark = pytest.mark.django_db

BOUNDARY = "conflict-boundary"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"'
ARCHIVE_CONFLICT = 0xC778
REASON = "study filed under another patient (Patient ID differs)"


@pytest.fixture(autouse=True)
def alice_may_store(alice):
    """Storing is granted, not every signed-in user's: alice sends instances here."""
    alice.user_permissions.add(Permission.objects.get(codename="add_instance"))


@pytest.fixture
def stored(pushed_files) -> pydicom.Dataset:
    """One generated instance, already in the archive."""
    Importer().run(pushed_files[:1])
    return pydicom.dcmread(pushed_files[0])


def other_instance(dataset: pydicom.Dataset, patient_id: str) -> pydicom.Dataset:
    """A new instance of ``dataset``'s study, naming the patient ``patient_id``."""
    copy = pydicom.dcmread(DicomBytesIO(encoded(dataset)))
    copy.SOPInstanceUID = generate_uid()
    copy.file_meta.MediaStorageSOPInstanceUID = copy.SOPInstanceUID
    copy.PatientID = patient_id
    return copy


def encoded(dataset: pydicom.Dataset) -> bytes:
    buffer = DicomBytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def post(client, *datasets: pydicom.Dataset):
    body = b""
    for dataset in datasets:
        body += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        body += encoded(dataset) + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return client.post(
        "/dicom-web/studies",
        data=body,
        content_type=CONTENT_TYPE,
        HTTP_ACCEPT="application/dicom+json",
    )


def test_it_lists_another_patients_instance_as_failed_and_stores_the_rest(
    alice_client, stored, archive_root
):
    impostor = other_instance(stored, "SOMEONE-ELSE")
    same_patient = other_instance(stored, stored.PatientID)
    response = post(alice_client, impostor, same_patient)
    assert response.status_code == 202
    result = pydicom.Dataset.from_json(json.loads(response.content))
    (failed,) = result.FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == impostor.SOPInstanceUID
    assert failed.FailureReason == ARCHIVE_CONFLICT
    assert f"part 1: {REASON}" in response["Warning"]
    assert [item.ReferencedSOPInstanceUID for item in result.ReferencedSOPSequence] == [
        same_patient.SOPInstanceUID
    ]
    assert not Instance.objects.filter(sop_instance_uid=impostor.SOPInstanceUID).exists()
    assert len(stored_files(archive_root)) == Instance.objects.count() == 2


def test_it_answers_409_when_every_instance_conflicts(alice_client, stored, archive_root):
    response = post(alice_client, other_instance(stored, "SOMEONE-ELSE"))
    assert response.status_code == 409
    (failed,) = pydicom.Dataset.from_json(json.loads(response.content)).FailedSOPSequence
    assert failed.FailureReason == ARCHIVE_CONFLICT
    assert len(stored_files(archive_root)) == Instance.objects.count() == 1
