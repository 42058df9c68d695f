"""Interop with a real PACS nobody here wrote: Orthanc (Debian's, with its DICOMweb
plugin) queried, retrieved from by every method, and verified."""

import dataclasses

import pydicom
import pytest
from django.core.management import call_command

from tests.base import SMALL_CT, free_port
from tests.orthanc import Orthanc
from tests.retrieve.test_dimse_retrieve import assert_same_images
from viewer.archive.search import StudyQuery
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import find_studies
from viewer.nodes.scp import start_server
from viewer.nodes.verification import verify_and_record
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = dataclasses.replace(SMALL_CT, seed=51, patient_name="Orthanc^Olga", patient_id="PW-ORT-51")
OUR_PORT = free_port()  # where Orthanc sends C-MOVEs for PACSWEB


@pytest.fixture(scope="module")
def study_files(tmp_path_factory):
    return write_demo_ct(tmp_path_factory.mktemp("orthanc-source"), SPEC)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, study_files):
    with Orthanc(tmp_path_factory.mktemp("orthanc"), known_aets={"PACSWEB": OUR_PORT}) as peer:
        peer.upload(study_files)
        yield peer


def web_node(orthanc, method: str = RemoteNode.WADO_RS) -> RemoteNode:
    return RemoteNode.objects.create(
        name=f"orthanc-web-{method}",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=orthanc.dicomweb_url,
        wado_uri_url=orthanc.wado_uri_url,
        retrieve_method=method,
        max_transfers=3,
    )


def dimse_node(orthanc, method: str = RemoteNode.C_GET, ae_title: str = Orthanc.aet):
    return RemoteNode.objects.create(
        name=f"orthanc-dimse-{method}-{ae_title}",
        protocol=RemoteNode.DIMSE,
        ae_title=ae_title,
        host="127.0.0.1",
        port=orthanc.dicom_port,
        retrieve_method=method,
        max_transfers=2,
        connect_timeout=2,
        acse_timeout=5,
        dimse_timeout=10,
        network_timeout=10,
    )


@pytest.fixture
def our_scp(settings):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    scp = start_server("127.0.0.1", OUR_PORT)
    yield
    scp.shutdown()


@pytest.mark.parametrize("protocol", [RemoteNode.DICOMWEB, RemoteNode.DIMSE])
def test_it_finds_a_study_by_the_start_of_the_patients_name(orthanc, protocol):
    # The study list's "Orth" becomes "Orth*": sent as %2A, Orthanc matched nothing.
    node = web_node(orthanc) if protocol == RemoteNode.DICOMWEB else dimse_node(orthanc)
    found = find_studies(node, StudyQuery(patient_name="Orth"))
    assert [study.study_uid for study in found] == [study_uid(SPEC)]
    assert find_studies(node, StudyQuery(patient_name="Nobody")) == []


@pytest.mark.parametrize(
    "method",
    [RemoteNode.WADO_RS, RemoteNode.WADO_URI, RemoteNode.C_GET, RemoteNode.C_MOVE],
)
def test_it_retrieves_the_whole_study_by_each_method(orthanc, our_scp, study_files, method):
    # WADO-URI used to get HTTP 400 for every instance (contentType=application%2Fdicom).
    dicomweb = method in (RemoteNode.WADO_RS, RemoteNode.WADO_URI)
    node = web_node(orthanc, method) if dicomweb else dimse_node(orthanc, method)
    job, _ = request_retrieve(study_uid(SPEC), node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE, job.error
    job.refresh_from_db()
    assert job.tasks.count() == len(study_files)
    assert_same_images(study_files)


@pytest.mark.parametrize("method", [RemoteNode.WADO_RS, RemoteNode.WADO_URI])
def test_verify_passes_a_dicomweb_node_by_its_retrieve_method(orthanc, method):
    node = web_node(orthanc, method)
    result = verify_and_record(node)
    assert [step.name for step in result.steps] == ["QIDO-RS", node.get_retrieve_method_display()]
    assert all(step.ok for step in result.steps), result.summary()


def test_verify_tries_c_get_role_selection_on_an_orthanc_c_get_node(orthanc):
    result = verify_and_record(dimse_node(orthanc, RemoteNode.C_GET))
    assert [step.name for step in result.steps] == ["connect", "C-ECHO", "C-FIND", "C-GET"]
    assert result.ok, result.summary()
    assert "our storage SCP role" in result.steps[-1].message


def test_verify_cannot_tell_a_c_move_destination_on_orthanc_and_does_not_fail(orthanc, capsys):
    # Orthanc answers 0xC000 to a move of an unknown study whatever the destination.
    node = dimse_node(orthanc, RemoteNode.C_MOVE)
    result = verify_and_record(node)
    assert [step.ok for step in result.steps] == [
        True,
        True,
        True,
        None,
    ]  # connect, echo, find, move
    assert result.ok and "whether it knows PACSWEB" in result.steps[-1].message
    call_command("echo", node.name)  # exits 0
    assert "verification passed (1 step(s) could not tell)" in capsys.readouterr().out
    node.refresh_from_db()
    assert node.last_verify_ok is True and "CANNOT TELL" in node.last_verify_summary


def test_verify_fails_a_node_whose_ae_title_orthanc_does_not_answer_to(orthanc):
    result = verify_and_record(dimse_node(orthanc, ae_title="NOT-ORTHANC"))
    assert not result.ok
    assert "called AE title not recognised" in result.summary()


JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"


def stored_syntaxes(study_files) -> set[str]:
    from viewer.archive.models import Instance
    from viewer.archive.storage import absolute_path

    syntaxes = set()
    for path in study_files:
        uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        stored = Instance.objects.get(sop_instance_uid=uid)
        syntaxes.add(pydicom.dcmread(absolute_path(stored.file_path)).file_meta.TransferSyntaxUID)
    return syntaxes


def test_it_keeps_the_jpeg_ls_orthanc_sends_by_wado_rs_with_the_same_pixels(orthanc, study_files):
    # Orthanc stores the study uncompressed and transcodes on request.
    node = web_node(orthanc)
    assert node.ask_for == RemoteNode.LOSSLESS
    job, _ = request_retrieve(study_uid(SPEC), node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE, job.error
    assert stored_syntaxes(study_files) == {JPEG_LS_LOSSLESS}
    assert_same_images(study_files)


def test_it_takes_jpeg_ls_by_c_get_on_its_own_context_with_the_same_pixels(
    tmp_path_factory, study_files, settings
):
    # Orthanc 1.10 does not transcode for C-GET: one that stores JPEG-LS sends it as such
    # on the context we propose with JPEG-LS alone (a context offering several syntaxes
    # is accepted with one of Orthanc's choosing).
    settings.PACSWEB_AE_TITLE = "PACSWEB"  # the calling AE title Orthanc knows
    config = {"IngestTranscoding": JPEG_LS_LOSSLESS}
    folder = tmp_path_factory.mktemp("orthanc-jls")
    with Orthanc(folder, {"PACSWEB": OUR_PORT}, extra_config=config) as peer:
        peer.upload(study_files)
        job, _ = request_retrieve(study_uid(SPEC), dimse_node(peer, RemoteNode.C_GET))
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE, job.error
    assert stored_syntaxes(study_files) == {JPEG_LS_LOSSLESS}
    assert_same_images(study_files)
