"""Interop with a real PACS as DICOMweb client: Orthanc (Debian's, with its DICOMweb
plugin) finds, pulls and pushes studies through our /dicom-web/, pixels identical."""

import io

import httpx
import numpy as np
import pydicom
import pytest

from tests.dicomweb.conftest import MACHINE_PASSWORD, MACHINE_USER, our_pixels, source_pixels
from tests.orthanc import Orthanc

pytestmark = pytest.mark.django_db(transaction=True)

SERVERS = ["pacsweb", "pacsweb-token"]  # Basic with the password; Basic with a token


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, live_url):
    """Orthanc knowing us as the DICOMweb server "pacsweb" (user and password)."""
    server = {"Url": f"{live_url}/dicom-web/", "Username": MACHINE_USER}
    extra = {"DicomWeb": {"Servers": {"pacsweb": {**server, "Password": MACHINE_PASSWORD}}}}
    with Orthanc(tmp_path_factory.mktemp("orthanc-client"), extra_config=extra) as peer:
        yield peer


@pytest.fixture
def peer(orthanc, live_url, api_token) -> httpx.Client:
    """Orthanc's REST API; "pacsweb-token" is us again, a token as the Basic password;
    "pacsweb-plain" the same, asking for instances without a transfer syntax."""
    client = httpx.Client(base_url=orthanc.url, timeout=60)
    server = {"Url": f"{live_url}/dicom-web/", "Username": MACHINE_USER, "Password": api_token}
    assert client.put("/dicom-web/servers/pacsweb-token", json=server).status_code == 200
    # As Orthanc talks to DICOMweb servers older than transfer-syntax=*: curl's Accept: */*.
    plain = {**server, "HasWadoRsUniversalTransferSyntax": "false"}
    assert client.put("/dicom-web/servers/pacsweb-plain", json=plain).status_code == 200
    yield client
    client.close()


def call(peer: httpx.Client, orthanc: Orthanc, path: str, body) -> object:
    """POST to Orthanc; on failure, say what Orthanc logged about it."""
    response = peer.post(path, json=body)
    log = (orthanc.folder / "orthanc.log").read_text()[-3000:]
    assert response.status_code == 200, f"{response.status_code} {response.text}\n{log}"
    return response.json()


def orthanc_ids(peer: httpx.Client, uid: str, level: str) -> list[str]:
    """Orthanc's IDs of the resources with DICOM UID ``uid`` at ``level``."""
    found = peer.post("/tools/lookup", content=uid).json()
    return [item["ID"] for item in found if item["Type"] == level]


def forget_study(peer: httpx.Client, uid: str) -> None:
    """Delete the study from Orthanc if it holds it (an earlier test may have pulled it)."""
    for orthanc_id in orthanc_ids(peer, uid, "Study"):
        peer.delete(f"/studies/{orthanc_id}")


def orthanc_pixels(peer: httpx.Client, sop_instance_uid: str) -> np.ndarray:
    """The pixels of the instance Orthanc holds with this SOP Instance UID."""
    (orthanc_id,) = orthanc_ids(peer, sop_instance_uid, "Instance")
    content = peer.get(f"/instances/{orthanc_id}/file").content
    return pydicom.dcmread(io.BytesIO(content)).pixel_array


@pytest.mark.parametrize("server", SERVERS)
def test_it_finds_our_study_by_the_start_of_the_patients_name(orthanc, peer, interop_study, server):
    query = {"Uri": "/studies", "Arguments": {"PatientName": "Inter*"}}
    found = call(peer, orthanc, f"/dicom-web/servers/{server}/qido", query)
    # Orthanc hands back each value as a string (its own simplified DICOM JSON).
    assert [study["0020000D"]["Value"] for study in found] == [interop_study]
    assert found[0]["00100010"]["Value"] == "Interop^Ingrid"
    query["Arguments"]["PatientName"] = "Nobody*"
    assert call(peer, orthanc, f"/dicom-web/servers/{server}/qido", query) == []


@pytest.mark.parametrize("server", [*SERVERS, "pacsweb-plain"])
def test_it_pulls_our_study_with_identical_pixels(
    orthanc, peer, interop_study, interop_files, server
):
    forget_study(peer, interop_study)
    body = {"Resources": [{"Study": interop_study}]}
    call(peer, orthanc, f"/dicom-web/servers/{server}/retrieve", body)
    expected = source_pixels(interop_files)
    for sop_instance_uid, pixels in expected.items():
        assert np.array_equal(orthanc_pixels(peer, sop_instance_uid), pixels)
        assert np.array_equal(orthanc_pixels(peer, sop_instance_uid), our_pixels(sop_instance_uid))


@pytest.mark.parametrize("server", SERVERS)
def test_it_pushes_a_study_into_our_archive_with_identical_pixels(
    orthanc, peer, pushed_files, server
):
    from viewer.archive.models import Instance

    orthanc.upload(pushed_files)
    study_uid = pydicom.dcmread(pushed_files[0]).StudyInstanceUID
    (orthanc_study,) = orthanc_ids(peer, study_uid, "Study")
    call(peer, orthanc, f"/dicom-web/servers/{server}/stow", {"Resources": [orthanc_study]})
    expected = source_pixels(pushed_files)
    stored = Instance.objects.filter(series__study__study_uid=study_uid)
    assert sorted(stored.values_list("sop_instance_uid", flat=True)) == sorted(expected)
    for sop_instance_uid in expected:
        assert np.array_equal(our_pixels(sop_instance_uid), orthanc_pixels(peer, sop_instance_uid))
        assert np.array_equal(our_pixels(sop_instance_uid), expected[sop_instance_uid])


def test_it_is_refused_with_a_wrong_password(orthanc, peer, live_url, interop_study):
    server = {"Url": f"{live_url}/dicom-web/", "Username": MACHINE_USER, "Password": "wrong-1"}
    assert peer.put("/dicom-web/servers/pacsweb-wrong", json=server).status_code == 200
    query = {"Uri": "/studies", "Arguments": {"PatientName": "Inter*"}}
    log = orthanc.folder / "orthanc.log"
    logged_before = len(log.read_text())
    response = peer.post("/dicom-web/servers/pacsweb-wrong/qido", json=query)
    assert response.status_code != 200
    assert "received HTTP status 401" in log.read_text()[logged_before:]
