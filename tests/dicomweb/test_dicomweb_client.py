"""Interop with a DICOMweb client nobody here wrote: the ``dicomweb-client`` library
(QIDO-RS, WADO-RS, STOW-RS) against our server over real HTTP, signed in by token."""

import io

import jpeg_ls
import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image

from tests.dicomweb.conftest import (
    INTEROP_CT,
    MACHINE_PASSWORD,
    MACHINE_USER,
    our_pixels,
    source_pixels,
)
from viewer.demo.ct_study import study_uid

pytestmark = pytest.mark.django_db(transaction=True)

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"


def client_for(live_url: str, token: str | None = None, basic=None) -> DICOMwebClient:
    """The library's client on our /dicom-web/, with a bearer token, Basic or nothing."""
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    if basic:
        session.auth = basic
    return DICOMwebClient(f"{live_url}/dicom-web", session=session)


@pytest.fixture
def dicomweb(live_url, api_token, interop_study) -> DICOMwebClient:
    """A client signed in with the machine user's token, the interop study in the archive."""
    return client_for(live_url, token=api_token)


def value(result: dict, tag: str):
    """The first value of ``tag`` in one DICOM JSON result."""
    return result[tag]["Value"][0]


def from_metadata(item: dict) -> pydicom.Dataset:
    """A metadata item as a data set, its bulk data (fetched separately) left out."""
    return pydicom.Dataset.from_json(
        {tag: element for tag, element in item.items() if "BulkDataURI" not in element}
    )


def series_and_instances(interop_files) -> list[tuple[str, str, str]]:
    """(series, SOP instance, transfer syntax) of each generated file, in file order."""
    found = []
    for path in interop_files:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        found.append(
            (
                dataset.SeriesInstanceUID,
                dataset.SOPInstanceUID,
                dataset.file_meta.TransferSyntaxUID,
            )
        )
    return found


@pytest.mark.parametrize("auth", ["bearer", "basic-password", "basic-token"])
def test_it_finds_the_study_by_the_start_of_the_patients_name(
    live_url, api_token, interop_study, auth
):
    client = client_for(
        live_url,
        token=api_token if auth == "bearer" else None,
        basic={
            "basic-password": (MACHINE_USER, MACHINE_PASSWORD),
            "basic-token": (MACHINE_USER, api_token),
        }.get(auth),
    )
    found = client.search_for_studies(search_filters={"PatientName": "Interop*"})
    assert [value(study, "0020000D") for study in found] == [interop_study]
    assert value(found[0], "00100020") == INTEROP_CT.patient_id
    assert client.search_for_studies(search_filters={"PatientName": "Nobody*"}) == []


def test_it_lists_the_series_and_instances_of_the_study(dicomweb, interop_study, interop_files):
    expected = series_and_instances(interop_files)
    series = dicomweb.search_for_series(interop_study)
    assert sorted(value(s, "0020000E") for s in series) == sorted({s for s, _, _ in expected})
    axial = expected[-1][0]
    instances = dicomweb.search_for_instances(interop_study, axial)
    assert sorted(value(i, "00080018") for i in instances) == sorted(
        sop for s, sop, _ in expected if s == axial
    )


def test_it_retrieves_the_study_as_explicit_little_endian_by_default(dicomweb, interop_files):
    # No transfer-syntax asked: PS3.18 makes it Explicit VR Little Endian, compressed
    # instances decompressed.
    datasets = dicomweb.retrieve_study(study_uid(INTEROP_CT))
    expected = source_pixels(interop_files)
    assert sorted(d.SOPInstanceUID for d in datasets) == sorted(expected)
    for dataset in datasets:
        assert dataset.file_meta.TransferSyntaxUID == EXPLICIT_VR_LE
        assert np.array_equal(dataset.pixel_array, expected[dataset.SOPInstanceUID])


def test_it_retrieves_the_study_as_stored_when_any_syntax_will_do(dicomweb, interop_files):
    datasets = dicomweb.retrieve_study(
        study_uid(INTEROP_CT), media_types=(("application/dicom", "*"),)
    )
    expected = source_pixels(interop_files)
    stored_as = {sop: syntax for _, sop, syntax in series_and_instances(interop_files)}
    assert sorted(d.SOPInstanceUID for d in datasets) == sorted(expected)
    for dataset in datasets:
        assert dataset.file_meta.TransferSyntaxUID == stored_as[dataset.SOPInstanceUID]
        assert np.array_equal(dataset.pixel_array, expected[dataset.SOPInstanceUID])
        assert np.array_equal(dataset.pixel_array, our_pixels(dataset.SOPInstanceUID))


def test_it_retrieves_one_instance_and_series_metadata(dicomweb, interop_study, interop_files):
    series_uid, sop_uid, _ = series_and_instances(interop_files)[-1]
    instance = dicomweb.retrieve_instance(interop_study, series_uid, sop_uid)
    assert instance.SOPInstanceUID == sop_uid
    assert np.array_equal(instance.pixel_array, source_pixels(interop_files)[sop_uid])

    metadata = dicomweb.retrieve_series_metadata(interop_study, series_uid)
    datasets = [from_metadata(item) for item in metadata]
    assert len(datasets) == 5 and {str(d.PatientName) for d in datasets} == {"Interop^Ingrid"}
    # Pixel data, when listed, is bulk data: a URI to fetch, never inline in the metadata.
    pixel_data = [item["7FE00010"] for item in metadata if "7FE00010" in item]
    assert all("BulkDataURI" in element for element in pixel_data)

    # The library hands back the first (only) data set of the answer's array.
    one = dicomweb.retrieve_instance_metadata(interop_study, series_uid, sop_uid)
    assert from_metadata(one).SOPInstanceUID == sop_uid


