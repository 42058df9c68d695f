"""STOW-RS (POST /dicom-web/studies[/{study}]): what a client sending instances sees, and
what lands in the archive and the audit trail."""

import json
from pathlib import Path

import pydicom
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from tests.base import copy_with_new_uids, sample, stored_files
from viewer.archive.models import Instance, Study
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent

BOUNDARY = "stow-test-boundary"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"'
STORE_URL = "/dicom-web/studies"
JSON = "application/dicom+json"

pytestmark = pytest.mark.django_db

OK, ACCEPTED, CONFLICT = 200, 202, 409
OUT_OF_RESOURCES, CANNOT_UNDERSTAND, STUDY_UID_MISMATCH = 0xA700, 0xC000, 0xC409


@pytest.fixture(autouse=True)
def alice_may_store(alice):
    """Storing is granted, not every signed-in user's: alice sends instances here."""
    alice.user_permissions.add(Permission.objects.get(codename="add_instance"))


def test_it_refuses_a_user_without_the_store_permission(client, contents):
    bob = get_user_model().objects.create_user("bob", password="bob-secret-pw-1")
    client.force_login(bob)
    response = post(client, multipart(contents[0]))
    assert response.status_code == 403
    assert "permission" in response.json()["detail"]
    assert not Instance.objects.exists()


def multipart(*contents: bytes, headers: str = "Content-Type: application/dicom\r\n") -> bytes:
    """A STOW-RS body: each content a part, with a preamble and an epilogue."""
    body = b"preamble to ignore\r\n"
    for content in contents:
        body += f"--{BOUNDARY}\r\n{headers}\r\n".encode() + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\nepilogue\r\n".encode()


def post(client: Client, body: bytes, url: str = STORE_URL, content_type: str = CONTENT_TYPE):
    return client.post(url, data=body, content_type=content_type, HTTP_ACCEPT=JSON)


def answer(response) -> pydicom.Dataset:
    """The Store Instances Response as a pydicom data set."""
    assert response["Content-Type"] == JSON
    return pydicom.Dataset.from_json(json.loads(response.content))


def sop_uids(sequence) -> list[str]:
    return [item.ReferencedSOPInstanceUID for item in sequence]


@pytest.fixture
def files(pushed_files) -> list[Path]:
    """Three generated instances of one study, not in the archive."""
    return pushed_files[:3]


@pytest.fixture
def contents(files) -> list[bytes]:
    return [path.read_bytes() for path in files]


@pytest.fixture
def datasets(files) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(path) for path in files]


def test_it_stores_instances_and_lists_them_with_their_urls(
    alice_client, contents, datasets, archive_root
):
    response = post(alice_client, multipart(*contents))
    assert response.status_code == OK
    result = answer(response)
    study, base = datasets[0].StudyInstanceUID, "http://testserver/dicom-web"
    assert result.RetrieveURL == f"{base}/studies/{study}"
    assert "FailedSOPSequence" not in result
    assert sop_uids(result.ReferencedSOPSequence) == [d.SOPInstanceUID for d in datasets]
    for item, dataset in zip(result.ReferencedSOPSequence, datasets, strict=True):
        assert item.ReferencedSOPClassUID == dataset.SOPClassUID
        assert item.RetrieveURL == (
            f"{base}/studies/{study}/series/{dataset.SeriesInstanceUID}"
            f"/instances/{dataset.SOPInstanceUID}"
        )
        row = Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)
        assert absolute_path(row.file_path, archive_root).is_file()
    # The study list shows the new study with its counts at once.
    assert Study.objects.get(study_uid=study).num_instances == 3


def test_it_stores_the_good_parts_and_names_a_bad_one_with_its_reason(
    alice_client, contents, datasets
):
    response = post(alice_client, multipart(contents[0], b"not DICOM at all", contents[2]))
    assert response.status_code == ACCEPTED
    result = answer(response)
    (failed,) = result.FailedSOPSequence
    assert failed.FailureReason == CANNOT_UNDERSTAND
    assert "part 2: not a DICOM file" in response["Warning"]
    stored = [datasets[0].SOPInstanceUID, datasets[2].SOPInstanceUID]
    assert sop_uids(result.ReferencedSOPSequence) == stored
    assert sorted(Instance.objects.values_list("sop_instance_uid", flat=True)) == sorted(stored)


