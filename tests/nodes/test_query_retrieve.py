"""findscu, getscu and movescu against our SCP, over an archive of real files."""

import subprocess
import time

import pydicom
import pytest

from tests.base import require_peer, sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Study
from viewer.demo.samples import write_charset_samples
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server

from .conftest import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]


@pytest.fixture
def archive(tmp_path, small_ct_folder):
    Importer().run([small_ct_folder, sample("MR_small.dcm")])
    Importer().run(write_charset_samples(tmp_path / "charsets"))


@pytest.fixture
def scp_port(settings, archive):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    # Only configured nodes may query and retrieve: dcmtk's tools call as these.
    for calling in ("FINDSCU", "GETSCU", "MOVESCU"):
        RemoteNode.objects.create(name=calling.lower(), ae_title=calling, host="127.0.0.1")
    port = free_port()
    server = start_server("127.0.0.1", port)
    yield port
    server.shutdown()


def dcmtk(*command, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_peer(command[0]), *map(str, command[1:])],
        capture_output=True,
        cwd=cwd,
    )


def find(port, tmp_path, *keys) -> list[pydicom.Dataset]:
    out = tmp_path / f"find-{time.monotonic_ns()}"
    out.mkdir()
    args = []
    for key in keys:
        args += ["-k", key]
    result = dcmtk("findscu", "-S", "-aec", "PACSWEB", "-X", "-od", out, "127.0.0.1", port, *args)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [pydicom.dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]


def test_findscu_finds_studies_by_chinese_name(scp_port, tmp_path):
    found = find(
        scp_port,
        tmp_path,
        "QueryRetrieveLevel=STUDY",
        "SpecificCharacterSet=ISO_IR 192",
        "PatientName=王*",
        "StudyInstanceUID",
        "NumberOfStudyRelatedInstances",
    )
    assert sorted(str(d.PatientName) for d in found) == [
        "Wang^XiaoDong=王^小东",
        "Wang^XiaoDong=王^小東",
    ]
    assert all(d.NumberOfStudyRelatedInstances == 1 for d in found)


def test_findscu_walks_study_series_image(scp_port, tmp_path):
    study = find(
        scp_port,
        tmp_path,
        "QueryRetrieveLevel=STUDY",
        "PatientID=PW-DEMO-0001",
        "StudyInstanceUID",
        "ModalitiesInStudy",
        "StudyDate=20261101-20261130",
    )
    assert len(study) == 1 and study[0].ModalitiesInStudy == "CT"
    study_uid = study[0].StudyInstanceUID
    series = find(
        scp_port,
        tmp_path,
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={study_uid}",
        "SeriesInstanceUID",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
    )
    assert sorted(int(s.NumberOfSeriesRelatedInstances) for s in series) == [1, 4, 6, 12]
    thin = next(s for s in series if s.SeriesDescription == "Axial 1.0 mm")
    images = find(
        scp_port,
        tmp_path,
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={study_uid}",
        f"SeriesInstanceUID={thin.SeriesInstanceUID}",
        "SOPInstanceUID",
    )
    assert len(images) == 12


def test_findscu_at_patient_level_with_the_patient_root(scp_port, tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    result = dcmtk(
        "findscu",
        "-P",
        "-aec",
        "PACSWEB",
        "-X",
        "-od",
        out,
        "127.0.0.1",
        scp_port,
        "-k",
        "QueryRetrieveLevel=PATIENT",
        "-k",
        "PatientID=PW-DEMO-*",
        "-k",
        "PatientName",
    )
    assert result.returncode == 0
    found = [pydicom.dcmread(path) for path in out.glob("rsp*.dcm")]
    assert [str(d.PatientName) for d in found] == ["Zhang^Wei=张^伟"]


def test_getscu_fetches_a_series(scp_port, tmp_path):
    series_uid = (
        Instance.objects.filter(series__description="Axial 5.0 mm").first().series.series_uid
    )
    out = tmp_path / "got"
    out.mkdir()
    result = dcmtk(
        "getscu",
        "-S",
        "-aec",
        "PACSWEB",
        "-od",
        out,
        "127.0.0.1",
        scp_port,
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"SeriesInstanceUID={series_uid}",
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    received = [pydicom.dcmread(path) for path in out.iterdir()]
    assert len(received) == 6
    assert {d.SeriesInstanceUID for d in received} == {series_uid}


def test_movescu_moves_a_study_to_a_configured_node(scp_port, storescp, tmp_path):
    dest_port, folder = storescp
    RemoteNode.objects.create(name="dest", ae_title="DEST", host="127.0.0.1", port=dest_port)
    study_uid = Study.objects.get(patient__patient_id="PW-DEMO-0001").study_uid
    result = dcmtk(
        "movescu",
        "-S",
        "-aec",
        "PACSWEB",
        "-aem",
        "DEST",
        "127.0.0.1",
        scp_port,
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study_uid}",
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    received = list(folder.iterdir())
    assert len(received) == 23
    assert {pydicom.dcmread(path).StudyInstanceUID for path in received} == {study_uid}


def test_movescu_to_an_unknown_destination_gets_a801(scp_port, tmp_path):
    study_uid = Study.objects.get(patient__patient_id="PW-DEMO-0001").study_uid
    result = dcmtk(
        "movescu",
        "-v",
        "-S",
        "-aec",
        "PACSWEB",
        "-aem",
        "NOWHERE",
        "127.0.0.1",
        scp_port,
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study_uid}",
    )
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert "Refused: MoveDestinationUnknown" in output


def test_queries_leave_no_patient_data_in_log_lines(scp_port, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="viewer")
    find(
        scp_port,
        tmp_path,
        "QueryRetrieveLevel=STUDY",
        "SpecificCharacterSet=ISO_IR 192",
        "PatientName=王*",
        "PatientID",
    )
    assert logging.getLogger("pynetdicom").getEffectiveLevel() >= logging.WARNING
    assert "王" not in caplog.text and "CHARSET-chrX" not in caplog.text