def test_it_retrieves_a_frame_uncompressed(dicomweb, interop_study, interop_files):
    series_uid, sop_uid, syntax = series_and_instances(interop_files)[1]
    assert syntax == EXPLICIT_VR_LE
    expected = source_pixels(interop_files)[sop_uid]
    (frame,) = dicomweb.retrieve_instance_frames(
        interop_study, series_uid, sop_uid, [1], media_types=("application/octet-stream",)
    )
    values = np.frombuffer(frame, dtype=expected.dtype.newbyteorder("<"))
    assert np.array_equal(values.reshape(expected.shape), expected)


@pytest.mark.parametrize("which", ["stored uncompressed", "stored JPEG-LS"])
def test_it_retrieves_a_frame_as_jpeg_ls_lossless(dicomweb, interop_study, interop_files, which):
    series_uid, sop_uid, syntax = series_and_instances(interop_files)[
        1 if which == "stored uncompressed" else -1
    ]
    assert (syntax == JPEG_LS_LOSSLESS) == (which == "stored JPEG-LS")
    (frame,) = dicomweb.retrieve_instance_frames(
        interop_study, series_uid, sop_uid, [1], media_types=("image/jls",)
    )
    decoded = jpeg_ls.decode(np.frombuffer(frame, dtype=np.uint8))
    expected = source_pixels(interop_files)[sop_uid]
    assert np.array_equal(decoded.astype(expected.dtype), expected)


def test_it_renders_an_instance_as_jpeg(dicomweb, interop_study, interop_files):
    series_uid, sop_uid, _ = series_and_instances(interop_files)[1]
    rendered = dicomweb.retrieve_instance_rendered(
        interop_study, series_uid, sop_uid, media_types=("image/jpeg",)
    )
    image = Image.open(io.BytesIO(rendered))
    assert image.format == "JPEG" and image.size == (64, 64)


def test_it_stores_instances_and_serves_them_back(dicomweb, pushed_files):
    datasets = [pydicom.dcmread(path) for path in pushed_files]
    answer = dicomweb.store_instances(datasets)
    # The library gives back an empty data set unless the answer is exactly
    # application/dicom+json: an empty one here means a Content-Type it did not expect.
    stored = [item.ReferencedSOPInstanceUID for item in answer.ReferencedSOPSequence]
    assert sorted(stored) == sorted(d.SOPInstanceUID for d in datasets)
    assert "FailedSOPSequence" not in answer or len(answer.FailedSOPSequence) == 0
    for dataset in datasets:
        assert np.array_equal(our_pixels(dataset.SOPInstanceUID), dataset.pixel_array)
    found = dicomweb.search_for_studies(search_filters={"PatientName": "Pushed*"})
    assert [value(s, "0020000D") for s in found] == [datasets[0].StudyInstanceUID]


def test_it_answers_401_to_a_client_without_credentials(live_url, interop_study):
    with pytest.raises(requests.HTTPError) as raised:
        client_for(live_url).search_for_studies(search_filters={"PatientName": "Interop*"})
    assert raised.value.response.status_code == 401
    # RFC 9110: a 401 names the schemes it takes; curl-based clients (Orthanc) wait for it.
    assert "basic" in raised.value.response.headers.get("WWW-Authenticate", "").lower()
    with pytest.raises(requests.HTTPError) as raised:
        client_for(live_url).retrieve_study(interop_study)
    assert raised.value.response.status_code == 401


def test_it_answers_401_to_a_wrong_password_or_token(live_url, api_token, interop_study):
    for client in (
        client_for(live_url, token=api_token[:-2] + "xx"),
        client_for(live_url, basic=(MACHINE_USER, "not-the-password")),
    ):
        with pytest.raises(requests.HTTPError) as raised:
            client.search_for_studies()
        assert raised.value.response.status_code == 401


def test_it_answers_401_to_a_revoked_token(live_url, api_token, interop_study):
    from viewer.accounts.models import ApiToken
    from viewer.accounts.tokens import revoke_token

    client = client_for(live_url, token=api_token)
    assert len(client.search_for_studies()) == 1
    (token,) = ApiToken.objects.all()
    assert revoke_token(token)
    with pytest.raises(requests.HTTPError) as raised:
        client.search_for_studies()
    assert raised.value.response.status_code == 401


def test_it_audits_what_a_token_user_reads(dicomweb, interop_study, interop_files):
    from viewer.audit import access
    from viewer.audit.models import AuditEvent

    series_uid, sop_uid, _ = series_and_instances(interop_files)[1]
    dicomweb.retrieve_study(interop_study)
    dicomweb.retrieve_instance_frames(interop_study, series_uid, sop_uid, [1])
    access.flush_pending()  # reads are counted per user, study and minute
    reads = AuditEvent.objects.filter(
        event=AuditEvent.INSTANCES_ACCESSED, username=MACHINE_USER, study_uid=interop_study
    )
    assert sum(reads.values_list("count", flat=True)) == 2
    assert reads.first().patient_id == INTEROP_CT.patient_id
