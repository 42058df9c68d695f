"""The audit trail as DICOM audit messages (PS3.15 A.5): codes, participants, objects."""

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from viewer.audit.atna import audit_message
from viewer.audit.models import AuditEvent

WHEN = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def _message(**fields) -> ET.Element:
    fields.setdefault("timestamp", WHEN)
    event = AuditEvent(**fields)
    xml = audit_message(event, source_id="PACSweb@ward", ae_title="PACSWEB", host="ward")
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml)


def _code(element: ET.Element) -> str:
    return element.get("csd-code")


def _participants(root: ET.Element) -> list[ET.Element]:
    return root.findall("ActiveParticipant")


def _objects(root: ET.Element) -> dict[str, ET.Element]:
    """Participant objects by their ID type code."""
    return {
        _code(obj.find("ParticipantObjectIDTypeCode")): obj
        for obj in root.findall("ParticipantObjectIdentification")
    }


@pytest.mark.parametrize(
    ("kind", "event_id", "type_codes", "action"),
    [
        (AuditEvent.LOGIN, "110114", ["110122"], "E"),
        (AuditEvent.LOGIN_FAILED, "110114", ["110122"], "E"),
        (AuditEvent.LOGOUT, "110114", ["110123"], "E"),
        (AuditEvent.STUDY_OPENED, "110103", [], "R"),
        (AuditEvent.INSTANCES_ACCESSED, "110103", [], "R"),
        (AuditEvent.QUERY, "110112", [], "E"),
        (AuditEvent.RETRIEVE_BEGAN, "110102", [], "E"),
        (AuditEvent.RETRIEVED, "110104", [], "C"),
        (AuditEvent.EXPORTED, "110106", [], "R"),
        (AuditEvent.IMPORTED, "110107", [], "C"),
        (AuditEvent.NODE_CHANGED, "110113", ["110128"], "E"),
        (AuditEvent.USER_CHANGED, "110113", ["110137"], "E"),
        (AuditEvent.SECURITY_ALERT, "110113", ["110137"], "E"),
        (AuditEvent.APPLICATION_ACTIVITY, "110100", ["110120"], "E"),
    ],
)
def test_it_codes_each_kind_of_event(kind, event_id, type_codes, action):
    root = _message(event=kind, username="alice", study_uid="1.2.3")
    identification = root.find("EventIdentification")
    assert _code(identification.find("EventID")) == event_id
    assert identification.find("EventID").get("codeSystemName") == "DCM"
    assert [_code(code) for code in identification.findall("EventTypeCode")] == type_codes
    assert identification.get("EventActionCode") == action
    assert identification.get("EventDateTime") == "2025-03-04T05:06:07.890Z"
    assert root.find("AuditSourceIdentification").get("AuditSourceID") == "PACSweb@ward"


@pytest.mark.parametrize(
    ("kind", "outcome", "indicator"),
    [
        (AuditEvent.LOGIN, AuditEvent.SUCCESS, "0"),
        (AuditEvent.LOGIN_FAILED, AuditEvent.FAILURE, "4"),
        (AuditEvent.SECURITY_ALERT, AuditEvent.FAILURE, "8"),
        (AuditEvent.QUERY, AuditEvent.FAILURE, "8"),
    ],
)
def test_it_grades_the_outcome(kind, outcome, indicator):
    root = _message(event=kind, username="alice", outcome=outcome)
    assert root.find("EventIdentification").get("EventOutcomeIndicator") == indicator


def test_it_names_the_person_who_logged_in_and_where_from():
    root = _message(event=AuditEvent.LOGIN, username="alice", remote_address="10.0.0.7")
    person, application = _participants(root)
    assert person.get("UserID") == "alice"
    assert person.get("UserIsRequestor") == "true"
    assert (person.get("NetworkAccessPointID"), person.get("NetworkAccessPointTypeCode")) == (
        "10.0.0.7",
        "2",
    )
    assert application.get("UserID") == "PACSweb@ward"
    assert application.get("UserIsRequestor") == "false"
    assert application.get("AlternativeUserID") == "AETITLES=PACSWEB"
    assert root.find("ParticipantObjectIdentification") is None


def test_it_names_the_study_and_the_patient_that_were_opened():
    root = _message(
        event=AuditEvent.STUDY_OPENED, username="alice", study_uid="1.2.3.4", patient_id="P-77"
    )
    objects = _objects(root)
    study, patient = objects["110180"], objects["2"]
    assert study.get("ParticipantObjectID") == "1.2.3.4"
    assert (study.get("ParticipantObjectTypeCode"), study.get("ParticipantObjectTypeCodeRole")) == (
        "2",
        "3",
    )
    assert patient.get("ParticipantObjectID") == "P-77"
    assert patient.find("ParticipantObjectIDTypeCode").get("codeSystemName") == "RFC-3881"
    assert (
        patient.get("ParticipantObjectTypeCode"),
        patient.get("ParticipantObjectTypeCodeRole"),
    ) == ("1", "1")


