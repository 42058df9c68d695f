"""Retrieve jobs: one active job per study, however many people ask."""

import pytest
from django.db import IntegrityError

from tests.nodes.conftest import free_port, make_node
from viewer.retrieve.jobs import cancel, request_retrieve, retry
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db


def test_asking_twice_gives_the_same_job(alice):
    node = make_node(free_port())
    first, created = request_retrieve("1.2.3", node, alice)
    again, created_again = request_retrieve("1.2.3", node, None)
    assert created and not created_again and first == again
    assert first.state == RetrieveJob.QUEUED and first.requested_by == alice


def test_a_finished_study_can_be_asked_for_again(db):
    node = make_node(free_port())
    job, _ = request_retrieve("1.2.3", node)
    job.state = RetrieveJob.FAILED
    job.save()
    newer, created = request_retrieve("1.2.3", node)
    assert created and newer != job


def test_the_database_refuses_a_second_active_job(db):
    node = make_node(free_port())
    RetrieveJob.objects.create(study_uid="1.2.3", node=node)
    with pytest.raises(IntegrityError):
        RetrieveJob.objects.create(study_uid="1.2.3", node=node, state=RetrieveJob.RUNNING)


def job_with_tasks(node, states: list[str], job_state: str = RetrieveJob.PARTIAL) -> RetrieveJob:
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=node, state=job_state, error="x")
    for position, state in enumerate(states):
        TransferTask.objects.create(
            job=job,
            series_uid="1.2.3.1",
            position=position,
            sop_instance_uid=f"1.2.3.1.{position}",
            state=state,
            attempts=3,
            last_error="boom" if state == TransferTask.FAILED else "",
        )
    return job


def test_retry_queues_what_failed_and_keeps_what_arrived(db):
    job = job_with_tasks(
        make_node(free_port()), [TransferTask.DONE, TransferTask.FAILED, TransferTask.PRESENT]
    )
    again, queued = retry(job)
    assert queued and again.pk == job.pk
    assert again.state == RetrieveJob.QUEUED and again.error == ""
    states = dict(job.tasks.values_list("position", "state"))
    assert states == {0: TransferTask.DONE, 1: TransferTask.PENDING, 2: TransferTask.PRESENT}
    assert job.tasks.get(position=1).attempts == 0


def test_retry_gives_the_active_job_when_the_study_has_one(db):
    node = make_node(free_port())
    old = job_with_tasks(node, [TransferTask.FAILED], job_state=RetrieveJob.FAILED)
    active, _ = request_retrieve("1.2.3", node)
    got, queued = retry(old)
    assert not queued and got == active


def test_a_running_job_cannot_be_retried_and_a_done_one_not_cancelled(db):
    node = make_node(free_port())
    running = job_with_tasks(node, [TransferTask.ACTIVE], job_state=RetrieveJob.RUNNING)
    assert retry(running)[1] is False
    assert cancel(running)
    running.refresh_from_db()
    assert running.state == RetrieveJob.CANCELLED and running.finished_at
    assert not cancel(running)


@pytest.mark.postgres
def test_on_postgresql_a_job_is_queued_once_however_often_it_is_asked_for(db, settings):
    from django.db import connection

    assert settings.USE_JOB_QUEUE, "the PostgreSQL pass must use Procrastinate's queue"
    node = make_node(free_port())
    job, _ = request_retrieve("1.2.3", node)
    request_retrieve("1.2.3", node)
    from viewer.retrieve.queue import enqueue

    enqueue(job)  # a second hand-off of a job still waiting changes nothing
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (args->>'retrieve_job_id')::int, lock FROM procrastinate_jobs"
            " WHERE task_name = 'run_retrieve_job'"
        )
        assert cursor.fetchall() == [(job.pk, "retrieve-study-1.2.3")]
