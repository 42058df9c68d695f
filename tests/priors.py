"""Test data for priors: one-image studies of chosen patients, dates and modalities,
written from pydicom's CT_small with UIDs derived from a tag (the same bytes every run)."""

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.base import copy_with_new_uids, sample
from viewer.archive.importer import Importer
from viewer.archive.models import Study

PATIENT_ID, ISSUER = "PRI-0001", "HOSP-A"


def study_uid_of(tag: str) -> str:
    """The Study Instance UID ``write_study`` gives the study tagged ``tag``."""
    return generate_uid(entropy_srcs=[tag, "study"])


def write_study(
    folder: Path,
    tag: str,
    *,
    patient_id: str = PATIENT_ID,
    issuer: str = ISSUER,
    date: str = "20240101",
    time: str = "",
    modality: str = "CT",
    body_part: str = "CHEST",
    name: str = "Prior^Test",
) -> Path:
    """A study of one image, its file in ``folder``; ``tag`` makes its UIDs."""
    target = copy_with_new_uids(sample("CT_small.dcm"), folder / f"{tag}.dcm", tag)
    dataset = pydicom.dcmread(target)
    dataset.PatientID, dataset.PatientName = patient_id, name
    if issuer:
        dataset.IssuerOfPatientID = issuer
    dataset.StudyDate, dataset.StudyTime = date, time
    dataset.Modality = modality
    if body_part:
        dataset.BodyPartExamined = body_part
    dataset.AccessionNumber = f"ACC-{tag}"[:16]
    dataset.StudyDescription = f"{modality} {body_part} {tag}"
    dataset.save_as(target)
    return target


def import_study(folder: Path, tag: str, **fields) -> Study:
    """``write_study`` imported into the archive; the Study row."""
    report = Importer().run([write_study(folder, tag, **fields)])
    assert not report.rejected
    return Study.objects.select_related("patient").get(study_uid=study_uid_of(tag))


def find_answer(
    tag: str,
    *,
    patient_id: str = PATIENT_ID,
    issuer: str = ISSUER,
    date: str = "20240101",
    modalities: str = "CT",
    description: str = "",
) -> Dataset:
    """A study-level C-FIND answer as a node would send it for the study tagged ``tag``."""
    answer = Dataset()
    answer.QueryRetrieveLevel = "STUDY"
    answer.StudyInstanceUID = study_uid_of(tag)
    answer.PatientID, answer.PatientName = patient_id, "Prior^Test"
    if issuer:
        answer.IssuerOfPatientID = issuer
    answer.StudyDate = date
    answer.AccessionNumber = f"ACC-{tag}"[:16]
    answer.StudyDescription = description or f"{modalities} {tag}"
    answer.ModalitiesInStudy = modalities
    answer.NumberOfStudyRelatedSeries = 1
    answer.NumberOfStudyRelatedInstances = 3
    return answer


def start_find_peer(answers: list[Dataset], ae_title: str = "PRIORS"):
    """An in-process C-FIND peer that answers ``answers`` to any study query, whatever
    its keys (as a PACS that matches loosely would); returns (server, port)."""
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    from tests.base import free_port

    def handle_find(event):
        for answer in answers:
            yield 0xFF00, answer

    ae = AE(ae_title=ae_title)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_FIND, handle_find)]
    )
    return server, port
