"""Which answers end an outage: only those complete after it began (pure, no clock)."""

from datetime import UTC, datetime

from viewer.retrieve.health import NodeHealth

WALL = datetime(2026, 1, 5, 10, 42, tzinfo=UTC)


def test_it_keeps_the_outage_on_an_answer_complete_before_it_began():
    # Seen against Orthanc: an instance still being stored when another transfer was
    # reset called the node "reachable" 60 ms into a 25 s outage.
    health = NodeHealth(deadline=900)
    health.failed(10.0, WALL, "reset", started=9.0)
    assert not health.answered(at=9.8)
    assert health.down and health.failures == 1 and health.since == WALL


def test_it_ends_the_outage_on_an_answer_complete_after_it_began():
    health = NodeHealth(deadline=900)
    health.failed(10.0, WALL, "reset", started=9.0)
    assert health.answered(at=11.0)
    assert not health.down and health.report(12.0) is None


def test_an_answer_without_its_time_still_ends_the_outage():
    health = NodeHealth(deadline=900)
    health.failed(10.0, WALL, "refused", started=10.0)
    assert health.answered()
    assert not health.answered(at=1.0)  # nothing to end
