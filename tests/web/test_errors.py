"""What people see when something is missing, forbidden or broken: pages, API JSON, images."""

import pydicom
import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import get_resolver

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.web import errors

pytestmark = pytest.mark.django_db


def test_it_answers_a_missing_study_with_a_page_and_a_way_back(alice_client):
    response = alice_client.get("/studies/1.2.3.4/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html
    assert '<a class="button" href="/">Back to the study list</a>' in html
    assert 'class="topbar"' in html  # the site's own frame, not Django's bare page


def test_it_answers_a_missing_study_in_chinese(alice_client):
    # Needs the zh_Hans catalogue with this change's strings merged and compiled.
    alice_client.post("/i18n/setlang/", {"language": "zh-hans"})
    html = alice_client.get("/studies/1.2.3.4/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "<h1>未找到</h1>" in html and "返回检查列表" in html
    assert "Not found" not in html


def test_it_answers_an_unknown_address_with_the_same_page(alice_client):
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404 and "Back to the study list" in response.content.decode()


def test_it_answers_a_missing_api_resource_with_json(alice_client):
    response = alice_client.get("/api/studies/1.2.3.4/instances/1.2.3/tags/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_it_still_answers_an_anonymous_api_call_with_401_json(client):
    response = client.get("/api/studies/1.2.3.4/instances/1.2.3/tags/")
    assert response.status_code == 401 and response.json() == {"detail": "authentication required"}


def test_it_uses_its_own_handlers_for_every_error():
    resolver = get_resolver()
    assert resolver.resolve_error_handler(403) is errors.permission_denied
    assert resolver.resolve_error_handler(404) is errors.page_not_found
    assert resolver.resolve_error_handler(500) is errors.server_error


def test_it_answers_forbidden_with_a_page_or_json(alice):
    page_request = RequestFactory().get("/studies/1.2.3.4/")
    page_request.user = alice
    page = errors.permission_denied(page_request, PermissionDenied())
    assert page.status_code == 403
    assert "<h1>Not allowed</h1>" in page.content.decode()
    assert 'href="/">Back to the study list' in page.content.decode()
    api = errors.permission_denied(RequestFactory().get("/api/studies/"), PermissionDenied())
    assert api.status_code == 403 and api["Content-Type"] == "application/json"
    assert api.content == b'{"detail": "You may not do this."}'


def test_it_answers_a_server_error_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = errors.server_error(RequestFactory().get("/studies/1.2.3.4/"))
        api = errors.server_error(RequestFactory().get("/api/studies/"))
    assert page.status_code == 500
    assert "<h1>Server error</h1>" in page.content.decode()
    assert 'href="/">Back to the study list' in page.content.decode()
    assert api.status_code == 500
    assert api.content == b'{"detail": "Something went wrong on the server."}'


def test_it_names_the_transfer_syntax_of_an_undecodable_image(alice_client):
    Importer().run([sample("JPEG-lossy.dcm")])
    dataset = pydicom.dcmread(sample("JPEG-lossy.dcm"), stop_before_pixels=True)
    url = f"/api/studies/{dataset.StudyInstanceUID}/instances/{dataset.SOPInstanceUID}/frames/1/raw"
    response = alice_client.get(url)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "JPEG Extended (Process 2 and 4)" in detail
    assert "1.2.840.10008.1.2.4.51" in detail
    assert "the file is kept in the archive" in detail
    # and so it is
    assert absolute_path(Instance.objects.get().file_path).is_file()


def test_it_answers_favicon_ico_with_our_icon_even_before_sign_in(client):
    # Every page (the admin's too) asks for /favicon.ico: it was a 404 each time.
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/favicon.svg")
    icon = finders.find("favicon.svg")
    assert icon and open(icon).read().startswith("<svg")
