"""Studies in the archive and remote nodes for the launch URL's tests."""

import datetime

from tests.base import free_port
from viewer.archive.models import Patient, Study
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import RemoteStudy


def make_study(
    uid: str, patient_id: str, day: datetime.date | None, accession: str = "", **more
) -> Study:
    """A study row of the patient (issuer, ID), named "Li^Lei" unless told otherwise."""
    issuer = more.pop("issuer", "")
    patient, _ = Patient.objects.get_or_create(
        patient_key=f"{issuer}|{patient_id}",
        defaults={
            "patient_id": patient_id,
            "issuer_of_patient_id": issuer,
            "patient_name": more.pop("patient_name", "Li^Lei"),
        },
    )
    return Study.objects.create(
        study_uid=uid, patient=patient, study_date=day, accession_number=accession, **more
    )


def web_node(base_url: str, name: str, launch_order: int = 100) -> RemoteNode:
    """A DICOMweb node (the demo node's ``base_url``)."""
    return RemoteNode.objects.create(
        name=name,
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=base_url,
        retrieve_method=RemoteNode.WADO_RS,
        launch_order=launch_order,
    )


def refusing_node(name: str, launch_order: int) -> RemoteNode:
    """A DIMSE node where nothing listens: every association is refused."""
    return RemoteNode.objects.create(
        name=name,
        ae_title="NOBODY",
        host="127.0.0.1",
        port=free_port(),
        connect_timeout=2,
        launch_order=launch_order,
    )


def remote_study(uid: str, patient_id: str, accession: str = "", **more) -> RemoteStudy:
    """A node's answer for one study (issuer ``""`` unless told: the node did not say)."""
    return RemoteStudy(
        study_uid=uid,
        patient_name=more.pop("patient_name", "Zhao^Min"),
        patient_id=patient_id,
        study_date=more.pop("study_date", datetime.date(2025, 6, 1)),
        accession_number=accession,
        description=more.pop("description", ""),
        modalities=more.pop("modalities", "CT"),
        num_series=None,
        num_instances=None,
        **more,
    )


def fake_nodes(monkeypatch, answers: dict[str, object]) -> None:
    """Answer the launch's queries from ``answers`` by node name instead of the network:
    a list of ``RemoteStudy``, an exception to raise, or a callable giving either."""

    def answer(node):
        got = answers[node.name]
        got = got() if callable(got) else got
        if isinstance(got, BaseException):
            raise got
        return got

    def find_study(node, uid):
        return next((s for s in answer(node) if s.study_uid == uid), None)

    monkeypatch.setattr("viewer.retrieve.launch.find_studies", lambda node, query: answer(node))
    monkeypatch.setattr("viewer.retrieve.launch.find_study", find_study)
