"""The audit trail as DICOM Audit Messages (PS3.15 A.5, the successor of RFC 3881).

Pure functions: a row's fields in, the XML out; no database, clock or network."""

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from .models import AuditEvent

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

# EventOutcomeIndicator (PS3.15 A.5.2): 0 success; 4 minor failure, "e.g. invalid password
# with first retry"; 8 serious failure, "action terminated, e.g. invalid password with
# excess retries". A wrong password is minor, a lockout or any refused or failed DICOM
# access is serious; 12 (application now unavailable) is never ours to claim.
SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE = "0", "4", "8"


@dataclass(frozen=True)
class Code:
    """A coded value: csd-code, codeSystemName and the code meaning (originalText)."""

    value: str
    scheme: str
    meaning: str


def _dcm(value: str, meaning: str) -> Code:
    return Code(value, "DCM", meaning)


# CID 400 Audit Event ID.
APPLICATION_ACTIVITY = _dcm("110100", "Application Activity")
BEGIN_TRANSFERRING = _dcm("110102", "Begin Transferring DICOM Instances")
INSTANCES_ACCESSED = _dcm("110103", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = _dcm("110104", "DICOM Instances Transferred")
EXPORT = _dcm("110106", "Export")
IMPORT = _dcm("110107", "Import")
QUERY = _dcm("110112", "Query")
SECURITY_ALERT = _dcm("110113", "Security Alert")
USER_AUTHENTICATION = _dcm("110114", "User Authentication")
# CID 401 Audit Event Type Codes (application activity, user authentication) and
# CID 403 Security Alert Type.
APPLICATION_START = _dcm("110120", "Application Start")
APPLICATION_STOP = _dcm("110121", "Application Stop")
LOGIN = _dcm("110122", "Login")
LOGOUT = _dcm("110123", "Logout")
NETWORK_CONFIGURATION = _dcm("110128", "Network Configuration")
USER_SECURITY_ATTRIBUTES_CHANGED = _dcm("110137", "User Security Attributes Changed")
# CID 402 Audit Active Participant Role ID.
APPLICATION = _dcm("110150", "Application")
DESTINATION = _dcm("110152", "Destination Role ID")
SOURCE = _dcm("110153", "Source Role ID")
# CID 405 Media Type: a download through the browser leaves as a URI.
URI_MEDIA = _dcm("110037", "URI")
# CID 404 Audit Participant Object ID Type, and RFC 3881's own ID type codes.
STUDY_INSTANCE_UID = _dcm("110180", "Study Instance UID")
SOP_CLASS_UID = _dcm("110181", "SOP Class UID")
NODE_ID = _dcm("110182", "Node ID")
PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
USER_IDENTIFIER = Code("11", "RFC-3881", "User Identifier")

# The Study Root C-FIND SOP Class: every query the trail records is a study-root one
# (the viewer's searches and, by far, what peers send).
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"

# ParticipantObjectTypeCode and ParticipantObjectTypeCodeRole values (PS3.15 A.5.1.2).
PERSON, SYSTEM_OBJECT = "1", "2"
ROLE_PATIENT, ROLE_REPORT, ROLE_SECURITY_USER, ROLE_QUERY = "1", "3", "11", "24"
IP_ADDRESS, MACHINE_NAME = "2", "1"  # NetworkAccessPointTypeCode
APPLICATION_SERVER = "4"  # AuditSourceTypeCode


@dataclass(frozen=True)
class EventKind:
    """How one kind of trail row is told as a DICOM audit message.

    ``actor_role`` and ``application_role`` are the Role ID codes of the requestor and of
    PACSweb when the requestor is a DICOM peer (``peer_*``) or a person (``person_*``);
    ``action_for_person`` overrides ``action`` when a person asked (PACSweb received)."""

    event_id: Code
    action: str
    type_codes: tuple[Code, ...] = ()
    peer_roles: tuple[Code | None, Code | None] = (None, None)
    person_roles: tuple[Code | None, Code | None] = (None, None)
    action_for_person: str = ""
    objects: str = "study"  # "study", "query", "alert", "user" or "none"


KINDS: dict[str, EventKind] = {
    AuditEvent.LOGIN: EventKind(USER_AUTHENTICATION, "E", (LOGIN,), objects="none"),
    AuditEvent.LOGIN_FAILED: EventKind(USER_AUTHENTICATION, "E", (LOGIN,), objects="none"),
    AuditEvent.LOGOUT: EventKind(USER_AUTHENTICATION, "E", (LOGOUT,), objects="none"),
    AuditEvent.STUDY_OPENED: EventKind(INSTANCES_ACCESSED, "R"),
    AuditEvent.INSTANCES_ACCESSED: EventKind(INSTANCES_ACCESSED, "R"),
    # A peer's C-FIND: the peer issues it (Source), we answer (Destination). A person's
    # search: PACSweb issues the C-FIND on their behalf.
    AuditEvent.QUERY: EventKind(
        QUERY, "E", (), (SOURCE, DESTINATION), (None, SOURCE), objects="query"
    ),
    # A peer's C-GET: we send, it receives. A person's retrieve: PACSweb receives copies
    # it did not hold (Create); for a peer we cannot know, so Read (PS3.15 A.5.3.4).
    AuditEvent.RETRIEVE_BEGAN: EventKind(
        BEGIN_TRANSFERRING, "E", (), (DESTINATION, SOURCE), (None, DESTINATION)
    ),
    AuditEvent.RETRIEVED: EventKind(
        INSTANCES_TRANSFERRED,
        "R",
        (),
        (DESTINATION, SOURCE),
        (None, DESTINATION),
        action_for_person="C",
    ),
    # Exports leave PACSweb (Source) for the peer's move destination or the person's
    # browser (Destination).
    AuditEvent.EXPORTED: EventKind(EXPORT, "R", (), (DESTINATION, SOURCE), (DESTINATION, SOURCE)),
    AuditEvent.IMPORTED: EventKind(IMPORT, "C", (), (SOURCE, DESTINATION), (SOURCE, DESTINATION)),
    AuditEvent.NODE_CHANGED: EventKind(
        SECURITY_ALERT, "E", (NETWORK_CONFIGURATION,), objects="alert"
    ),
    # A changed account or permission changes a user's security attributes; the sign-in
    # lockout does too (the account is locked for the cool-off), so both use 110137.
    AuditEvent.USER_CHANGED: EventKind(
        SECURITY_ALERT, "E", (USER_SECURITY_ATTRIBUTES_CHANGED,), objects="alert"
    ),
    AuditEvent.SECURITY_ALERT: EventKind(
        SECURITY_ALERT, "E", (USER_SECURITY_ATTRIBUTES_CHANGED,), objects="user"
    ),
    AuditEvent.APPLICATION_ACTIVITY: EventKind(APPLICATION_ACTIVITY, "E", objects="none"),
}


def outcome_indicator(event: str, outcome: str) -> str:
    """EventOutcomeIndicator for a row: 0, or 4 for a wrong password, else 8 on failure."""
    if outcome != AuditEvent.FAILURE:
        return SUCCESS
    return MINOR_FAILURE if event == AuditEvent.LOGIN_FAILED else SERIOUS_FAILURE


def peer_ae_title(event: AuditEvent) -> str:
    """The calling AE title of a DICOM peer actor; older rows kept it as "AE <title>"."""
    if event.ae_title:
        return event.ae_title.strip()
    if event.username.startswith("AE ") and event.user_id is None:
        return event.username[3:].strip()
    return ""


def event_datetime(timestamp: datetime) -> str:
    """xsd:dateTime in UTC with milliseconds, as PS3.15 A.5.2.5 asks."""
    moment = timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def audit_element(
    event: AuditEvent,
    *,
    source_id: str,
    enterprise_site: str = "",
    ae_title: str = "",
    host: str = "",
) -> ET.Element:
    """The <AuditMessage> element for one trail row.

    Parameters
    ----------
    event : AuditEvent
        The row (saved or not); only its fields are read.
    source_id : str
        AuditSourceID, the name of this PACSweb installation.
    enterprise_site : str
        AuditEnterpriseSiteID, e.g. the hospital, if configured.
    ae_title, host : str
        Our own AE title and host name, given to PACSweb's ActiveParticipant.
    """
    kind = KINDS.get(event.event) or EventKind(APPLICATION_ACTIVITY, "E", objects="none")
    peer = peer_ae_title(event)
    root = ET.Element("AuditMessage")
    _event_identification(root, event, kind, peer)
    actor_role, application_role = kind.peer_roles if peer else kind.person_roles
    has_actor = bool(peer or event.username or event.remote_address)
    if has_actor:
        _actor(root, event, peer, actor_role)
    _application(root, source_id, ae_title, host, application_role, requestor=not has_actor)
    source = ET.SubElement(root, "AuditSourceIdentification", AuditSourceID=source_id)
    if enterprise_site:
        source.set("AuditEnterpriseSiteID", enterprise_site)
    ET.SubElement(source, "AuditSourceTypeCode", {"csd-code": APPLICATION_SERVER})
    _participant_objects(root, event, kind, source_id)
    return root


def audit_message(
    event: AuditEvent,
    *,
    source_id: str,
    enterprise_site: str = "",
    ae_title: str = "",
    host: str = "",
) -> bytes:
    """One trail row as a DICOM Audit Message XML document, UTF-8 encoded."""
    root = audit_element(
        event, source_id=source_id, enterprise_site=enterprise_site, ae_title=ae_title, host=host
    )
    return XML_DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def _coded(parent: ET.Element, tag: str, code: Code) -> ET.Element:
    return ET.SubElement(
        parent,
        tag,
        {"csd-code": code.value, "codeSystemName": code.scheme, "originalText": code.meaning},
    )


def _event_identification(root: ET.Element, event: AuditEvent, kind: EventKind, peer: str):
    action = kind.action
    if kind.action_for_person and not peer:
        action = kind.action_for_person
    identification = ET.SubElement(
        root,
        "EventIdentification",
        EventActionCode=action,
        EventDateTime=event_datetime(event.timestamp),
        EventOutcomeIndicator=outcome_indicator(event.event, event.outcome),
    )
    _coded(identification, "EventID", kind.event_id)
    type_codes = kind.type_codes
    if event.event == AuditEvent.APPLICATION_ACTIVITY:
        stopped = "stop" in event.detail.lower()
        type_codes = (APPLICATION_STOP if stopped else APPLICATION_START,)
    for code in type_codes:
        _coded(identification, "EventTypeCode", code)
    # The row's note is the event's free text, kept out of the message where it may name
    # a patient: a search's terms (patient name, ID) stay in the database. Passwords
    # never reach the trail.
    if event.detail and kind.objects not in ("alert", "user", "query"):
        ET.SubElement(identification, "EventOutcomeDescription").text = _text(event.detail)


def _actor(root: ET.Element, event: AuditEvent, peer: str, role: Code | None) -> None:
    participant = ET.SubElement(root, "ActiveParticipant")
    if role is not None:
        _coded(participant, "RoleIDCode", role)
    if event.event == AuditEvent.EXPORTED and not peer:
        media = ET.SubElement(participant, "MediaIdentifier")
        _coded(media, "MediaType", URI_MEDIA)
    if peer:
        participant.set("UserID", _text(peer))
        participant.set("AlternativeUserID", _text(f"AETITLES={peer}"))
    else:
        participant.set("UserID", _text(event.username or "unknown"))
        if event.username:
            participant.set("UserName", _text(event.username))
    participant.set("UserIsRequestor", "true")
    if event.remote_address:
        participant.set("NetworkAccessPointID", str(event.remote_address))
        participant.set("NetworkAccessPointTypeCode", IP_ADDRESS)


def _application(
    root: ET.Element, source_id: str, ae_title: str, host: str, role, *, requestor: bool
) -> None:
    participant = ET.SubElement(root, "ActiveParticipant")
    _coded(participant, "RoleIDCode", role or APPLICATION)
    participant.set("UserID", _text(source_id))
    if ae_title:
        participant.set("AlternativeUserID", _text(f"AETITLES={ae_title}"))
    participant.set("UserIsRequestor", "true" if requestor else "false")
    if host:
        participant.set("NetworkAccessPointID", host)
        participant.set("NetworkAccessPointTypeCode", MACHINE_NAME)


def _participant_objects(root: ET.Element, event: AuditEvent, kind: EventKind, source_id: str):
    if kind.objects == "query":
        query = _object(root, STUDY_ROOT_FIND, SOP_CLASS_UID, SYSTEM_OBJECT, ROLE_QUERY)
        # The query's identifier is not kept in the trail (it may hold patient names),
        # so the message carries an empty one; the study, if any, follows below.
        ET.SubElement(query, "ParticipantObjectQuery").text = ""
    elif kind.objects == "alert":
        subject = _object(root, source_id, NODE_ID, SYSTEM_OBJECT, None)
        ET.SubElement(subject, "ParticipantObjectName").text = _text(source_id)
        _alert_description(subject, event.detail)
        return
    elif kind.objects == "user":
        subject = _object(
            root, event.username or "unknown", USER_IDENTIFIER, PERSON, ROLE_SECURITY_USER
        )
        ET.SubElement(subject, "ParticipantObjectName").text = _text(event.username or "unknown")
        _alert_description(subject, event.detail)
        return
    elif kind.objects == "none":
        return
    if event.study_uid:
        _object(root, event.study_uid, STUDY_INSTANCE_UID, SYSTEM_OBJECT, ROLE_REPORT)
    if event.patient_id:
        _object(root, event.patient_id, PATIENT_NUMBER, PERSON, ROLE_PATIENT)


def _object(root: ET.Element, object_id: str, id_type: Code, type_code: str, role: str | None):
    participant = ET.SubElement(root, "ParticipantObjectIdentification")
    participant.set("ParticipantObjectID", _text(object_id))
    participant.set("ParticipantObjectTypeCode", type_code)
    if role is not None:
        participant.set("ParticipantObjectTypeCodeRole", role)
    _coded(participant, "ParticipantObjectIDTypeCode", id_type)
    return participant


def _alert_description(subject: ET.Element, detail: str) -> None:
    if detail:
        value = base64.b64encode(detail.encode("utf-8")).decode("ascii")
        ET.SubElement(subject, "ParticipantObjectDetail", type="Alert Description", value=value)


def _text(value: str) -> str:
    # XML 1.0 cannot carry most control characters; a hostile user name must not make
    # the message unparseable, so they become spaces.
    return "".join(ch if ch in "\t\n\r" or ch >= " " else " " for ch in value)
