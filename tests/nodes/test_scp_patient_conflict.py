"""Our SCP refuses, with a reason, an instance whose study is filed under another patient."""

import subprocess

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.base import copy_with_new_uids, require_peer, sample, stored_files
from viewer.archive.models import Instance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]


def storescu(port: int, path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_peer("storescu"), "-d", "-aec", "PACSWEB", "127.0.0.1", str(port), str(path)],
        capture_output=True,
        text=True,
    )


def test_it_answers_a_failure_status_for_another_patients_instance(
    scp_port, tmp_path, archive_root
):
    first = copy_with_new_uids(sample("CT_small.dcm"), tmp_path / "a.dcm", "conflict-scp")
    assert storescu(scp_port, first).returncode == 0
    impostor = pydicom.dcmread(first)
    impostor.PatientID = "SOMEONE-ELSE"
    impostor.SOPInstanceUID = generate_uid()
    impostor.file_meta.MediaStorageSOPInstanceUID = impostor.SOPInstanceUID
    impostor.save_as(tmp_path / "b.dcm")

    result = storescu(scp_port, tmp_path / "b.dcm")

    output = result.stdout + result.stderr
    assert "0xc778" in output.lower()
    assert "study filed under another patient (Patient ID differs)" in output
    (instance,) = Instance.objects.all()
    assert instance.sop_instance_uid == pydicom.dcmread(first).SOPInstanceUID
    assert stored_files(archive_root) == [archive_root / instance.file_path]
