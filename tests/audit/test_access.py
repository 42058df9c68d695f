"""Image, tag and metadata reads in the trail: one row per user, study and minute."""

import time

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from viewer.archive.models import Instance, Study
from viewer.audit import access
from viewer.audit.access import AccessTally
from viewer.audit.models import AuditEvent
from viewer.web.middleware import audit_middleware

pytestmark = pytest.mark.django_db


class Clock:
    """A clock the test moves: reads land in the minute it says."""

    def __init__(self) -> None:
        self.now = time.time() // 60 * 60 + 10  # seconds since the epoch

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A fresh tally for the process, on a clock that stays in one minute until moved."""
    moved = Clock()
    monkeypatch.setattr(access, "TALLY", AccessTally(clock=moved))
    return moved


def accessed() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=AuditEvent.INSTANCES_ACCESSED))


def test_it_records_paging_through_a_series_as_one_row_with_the_count(
    alice_client, alice, small_ct, clock
):
    study = Study.objects.select_related("patient").get()
    instances = list(Instance.objects.filter(rows__isnull=False).select_related("series"))
    series = instances[0].series
    base = f"/api/studies/{study.study_uid}"
    urls = [f"{base}/instances/{i.sop_instance_uid}/frames/1/raw" for i in instances]
    urls += [
        f"{base}/instances/{instances[0].sop_instance_uid}/frames/1/rendered",
        f"{base}/instances/{instances[0].sop_instance_uid}/tags/",
        f"{base}/series/{series.series_uid}/metadata/",
        f"/studies/{study.study_uid}/series/{series.series_uid}/thumbnail.png",
    ]
    for url in urls:
        assert alice_client.get(url, REMOTE_ADDR="10.1.2.3").status_code == 200
    access.flush_pending()
    [row] = accessed()
    assert row.count == len(urls)
    assert (row.user, row.username, row.study_uid, row.remote_address) == (
        alice,
        "alice",
        study.study_uid,
        "10.1.2.3",
    )
    assert row.patient_id == study.patient.patient_id == "PW-DEMO-0001"


def test_reads_that_fail_are_not_counted(alice_client, small_ct, clock):
    study = Study.objects.get()
    missing = f"/api/studies/{study.study_uid}/instances/1.2.3.4/frames/1/raw"
    assert alice_client.get(missing).status_code == 404
    access.flush_pending()
    assert accessed() == []


def test_other_pages_of_the_study_are_not_counted_as_image_reads(alice_client, small_ct, clock):
    study = Study.objects.get()
    alice_client.get(f"/studies/{study.study_uid}/")  # audited as opened, one row
    alice_client.get(f"/api/studies/{study.study_uid}/measurements/")
    access.flush_pending()
    assert accessed() == []


def test_each_person_and_each_study_gets_a_row(client, alice, admin_user, small_ct, clock):
    study = Study.objects.get()
    instance = Instance.objects.filter(rows__isnull=False).first()
    url = f"/api/studies/{study.study_uid}/instances/{instance.sop_instance_uid}/tags/"
    for person in (alice, admin_user, alice):
        client.force_login(person)
        client.get(url)
    access.flush_pending()
    assert sorted((row.username, row.count) for row in accessed()) == [("alice", 2), ("root", 1)]


def test_one_person_reading_on_two_computers_gets_a_row_for_each(client, alice, small_ct, clock):
    # Regression: a row kept the first read's address, so reads from a second PC in the
    # same minute were put down to the first.
    study = Study.objects.get()
    instance = Instance.objects.filter(rows__isnull=False).first()
    url = f"/api/studies/{study.study_uid}/instances/{instance.sop_instance_uid}/tags/"
    client.force_login(alice)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.2"):
        client.get(url, REMOTE_ADDR=address)
    access.flush_pending()
    rows = sorted((row.remote_address, row.count) for row in accessed())
    assert rows == [("10.0.0.1", 1), ("10.0.0.2", 2)]


def test_the_first_read_writes_the_row_and_later_ones_wait_for_the_interval(alice, small_ct):
    clock = Clock()
    tally = AccessTally(interval=5, clock=clock)
    study_uid = Study.objects.get().study_uid

    def read(times: int = 1) -> None:
        for _ in range(times):
            tally.write(tally.note(study_uid, alice, "10.0.0.1"))

    read()
    assert [row.count for row in accessed()] == [1]  # the first read is in the trail at once
    read(40)
    assert [row.count for row in accessed()] == [1]  # no write per read
    clock.now += 5
    read()
    assert [row.count for row in accessed()] == [42]  # one UPDATE brings it up to date


def test_a_new_minute_gets_a_new_row_and_the_last_ones_reads_are_written(alice, small_ct):
    clock = Clock()
    tally = AccessTally(interval=5, clock=clock)
    study_uid = Study.objects.get().study_uid
    for _ in range(7):
        tally.write(tally.note(study_uid, alice))
    clock.now += 60
    tally.write(tally.note(study_uid, alice))
    rows = AuditEvent.objects.filter(event=AuditEvent.INSTANCES_ACCESSED).order_by("pk")
    assert [row.count for row in rows] == [7, 1]


def test_a_reader_who_stopped_is_written_when_anyone_reads_again(alice, admin_user, small_ct):
    clock = Clock()
    tally = AccessTally(interval=5, clock=clock)
    study_uid = Study.objects.get().study_uid
    for _ in range(3):
        tally.write(tally.note(study_uid, alice))
    clock.now += 6
    tally.write(tally.note(study_uid, admin_user))  # someone else's read sweeps
    assert AuditEvent.objects.get(event=AuditEvent.INSTANCES_ACCESSED, username="alice").count == 3


def test_two_processes_reading_in_one_minute_share_the_row(alice, small_ct):
    clock = Clock()
    study_uid = Study.objects.get().study_uid
    first, second = AccessTally(clock=clock), AccessTally(clock=clock)
    first.write(first.note(study_uid, alice))
    second.write(second.note(study_uid, alice))
    second.write(second.note(study_uid, alice))
    second.flush()
    [row] = accessed()
    assert row.count == 3


@pytest.mark.django_db(transaction=True)
async def test_it_records_reads_served_by_async_views(alice, small_ct, clock):
    study = await Study.objects.select_related("patient").aget()
    url = f"/api/studies/{study.study_uid}/instances/1.2.3/frames/1/raw"
    served = []

    async def view(request):
        served.append(request)
        return HttpResponse(b"pixels")

    middleware = audit_middleware(view)
    request = RequestFactory().get(url, REMOTE_ADDR="10.9.8.7")

    async def auser():  # as AuthenticationMiddleware gives it to async code
        return alice

    request.auser = auser
    request.resolver_match = resolve(url)
    response = await middleware(request)
    assert response.status_code == 200 and served
    row = await AuditEvent.objects.aget(event=AuditEvent.INSTANCES_ACCESSED)
    assert (row.username, row.study_uid, row.patient_id, row.count, row.remote_address) == (
        "alice",
        study.study_uid,
        study.patient.patient_id,
        1,
        "10.9.8.7",
    )


@pytest.mark.django_db(transaction=True)
async def test_it_records_reads_under_asgi(async_client, alice, small_ct, clock):
    study = await Study.objects.aget()
    instance = await Instance.objects.filter(rows__isnull=False).afirst()
    await async_client.aforce_login(alice)
    url = f"/api/studies/{study.study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"
    for _ in range(3):
        assert (await async_client.get(url)).status_code == 200
    await sync_to_async(access.flush_pending)()
    row = await AuditEvent.objects.aget(event=AuditEvent.INSTANCES_ACCESSED)
    assert (row.username, row.count) == ("alice", 3)


def test_reads_by_an_account_deleted_since_are_written_with_its_name(alice, small_ct):
    # Regression: the row linked the gone account, so the insert failed at every try.
    study_uid = Study.objects.get().study_uid
    due = access.note_access(study_uid, alice)
    alice.delete()
    access.write(due)
    row = AuditEvent.objects.get(event=AuditEvent.INSTANCES_ACCESSED)
    assert (row.user, row.username, row.count) == (None, "alice", 1)
