"""Our C-FIND streams its matches, honours C-CANCEL and keeps identifiers out of logs."""

import datetime
import logging
from types import SimpleNamespace

import pynetdicom.association
import pynetdicom.service_class
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, _config
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from viewer.archive.models import Patient, Study
from viewer.nodes import qr
from viewer.nodes.handlers import CANCEL, PENDING, handle_find
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server

from .conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

STUDIES = 5000


def make_studies(count: int) -> None:
    """``count`` studies of as many patients, rows only (no files at STUDY level)."""
    Patient.objects.bulk_create(
        Patient(patient_key=f"id:|P{n:05d}", patient_id=f"P{n:05d}", patient_name=f"Li^Na{n}")
        for n in range(count)
    )
    Study.objects.bulk_create(
        Study(
            study_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}",
            patient=patient,
            study_date=datetime.date(2026, 1, 1),
            num_series=1,
            num_instances=10,
        )
        for n, patient in enumerate(Patient.objects.order_by("id"))
    )


@pytest.fixture
def rows_read(monkeypatch):
    """How many Study rows the ORM has made from the database so far."""
    made = [0]
    original = Study.from_db.__func__

    def counting(cls, db, field_names, values):
        made[0] += 1
        return original(cls, db, field_names, values)

    monkeypatch.setattr(Study, "from_db", classmethod(counting))
    return made


def study_query() -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = ""
    identifier.PatientName = ""
    identifier.NumberOfStudyRelatedInstances = ""
    return identifier


def test_it_sends_the_first_match_before_reading_the_last(rows_read):
    make_studies(STUDIES)
    event = SimpleNamespace(identifier=study_query(), is_cancelled=False)
    answers = handle_find(event)
    status, first = next(answers)
    assert status == PENDING and first.PatientName == "Li^Na0"
    assert rows_read[0] <= qr.CHUNK_SIZE < STUDIES
    rest = list(answers)
    assert len(rest) == STUDIES - 1 and all(status == PENDING for status, _ in rest)
    assert rest[-1][1].StudyInstanceUID == f"1.2.826.0.1.3680043.8.498.{STUDIES}"
    assert rest[-1][1].NumberOfStudyRelatedInstances == 10


def test_it_stops_reading_matches_once_cancelled(rows_read):
    make_studies(STUDIES)
    event = SimpleNamespace(identifier=study_query(), is_cancelled=False)
    answers = handle_find(event)
    assert next(answers)[0] == PENDING
    event.is_cancelled = True
    assert list(answers) == [(CANCEL, None)]
    assert rows_read[0] <= qr.CHUNK_SIZE


def test_it_answers_keys_no_level_knows_with_empty_values():
    make_studies(2)
    identifier = study_query()
    identifier.SOPInstanceUID = ""  # an image key in a study query
    identifier.PatientComments = ""  # a key we do not keep
    answers = list(handle_find(SimpleNamespace(identifier=identifier, is_cancelled=False)))
    assert len(answers) == 2
    for _, response in answers:
        assert response.QueryRetrieveLevel == "STUDY"
        assert response.SpecificCharacterSet == "ISO_IR 192"
        assert response.SOPInstanceUID == "" and response.PatientComments == ""
        assert str(response.PatientName).startswith("Li^Na")


@pytest.fixture
def pretty_printed(monkeypatch):
    """Counts pynetdicom's pretty-printing of identifiers, on our side and the SCU's."""
    calls = [0]
    original = pynetdicom.service_class.pretty_dataset

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    for module in (pynetdicom.service_class, pynetdicom.association):
        monkeypatch.setattr(module, "pretty_dataset", counting)
    # pynetdicom's defaults; whatever an earlier test left is restored afterwards.
    monkeypatch.setattr(_config, "LOG_REQUEST_IDENTIFIERS", True)
    monkeypatch.setattr(_config, "LOG_RESPONSE_IDENTIFIERS", True)
    return calls


def find_over_the_network(settings) -> int:
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    RemoteNode.objects.create(name="ward", ae_title="WARD", host="127.0.0.1")
    port = free_port()
    server = start_server("127.0.0.1", port)
    try:
        ae = AE(ae_title="WARD")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        assoc = ae.associate("127.0.0.1", port, ae_title="PACSWEB")
        answers = list(assoc.send_c_find(study_query(), StudyRootQueryRetrieveInformationModelFind))
        assoc.release()
    finally:
        server.shutdown()
    return sum(1 for status, _ in answers if status and status.Status == 0xFF00)


def test_it_does_not_pretty_print_identifiers_at_info(settings, caplog, pretty_printed):
    caplog.set_level(logging.INFO, logger="pynetdicom")
    make_studies(3)
    assert find_over_the_network(settings) == 3
    assert pretty_printed[0] == 0
    assert "Li^Na" not in caplog.text


def test_it_still_logs_identifiers_when_pynetdicom_is_debugged(settings, caplog, pretty_printed):
    caplog.set_level(logging.DEBUG, logger="pynetdicom")
    make_studies(3)
    assert find_over_the_network(settings) == 3
    assert pretty_printed[0] > 0
