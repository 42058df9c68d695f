"""Shared helpers for the tests: small generated studies, sample files, peers."""

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.uid import generate_uid

from viewer.demo.ct_study import DemoCTSpec
from viewer.demo.samples import DATA

# A study small enough to generate in a second, with the demo's geometry.
SMALL_CT = DemoCTSpec(matrix=64, thick_slices=6, thin_slices=12, coronal_slices=4)


def sample(name: str) -> Path:
    """One of pydicom's bundled test files."""
    return DATA / "test_files" / name


def charset_sample(name: str) -> Path:
    """One of pydicom's bundled character-set files."""
    return DATA / "charset_files" / name


def copy_with_new_uids(source: Path, target: Path, tag: str) -> Path:
    """Copy a sample with fresh UIDs, so it is a distinct instance."""
    dataset = pydicom.dcmread(source)
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[tag, "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[tag, "series"])
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, "sop"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target)
    return target


def named_copy(folder: Path, patient_name: str, patient_id: str) -> Path:
    """CT_small as a study of another patient, the name in UTF-8."""
    target = copy_with_new_uids(sample("CT_small.dcm"), folder / f"{patient_id}.dcm", patient_id)
    dataset = pydicom.dcmread(target)
    dataset.SpecificCharacterSet = "ISO_IR 192"
    dataset.PatientName, dataset.PatientID = patient_name, patient_id
    dataset.save_as(target)
    return target


def truncated_copy(source: Path, target: Path, keep: float = 0.6) -> Path:
    """Write the first part of ``source`` only, as a download cut short would."""
    content = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content[: int(len(content) * keep)])
    return target


def bare_dataset_bytes(source: Path) -> bytes:
    """The data set of ``source`` without preamble and file meta (old ACR-NEMA style)."""
    dataset = pydicom.dcmread(source)
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    pydicom.filewriter.write_dataset(buffer, dataset)
    return buffer.getvalue()


def stored_files(root: Path) -> list[Path]:
    """Every file below the storage root, temporaries included."""
    return sorted(path for path in root.rglob("*") if path.is_file())


def require_peer(executable: str) -> str:
    """Path of a real peer program; missing, it fails under CI and skips elsewhere."""
    found = shutil.which(executable) or (executable if os.path.exists(executable) else None)
    if found:
        return found
    message = f"{executable} is not installed (make test installs it)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def wait_listening(port: int, process=None, seconds: float = 15.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``, or fail the test."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                break
            time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process) -> None:
    """SIGTERM a child process and wait for it; kill it if it will not go."""
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def file_dose_in(series, folder: Path, label: str):
    """pydicom's 15-frame uint32 RT dose, of the series' own patient (the archive refuses
    another's), imported into ``series``: a multi-frame image there; its Instance row."""
    from viewer.archive.importer import Importer
    from viewer.archive.models import Instance

    dataset = pydicom.dcmread(sample("rtdose.dcm"))
    patient = series.study.patient
    dataset.SpecificCharacterSet = "ISO_IR 192"  # the patient's name may not be Latin-1
    dataset.PatientID, dataset.PatientName = patient.patient_id, patient.patient_name
    dataset.IssuerOfPatientID = patient.issuer_of_patient_id
    dataset.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    dataset.StudyInstanceUID = series.study.study_uid
    dataset.SeriesInstanceUID = series.series_uid
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[label, "dose"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.save_as(folder / "dose.dcm")
    assert not Importer().run([folder / "dose.dcm"]).rejected
    return Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)


@contextmanager
def running_storescp(folder: Path) -> Iterator[int]:
    """dcmtk's storescp as AE title DEST writing to ``folder``, while in the block: its port."""
    port = free_port()
    process = subprocess.Popen(
        [require_peer("storescp"), "-aet", "DEST", "-od", str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
