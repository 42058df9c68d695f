"""Our C-FIND streams its matches, honours C-CANCEL, keeps identifiers out of logs and
sends a small response in one PDU."""

import datetime
import logging
import threading
from types import SimpleNamespace

import pynetdicom.association
import pynetdicom.service_class
import pytest
from django.db.backends.signals import connection_created
from pydicom.dataset import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind
from pynetdicom.status import Status

from viewer.archive.models import Instance, Patient, Series, Study
from viewer.nodes import qr
from viewer.nodes.handlers import handle_find
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
    assert status == Status.PENDING and first.PatientName == "Li^Na0"
    assert rows_read[0] <= qr.CHUNK_SIZE < STUDIES
    rest = list(answers)
    assert len(rest) == STUDIES - 1 and all(status == Status.PENDING for status, _ in rest)
    assert rest[-1][1].StudyInstanceUID == f"1.2.826.0.1.3680043.8.498.{STUDIES}"
    assert rest[-1][1].NumberOfStudyRelatedInstances == 10


def test_it_stops_reading_matches_once_cancelled(rows_read):
    make_studies(STUDIES)
    event = SimpleNamespace(identifier=study_query(), is_cancelled=False)
    answers = handle_find(event)
    assert next(answers)[0] == Status.PENDING
    event.is_cancelled = True
    assert list(answers) == [(Status.CANCEL, None)]
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


def find_on_one_association(settings, identifiers: list[Dataset], max_pdu: int = 16382):
    """Each query's answers, all asked on one association; and the P-DATA-TF PDUs
    that brought them."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    RemoteNode.objects.create(name="ward", ae_title="WARD", host="127.0.0.1")
    port = free_port()
    server = start_server("127.0.0.1", port)
    pdus = []
    try:
        ae = AE(ae_title="WARD")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        assoc = ae.associate(
            "127.0.0.1",
            port,
            ae_title="PACSWEB",
            max_pdu=max_pdu,
            evt_handlers=[(evt.EVT_PDU_RECV, lambda event: pdus.append(event.pdu))],
        )
        answers = [
            [
                (status.Status, found)
                for status, found in assoc.send_c_find(
                    identifier, StudyRootQueryRetrieveInformationModelFind
                )
            ]
            for identifier in identifiers
        ]
        assoc.release()
    finally:
        server.shutdown()
    return answers, [pdu for pdu in pdus if isinstance(pdu, P_DATA_TF)]


def one_study_query(uid: str) -> Dataset:
    identifier = study_query()
    identifier.StudyInstanceUID = uid
    return identifier


def test_each_query_of_an_association_gets_its_own_matches_and_success(settings):
    make_studies(3)
    answers, _ = find_on_one_association(
        settings, [study_query(), one_study_query("1.2.826.0.1.3680043.8.498.2"), study_query()]
    )
    everything, one, again = answers
    assert [status for status, _ in everything] == [Status.PENDING] * 3 + [Status.SUCCESS]
    assert [found.PatientName for _, found in everything[:3]] == ["Li^Na0", "Li^Na1", "Li^Na2"]
    assert [status for status, _ in one] == [Status.PENDING, Status.SUCCESS]
    assert one[0][1].StudyInstanceUID == "1.2.826.0.1.3680043.8.498.2"
    assert one[0][1].NumberOfStudyRelatedInstances == 10
    assert again == everything


@pytest.mark.parametrize("max_pdu", [0, 16382])
def test_a_small_response_arrives_as_one_pdu(settings, max_pdu):
    make_studies(3)
    answers, pdus = find_on_one_association(settings, [study_query()], max_pdu)
    assert [status for status, _ in answers[0]] == [Status.PENDING] * 3 + [Status.SUCCESS]
    # Three matches in a PDU each (command and identifier), then the final success.
    assert len(pdus) == 4
    assert [len(pdu.presentation_data_value_items) for pdu in pdus] == [2, 2, 2, 1]


def test_a_response_larger_than_the_peers_pdu_arrives_in_fragments(settings):
    make_studies(2)
    answers, pdus = find_on_one_association(settings, [study_query()], max_pdu=64)
    assert [status for status, _ in answers[0]] == [Status.PENDING, Status.PENDING, Status.SUCCESS]
    assert [str(found.PatientName) for _, found in answers[0][:2]] == ["Li^Na0", "Li^Na1"]
    assert all(len(pdu.encode()) <= 64 + 6 for pdu in pdus)
    assert len(pdus) > 3 * 2


def test_an_associations_queries_share_one_database_connection(settings):
    make_studies(2)
    opened = []

    def count(sender, connection, **kwargs):
        opened.append(threading.current_thread().name)

    connection_created.connect(count)
    try:
        find_on_one_association(settings, [study_query()])
        RemoteNode.objects.all().delete()
        with_one_query = len(opened)
        answers, _ = find_on_one_association(settings, [study_query()] * 3)
    finally:
        connection_created.disconnect(count)
    assert all(len(found) == 3 for found in answers)
    assert len(opened) == 2 * with_one_query


def test_an_image_query_reads_each_series_once_a_chunk(django_assert_max_num_queries):
    make_studies(2)
    images = 2 * qr.CHUNK_SIZE + 1
    for n, study in enumerate(Study.objects.order_by("id")):
        series = Series.objects.create(series_uid=f"{study.study_uid}.1", study=study)
        Instance.objects.bulk_create(
            Instance(
                sop_instance_uid=f"{series.series_uid}.{i}",
                series=series,
                sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
                instance_number=i,
                file_path=f"{n}/{i}.dcm",
                file_size=1,
            )
            for i in range(images)
        )
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    identifier.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    identifier.PatientName = ""
    identifier.SeriesInstanceUID = ""
    identifier.InstanceNumber = ""
    # Three chunks of images, each with one read of its series, study and patient.
    with django_assert_max_num_queries(6):
        found = list(qr.responses(identifier))
    assert [response.InstanceNumber for response in found] == list(range(images))
    assert {str(response.PatientName) for response in found} == {"Li^Na1"}
    assert {response.SeriesInstanceUID for response in found} == {"1.2.826.0.1.3680043.8.498.2.1"}


def test_each_response_is_still_logged_when_pynetdicom_is_debugged(settings, caplog):
    caplog.set_level(logging.DEBUG, logger="pynetdicom")
    make_studies(3)
    assert find_over_the_network(settings) == 3
    statuses = [
        record.getMessage().split(":")[1].strip()
        for record in caplog.records
        if record.funcName == "_send_c_find_rsp" and record.getMessage().startswith("Status")
    ]
    assert statuses == ["0xFF00"] * 3 + ["0x0000"]
