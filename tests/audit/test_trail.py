"""The rest of the trail: local searches, exports the browser reports, imports by command
and by C-STORE, our processes starting and stopping, and the admin's list."""

import getpass
import json
import socket
import time

import pydicom
import pytest
from django.core.management import call_command
from django.test import Client
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, StudyRootQueryRetrieveInformationModelFind

from tests.base import free_port, sample
from viewer.archive.models import Instance, Study
from viewer.audit import access
from viewer.audit.activity import application_activity
from viewer.audit.models import AuditEvent
from viewer.management.commands import run_scp
from viewer.nodes.scp import start_server
from viewer.web.export_report_views import BadReport, clean_report

pytestmark = pytest.mark.django_db


def rows(event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=event).order_by("pk"))


def wait_for_rows(event: str) -> list[AuditEvent]:
    """The rows of ``event`` once there are any: the SCP writes them in its own thread."""
    deadline = time.monotonic() + 10
    while not (found := rows(event)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


# Local searches (the study list and /api/studies/)


def test_a_local_search_on_the_study_list_is_recorded_with_its_terms(alice_client, alice):
    alice_client.get("/", {"patient_name": "wang*", "modality": "CT"}, REMOTE_ADDR="10.0.0.5")
    [query] = rows(AuditEvent.QUERY)
    assert (query.user, query.remote_address) == (alice, "10.0.0.5")
    assert "local archive" in query.detail
    assert "patient name=wang*" in query.detail and "modality=CT" in query.detail


def test_a_search_of_the_study_api_is_recorded(alice_client):
    alice_client.get("/api/studies/", {"patient_id": "PW-DEMO-0001", "date_from": "2024-01-01"})
    [query] = rows(AuditEvent.QUERY)
    assert "patient ID=PW-DEMO-0001" in query.detail and "from 2024-01-01" in query.detail


def test_opening_the_list_without_terms_is_a_query_for_all_studies(alice_client):
    alice_client.get("/")
    [query] = rows(AuditEvent.QUERY)
    assert query.detail.endswith("all studies")


# A PNG saved in the browser, reported by the viewer


def report(**fields) -> dict:
    return {"format": "png", "annotated": True, "patient_data_burnt_in": False, **fields}


def post_report(client, study_uid: str, body) -> int:
    data = body if isinstance(body, str) else json.dumps(body)
    url = f"/api/studies/{study_uid}/exports/"
    return client.post(url, data, content_type="application/json").status_code


def test_a_saved_png_is_recorded_as_an_export_of_the_study(alice_client, alice, small_ct):
    study = Study.objects.select_related("patient").get()
    instance = Instance.objects.filter(rows__isnull=False).first()
    body = report(sop_instance_uid=instance.sop_instance_uid, patient_data_burnt_in=True)
    assert post_report(alice_client, study.study_uid, body) == 204
    [exported] = rows(AuditEvent.EXPORTED)
    assert (exported.user, exported.study_uid, exported.patient_id) == (
        alice,
        study.study_uid,
        study.patient.patient_id,
    )
    assert "PNG" in exported.detail and "patient data burnt in" in exported.detail
    assert instance.sop_instance_uid in exported.detail


def test_an_mpr_pane_is_reported_by_its_series(alice_client, small_ct):
    study = Study.objects.get()
    series_uid = study.series.first().series_uid
    assert post_report(alice_client, study.study_uid, report(series_uid=series_uid)) == 204
    [exported] = rows(AuditEvent.EXPORTED)
    assert f"MPR of series {series_uid}" in exported.detail
    assert "no patient data" in exported.detail


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        report(format="jpeg"),
        report(annotated="yes"),
        {"format": "png", "annotated": False},
        report(sop_instance_uid="1..2"),
        report(sop_instance_uid=7),
        report(patient_name="Wang"),
        report(sop_instance_uid="1.2.3.4"),  # no image of this study
    ],
)
def test_a_bad_report_is_refused_and_records_nothing(alice_client, small_ct, body):
    study = Study.objects.get()
    assert post_report(alice_client, study.study_uid, body) == 400
    assert rows(AuditEvent.EXPORTED) == []


def test_a_report_for_an_unknown_study_is_a_404(alice_client, db):
    assert post_report(alice_client, "1.2.3.4.5", report()) == 404


def test_a_report_needs_the_csrf_token_like_the_other_json_posts(alice, small_ct):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert post_report(client, Study.objects.get().study_uid, report()) == 403
    assert rows(AuditEvent.EXPORTED) == []


def test_clean_report_names_what_is_wrong():
    with pytest.raises(BadReport, match="patient_data_burnt_in"):
        clean_report({"format": "png", "annotated": True, "patient_data_burnt_in": None})
    assert clean_report(report(sop_instance_uid=None)).sop_instance_uid == ""


