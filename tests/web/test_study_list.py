"""The study list page and its JSON twin."""

import pytest

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.demo.samples import write_charset_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(tmp_path, small_ct):
    Importer().run(write_charset_samples(tmp_path / "charsets"))
    Importer().run([sample("CT_small.dcm"), sample("MR_small.dcm")])


def test_it_is_the_home_page_after_login(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_it_lists_studies_with_counts_and_where_they_live(alice_client, archive):
    page = alice_client.get("/").content.decode()
    assert "Zhang Wei = 张 伟" in page
    assert "PW-DEMO-0001" in page
    assert ">4</td>" in page and ">23</td>" in page  # series and images of the demo CT
    assert "Local archive" in page


def test_it_finds_the_gb18030_patient_by_a_chinese_search(alice_client, archive):
    page = alice_client.get("/", {"patient_name": "王"}).content.decode()
    assert "Wang XiaoDong = 王 小东" in page
    assert "Zhang Wei" not in page
    assert "2 studies" in page


def test_it_pages_through_many_studies(alice_client, archive, settings):
    settings.PACSWEB_PAGE_SIZE = 5
    first = alice_client.get("/", {"sort": "patient_id"}).content.decode()
    second = alice_client.get("/", {"sort": "patient_id", "page": 2}).content.decode()
    assert "Page 1 of 4" in first and "Page 2 of 4" in second
    assert "CHARSET-chrArab" in first and "CHARSET-chrArab" not in second


def test_sort_links_keep_the_search(alice_client, archive):
    page = alice_client.get("/", {"patient_name": "wang*"}).content.decode()
    assert "?patient_name=wang%2A&amp;sort=patient_id" in page


def test_a_bad_date_range_says_so(alice_client, archive):
    response = alice_client.get("/", {"date_from": "2026-12-01", "date_to": "2026-01-01"})
    assert "The start date is after the end date." in response.content.decode()
    assert "0 studies" in response.content.decode()


def test_the_api_returns_the_same_search(alice_client, archive):
    body = alice_client.get("/api/studies/", {"patient_name": "王"}).json()
    assert body["count"] == 2
    assert {study["patient_name"] for study in body["studies"]} == {
        "Wang^XiaoDong=王^小东",
        "Wang^XiaoDong=王^小東",
    }
    assert body["studies"][0]["location"] == "local"


def test_the_api_rejects_a_malformed_date(alice_client, archive):
    response = alice_client.get("/api/studies/", {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "date_from" in response.json()["errors"]