def test_it_names_a_damaged_instance_by_its_uids(alice_client, contents, datasets):
    damaged = contents[1][:-100]  # the pixel data cut short; the header still reads
    response = post(alice_client, multipart(contents[0], damaged))
    assert response.status_code == ACCEPTED
    (failed,) = answer(response).FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == datasets[1].SOPInstanceUID
    assert failed.ReferencedSOPClassUID == datasets[1].SOPClassUID
    assert not Instance.objects.filter(sop_instance_uid=datasets[1].SOPInstanceUID).exists()


def test_it_answers_409_when_nothing_could_be_stored(alice_client):
    response = post(alice_client, multipart(b"junk", b"more junk"))
    assert response.status_code == CONFLICT
    result = answer(response)
    assert [item.FailureReason for item in result.FailedSOPSequence] == [CANNOT_UNDERSTAND] * 2
    assert "ReferencedSOPSequence" not in result or not result.ReferencedSOPSequence
    assert not Instance.objects.exists()


def test_it_refuses_an_instance_of_another_study_than_the_path_names(
    alice_client, contents, datasets, tmp_path
):
    other = copy_with_new_uids(sample("CT_small.dcm"), tmp_path / "other.dcm", "stow-other")
    url = f"{STORE_URL}/{datasets[0].StudyInstanceUID}"
    response = post(alice_client, multipart(contents[0], other.read_bytes()), url=url)
    assert response.status_code == ACCEPTED
    result = answer(response)
    (failed,) = result.FailedSOPSequence
    assert failed.FailureReason == STUDY_UID_MISMATCH
    assert failed.ReferencedSOPInstanceUID == pydicom.dcmread(other).SOPInstanceUID
    assert result.RetrieveURL.endswith(f"/studies/{datasets[0].StudyInstanceUID}")
    assert list(Instance.objects.values_list("sop_instance_uid", flat=True)) == [
        datasets[0].SOPInstanceUID
    ]


def test_it_keeps_serving_wado_at_the_study_path(alice_client, contents, datasets):
    url = f"{STORE_URL}/{datasets[0].StudyInstanceUID}"
    stored = post(alice_client, multipart(*contents), url=url)
    assert stored.status_code == OK
    # Resolved as a store: the audit middleware must not count it as a read of the study.
    assert stored.wsgi_request.resolver_match.url_name == "dicomweb_store_study"
    # GET at the same path is still WADO-RS's retrieve, not a store.
    response = alice_client.get(url, HTTP_ACCEPT='multipart/related; type="application/dicom"')
    assert response.status_code == OK
    assert response["Content-Type"].startswith("multipart/related")


def test_it_stores_only_the_whole_parts_of_a_truncated_upload(
    alice_client, contents, datasets, archive_root
):
    body = multipart(*contents)
    cut = body[: body.index(contents[2]) + len(contents[2]) // 2]
    response = post(alice_client, cut)
    assert response.status_code == ACCEPTED
    result = answer(response)
    assert sop_uids(result.ReferencedSOPSequence) == [d.SOPInstanceUID for d in datasets[:2]]
    (failed,) = result.FailedSOPSequence
    assert failed.FailureReason == CANNOT_UNDERSTAND
    assert "cut short" in response["Warning"]
    assert Instance.objects.count() == 2
    files = stored_files(archive_root)
    assert len(files) == 2 and not [f for f in files if f.name.startswith(".part")]


def test_it_reads_an_unquoted_boundary_and_a_missing_type(alice_client, contents):
    content_type = f"multipart/related; boundary={BOUNDARY}"
    assert post(alice_client, multipart(*contents), content_type=content_type).status_code == OK


def test_it_stores_a_single_application_dicom_body(alice_client, contents, datasets):
    response = post(alice_client, contents[0], content_type="application/dicom")
    assert response.status_code == OK
    assert sop_uids(answer(response).ReferencedSOPSequence) == [datasets[0].SOPInstanceUID]


def test_it_answers_400_without_a_boundary(alice_client, contents):
    content_type = 'multipart/related; type="application/dicom"'
    response = post(alice_client, multipart(*contents), content_type=content_type)
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]
    assert not Instance.objects.exists()