# Imports: by the command line and by C-STORE


def test_import_dicom_records_the_os_account_the_machine_and_the_patient(small_ct_folder):
    call_command("import_dicom", str(small_ct_folder), "--no-progress")
    [imported] = rows(AuditEvent.IMPORTED)
    assert imported.username == f"os:{getpass.getuser()}"
    assert imported.remote_address == "127.0.0.1"
    assert socket.gethostname() in imported.detail
    assert imported.patient_id == Study.objects.get().patient.patient_id == "PW-DEMO-0001"


@pytest.fixture
def our_scp(settings):
    """Our SCP, in-process on a free port, as PACSWEB."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    port = free_port()
    server = start_server("127.0.0.1", port)
    yield port
    server.shutdown()


def associate(port: int, calling: str, context):
    ae = AE(ae_title=calling)
    ae.add_requested_context(context)
    return ae.associate("127.0.0.1", port, ae_title="PACSWEB")


@pytest.mark.django_db(transaction=True)
def test_a_c_store_is_recorded_with_the_peers_ae_title_address_and_patient(our_scp):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    assoc = associate(our_scp, "CT7", CTImageStorage)
    assert assoc.is_established
    try:
        assert assoc.send_c_store(dataset).Status == 0
    finally:
        assoc.release()
    [imported] = wait_for_rows(AuditEvent.IMPORTED)
    assert (imported.ae_title, imported.remote_address) == ("CT7", "127.0.0.1")
    assert imported.patient_id == dataset.PatientID
    assert imported.study_uid == dataset.StudyInstanceUID


@pytest.mark.django_db(transaction=True)
def test_a_refused_query_is_recorded_with_the_callers_ae_title(our_scp):
    assoc = associate(our_scp, "STRANGER", StudyRootQueryRetrieveInformationModelFind)
    if assoc.is_established:
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
        assoc.release()
    [refused] = wait_for_rows(AuditEvent.QUERY)
    assert (refused.ae_title, refused.outcome) == ("STRANGER", AuditEvent.FAILURE)


# Application Activity


def test_run_scp_records_its_start_and_its_stop(monkeypatch, settings):
    # SIGTERM at once: the command starts, records, stops and records.
    monkeypatch.setattr(run_scp.signal, "signal", lambda signum, handler: handler(signum, None))
    call_command("run_scp", "--port", str(free_port()), "--ae-title", "PACSWEB")
    started, stopped = rows(AuditEvent.APPLICATION_ACTIVITY)
    assert "run_scp started" in started.detail and "run_scp stopped" in stopped.detail
    assert started.username == stopped.username == f"os:{getpass.getuser()}"


def test_stopping_writes_the_reads_still_counted_in_memory(alice, small_ct, monkeypatch):
    monkeypatch.setattr(access, "TALLY", access.AccessTally())
    study_uid = Study.objects.get().study_uid
    for _ in range(5):
        access.write(access.note_access(study_uid, alice))
    application_activity("serve", started=False)
    assert AuditEvent.objects.get(event=AuditEvent.INSTANCES_ACCESSED).count == 5
    assert "serve stopped" in rows(AuditEvent.APPLICATION_ACTIVITY)[0].detail


# The admin's list


def test_administrators_find_rows_by_ae_title_and_patient_id(client, admin_user):
    AuditEvent.objects.create(event=AuditEvent.IMPORTED, ae_title="CT7", patient_id="P-1")
    AuditEvent.objects.create(event=AuditEvent.QUERY, ae_title="MR2", patient_id="P-2")
    client.force_login(admin_user)
    by_ae = client.get("/admin/viewer/auditevent/", {"q": "CT7"})
    by_patient = client.get("/admin/viewer/auditevent/", {"q": "P-2"})
    assert by_ae.context["cl"].result_count == 1
    assert by_patient.context["cl"].result_count == 1
    page = by_ae.content.decode()
    assert "column-who" in page and "column-patient_id" in page and "column-count" in page
    assert "AE CT7" in page


def test_the_admin_filters_the_trail_by_date(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/viewer/auditevent/")
    assert any(spec.title == "time" for spec in response.context["cl"].filter_specs)


def test_it_names_the_patient_when_a_study_is_opened(alice_client, small_ct):
    # Regression: "study opened" rows carried the study but no patient ID.
    study = Study.objects.select_related("patient").get()
    assert alice_client.get(f"/studies/{study.study_uid}/view/").status_code == 200
    opened = AuditEvent.objects.get(event=AuditEvent.STUDY_OPENED, study_uid=study.study_uid)
    assert opened.patient_id == study.patient.patient_id != ""
