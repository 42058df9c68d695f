"""Staff look the archive's index up in the admin; only import adds, changes or deletes it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from viewer.archive.models import Instance, Patient, Series, Study

pytestmark = pytest.mark.django_db

INDEX = (Patient, Study, Series, Instance)


@pytest.mark.parametrize("model", INDEX, ids=lambda model: model.__name__)
def test_it_refuses_add_change_and_delete_to_a_superuser(model, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    row = model.objects.first()
    assert model_admin.has_view_permission(request, row)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)


def test_it_forbids_the_add_page(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/viewer/study/add/").status_code == 403
    assert client.get("/admin/viewer/patient/add/").status_code == 403


def test_it_shows_and_finds_studies_but_keeps_them(client, admin_user, small_ct):
    client.force_login(admin_user)
    study = Study.objects.get()
    listing = client.get("/admin/viewer/study/", {"q": study.study_uid}).content.decode()
    assert study.study_uid in listing
    assert "delete_selected" not in listing  # no bulk delete among the actions
    assert client.get(f"/admin/viewer/study/{study.pk}/change/").status_code == 200
    assert client.get(f"/admin/viewer/study/{study.pk}/delete/").status_code == 403
    client.post(f"/admin/viewer/study/{study.pk}/change/", {"accession_number": "CHANGED"})
    study.refresh_from_db()
    assert study.accession_number != "CHANGED"
    assert Study.objects.count() == 1