def test_it_answers_400_to_an_empty_body_or_one_without_parts(alice_client):
    # The test client leaves out the Content-Type of an empty body: give it one.
    empty = alice_client.generic("POST", STORE_URL, CONTENT_TYPE=CONTENT_TYPE, HTTP_ACCEPT=JSON)
    assert empty.status_code == 400
    assert "empty" in empty.json()["detail"]
    response = post(alice_client, f"--{BOUNDARY}--\r\n".encode())
    assert response.status_code == 400
    assert "no instances" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    [
        f'multipart/related; type="application/dicom+json"; boundary={BOUNDARY}',
        "application/json",
        "text/plain",
    ],
)
def test_it_answers_415_to_other_media_types(alice_client, contents, content_type):
    response = post(alice_client, multipart(*contents), content_type=content_type)
    assert response.status_code == 415
    assert 'type="application/dicom"' in response.json()["detail"]
    assert not Instance.objects.exists()


def test_it_answers_406_to_a_client_that_takes_no_json(alice_client, contents):
    response = alice_client.post(
        STORE_URL,
        data=multipart(*contents),
        content_type=CONTENT_TYPE,
        HTTP_ACCEPT="application/dicom+xml",
    )
    assert response.status_code == 406
    assert not Instance.objects.exists()


def test_it_refuses_a_part_over_the_size_limit(alice_client, contents, datasets, settings):
    settings.PACSWEB_STOW_MAX_BYTES = max(len(c) for c in contents[:2]) + 1
    big = contents[2] + b"\0" * settings.PACSWEB_STOW_MAX_BYTES
    response = post(alice_client, multipart(contents[0], big, contents[1]))
    assert response.status_code == ACCEPTED
    result = answer(response)
    assert [item.FailureReason for item in result.FailedSOPSequence] == [OUT_OF_RESOURCES]
    assert "larger than" in response["Warning"]
    assert Instance.objects.count() == 2


def test_it_answers_413_to_a_single_instance_over_the_limit(alice_client, contents, settings):
    settings.PACSWEB_STOW_MAX_BYTES = 1000
    response = post(alice_client, contents[0], content_type="application/dicom")
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


def test_it_refuses_a_part_declaring_a_huge_length(alice_client, contents):
    huge = "Content-Type: application/dicom\r\nContent-Length: 999999999999999\r\n"
    body = (
        multipart(contents[0]).removesuffix(b"--\r\nepilogue\r\n")
        + f"\r\n{huge}\r\n".encode()
        + contents[1]
        + f"\r\n--{BOUNDARY}--".encode()
    )
    response = post(alice_client, body)
    assert response.status_code == ACCEPTED
    (failed,) = answer(response).FailedSOPSequence
    assert failed.FailureReason == OUT_OF_RESOURCES
    assert Instance.objects.count() == 1


def test_it_answers_success_to_an_instance_sent_again(alice_client, contents, datasets):
    assert post(alice_client, multipart(contents[0])).status_code == OK
    response = post(alice_client, multipart(contents[0]))
    assert response.status_code == OK
    (item,) = answer(response).ReferencedSOPSequence
    assert item.ReferencedSOPInstanceUID == datasets[0].SOPInstanceUID
    assert "WarningReason" not in item
    assert Instance.objects.count() == 1


def test_it_audits_the_arrival_once_per_study_with_the_user_and_count(
    alice_client, alice, contents, datasets
):
    post(alice_client, multipart(*contents, b"junk"))
    rows = AuditEvent.objects.filter(event=AuditEvent.IMPORTED)
    stored = rows.get(study_uid=datasets[0].StudyInstanceUID)
    assert (stored.user, stored.count, stored.outcome) == (alice, 3, AuditEvent.SUCCESS)
    assert stored.patient_id == datasets[0].PatientID
    assert stored.remote_address == "127.0.0.1"
    assert "STOW-RS: 3 instances stored" in stored.detail
    refused = rows.get(study_uid="")
    assert (refused.count, refused.outcome) == (1, AuditEvent.FAILURE)
    assert rows.count() == 2


def test_it_stores_a_compressed_instance_byte_for_byte(alice_client, archive_root):
    content = sample("MR_small_jpeg_ls_lossless.dcm").read_bytes()
    response = post(alice_client, multipart(content))
    assert response.status_code == OK
    row = Instance.objects.get()
    assert row.transfer_syntax_uid == "1.2.840.10008.1.2.4.80"
    assert absolute_path(row.file_path, archive_root).read_bytes() == content


def test_it_refuses_a_session_post_without_a_csrf_token(alice, contents):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = post(client, multipart(*contents))
    assert response.status_code == 403
    assert not Instance.objects.exists()


def test_it_refuses_an_anonymous_caller(client, contents):
    response = post(client, multipart(*contents))
    assert response.status_code == 401
    assert not Instance.objects.exists()
