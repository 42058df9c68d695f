"""An instance the node always fails on with a node-kind error (503, reset) while it sends
the others: the instance's fault, so it uses its attempts; the job does not wait out the
node's outage deadline for it."""

import pytest

from viewer.retrieve.engine import Engine
from viewer.retrieve.models import RetrieveJob, TransferTask

from . import faulty_server as faults
from .support import assert_byte_identical, make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def long_deadline_quick_probes(settings):
    settings.PACSWEB_NODE_OUTAGE_DEADLINE = 60  # the test ends long before, or fails
    settings.PACSWEB_NODE_BACKOFF_MAX_SECONDS = 1


def test_it_gives_up_an_instance_the_node_always_answers_busy_and_keeps_the_rest(server, sources):
    uids = list(sources)
    bad = uids[len(uids) // 2]
    job = make_job(server, sources, slots=2, fault_for={bad: faults.BUSY_ALWAYS})
    assert Engine(job.pk, "worker").run() == RetrieveJob.PARTIAL
    failed = job.tasks.get(state=TransferTask.FAILED)
    assert failed.sop_instance_uid == bad
    assert "while the node sends other instances" in failed.last_error
    assert_byte_identical(sources, [uid for uid in uids if uid != bad])
    # It used its attempts (node errors give theirs back until the node answers others).
    assert failed.attempts >= 1


def test_a_busy_answer_to_every_instance_is_still_the_nodes(server, sources, settings):
    settings.PACSWEB_NODE_OUTAGE_DEADLINE = 3
    job = make_job(server, sources, slots=2, fault_for=dict.fromkeys(sources, faults.BUSY_ALWAYS))
    assert Engine(job.pk, "worker").run() == RetrieveJob.FAILED
    job.refresh_from_db()
    assert "unreachable" in job.error
    # No instance was given up on its own: they wait for Retry.
    assert not job.tasks.filter(state=TransferTask.FAILED).exists()


def test_a_rate_limited_instance_is_never_blamed_however_many_others_arrive(server, sources):
    uids = list(sources)
    limited = uids[len(uids) // 2]
    job = make_job(server, sources, slots=2, fault_for={limited: faults.LIMITED})
    assert Engine(job.pk, "worker").run() == RetrieveJob.DONE
    assert job.tasks.get(sop_instance_uid=limited).attempts <= 1
    assert_byte_identical(sources, uids)
