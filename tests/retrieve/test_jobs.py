"""Retrieve jobs: one active job per study, however many people ask."""

import pytest
from django.db import IntegrityError

from tests.nodes.conftest import free_port, make_node
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob

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