def test_a_chinese_patient_id_survives_the_round_trip():
    root = _message(event=AuditEvent.STUDY_OPENED, username="alice", patient_id="张三-001")
    assert _objects(root)["2"].get("ParticipantObjectID") == "张三-001"


def test_a_query_is_a_query_object_of_the_study_root_sop_class():
    root = _message(event=AuditEvent.QUERY, username="alice", detail="C-FIND STUDY on PACS")
    query = _objects(root)["110181"]
    assert query.get("ParticipantObjectTypeCodeRole") == "24"
    assert query.get("ParticipantObjectID") == "1.2.840.10008.5.1.4.1.2.2.1"
    assert query.find("ParticipantObjectQuery") is not None


def test_a_search_s_terms_stay_out_of_the_message():
    # Regression: a search's terms (patient name and ID) went to the collector as the
    # event's description, over plain UDP or TCP where so configured.
    root = _message(
        event=AuditEvent.QUERY,
        username="alice",
        detail="local archive: patient name=WANG^XIAOMING, patient ID=P12345",
    )
    text = ET.tostring(root, encoding="unicode")
    assert "WANG" not in text and "P12345" not in text


def test_a_dicom_peer_is_named_by_its_ae_title_with_its_role():
    root = _message(
        event=AuditEvent.RETRIEVED, ae_title="WARD_WS", remote_address="10.1.2.3", study_uid="1.2"
    )
    peer, application = _participants(root)
    assert peer.get("UserID") == "WARD_WS"
    assert peer.get("AlternativeUserID") == "AETITLES=WARD_WS"
    assert _code(peer.find("RoleIDCode")) == "110152"  # it received the C-GET
    assert _code(application.find("RoleIDCode")) == "110153"
    assert root.find("EventIdentification").get("EventActionCode") == "R"


def test_older_rows_that_kept_the_ae_title_in_the_user_name_still_name_the_peer():
    root = _message(event=AuditEvent.IMPORTED, username="AE MODALITY", study_uid="1.2")
    assert _participants(root)[0].get("UserID") == "MODALITY"


def test_an_import_without_a_person_has_pacsweb_as_the_requestor():
    root = _message(event=AuditEvent.IMPORTED, study_uid="1.2", detail="import_dicom")
    (application,) = _participants(root)
    assert application.get("UserIsRequestor") == "true"


def test_a_lockout_names_the_account_and_carries_its_description():
    root = _message(
        event=AuditEvent.SECURITY_ALERT,
        username="alice",
        outcome=AuditEvent.FAILURE,
        detail="sign-in locked out after repeated wrong passwords",
    )
    subject = _objects(root)["11"]
    assert subject.get("ParticipantObjectID") == "alice"
    detail = subject.find("ParticipantObjectDetail")
    assert detail.get("type") == "Alert Description"
    assert base64.b64decode(detail.get("value")).decode() == (
        "sign-in locked out after repeated wrong passwords"
    )


def test_the_note_goes_only_to_the_outcome_description():
    root = _message(
        event=AuditEvent.EXPORTED, username="alice", study_uid="1.2", detail="measurements JSON"
    )
    assert root.find("EventIdentification/EventOutcomeDescription").text == "measurements JSON"
    for element in root.iter():
        if element.tag != "EventOutcomeDescription":
            assert "measurements" not in " ".join(element.attrib.values())


def test_application_stop_is_told_from_start():
    root = _message(event=AuditEvent.APPLICATION_ACTIVITY, detail="serve stopped")
    assert _code(root.find("EventIdentification/EventTypeCode")) == "110121"


def test_control_characters_in_a_user_name_do_not_break_the_xml():
    root = _message(event=AuditEvent.LOGIN_FAILED, username="bob\x00\x1b", outcome="failure")
    assert _participants(root)[0].get("UserID") == "bob  "


@pytest.mark.django_db
def test_a_failed_login_message_never_holds_the_password(client, alice):
    client.post("/login/", {"username": "alice", "password": "guess-123"}, REMOTE_ADDR="10.0.0.8")
    event = AuditEvent.objects.get(event=AuditEvent.LOGIN_FAILED)
    xml = audit_message(event, source_id="PACSweb@ward")
    assert b"guess-123" not in xml
    assert ET.fromstring(xml).find("ActiveParticipant").get("UserID") == "alice"
