"""Cancel and retry from the remote study page: who may, and what the page then shows."""

import pytest
from django.contrib.auth import get_user_model

from tests.nodes.conftest import free_port, make_node
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(alice):
    node = make_node(free_port(), name="ward-pacs")
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=node, requested_by=alice)
    TransferTask.objects.create(job=job, series_uid="1.2.3.1", position=0, sop_instance_uid="1.5")
    return job


def test_the_requester_can_cancel(alice_client, job):
    page = alice_client.post(f"/retrieve/jobs/{job.pk}/cancel/", follow=True).content.decode()
    assert "Retrieve cancelled." in page
    job.refresh_from_db()
    assert job.state == RetrieveJob.CANCELLED


def test_someone_else_cannot_cancel_but_staff_can(client, job, admin_user):
    bob = get_user_model().objects.create_user("bob", password="bob-secret-pw")
    client.force_login(bob)
    page = client.post(f"/retrieve/jobs/{job.pk}/cancel/", follow=True).content.decode()
    assert "Only the person who asked for it" in page
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED
    client.force_login(admin_user)
    client.post(f"/retrieve/jobs/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.state == RetrieveJob.CANCELLED


def test_a_job_with_failures_can_be_retried(alice_client, job):
    RetrieveJob.objects.filter(pk=job.pk).update(state=RetrieveJob.PARTIAL, error="1.5: HTTP 404")
    job.tasks.update(state=TransferTask.FAILED, attempts=5)
    page = alice_client.post(f"/retrieve/jobs/{job.pk}/retry/", follow=True).content.decode()
    assert "only what is missing is fetched" in page
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED
    assert job.tasks.get().state == TransferTask.PENDING


def test_cancel_and_retry_need_a_post(alice_client, job):
    assert alice_client.get(f"/retrieve/jobs/{job.pk}/cancel/").status_code == 405
    assert alice_client.get(f"/retrieve/jobs/{job.pk}/retry/").status_code == 405


def test_the_admin_lists_jobs_with_progress_and_unfinished_instances(client, admin_user, job):
    RetrieveJob.objects.filter(pk=job.pk).update(state=RetrieveJob.PARTIAL, error="1 failed")
    job.tasks.update(state=TransferTask.FAILED, last_error="the node answered HTTP 500")
    client.force_login(admin_user)
    listing = client.get("/admin/viewer/retrievejob/").content.decode()
    assert "0 / 1 (1 failed)" in listing
    detail = client.get(f"/admin/viewer/retrievejob/{job.pk}/change/").content.decode()
    assert "the node answered HTTP 500" in detail
