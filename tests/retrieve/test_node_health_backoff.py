"""The probe schedule and the health record of an unreachable node: pure, no clock."""

from datetime import UTC, datetime

from viewer.retrieve.health import NodeHealth, backoff_delay

WALL = datetime(2026, 1, 5, 10, 42, tzinfo=UTC)


def test_it_waits_longer_after_each_failed_probe_up_to_the_cap():
    assert [backoff_delay(n) for n in range(1, 10)] == [1, 2, 4, 8, 15, 30, 60, 60, 60]
    assert [backoff_delay(n, cap=5) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert backoff_delay(0) == 0


def test_it_sends_one_probe_when_due_and_only_when_nothing_else_is_on_its_way():
    health = NodeHealth(deadline=900)
    assert health.slots(0, usual=4, busy=3) == 4
    health.failed(10.0, WALL, "refused", started=9.5)
    assert health.down and health.since == WALL
    assert health.slots(10.5, usual=4, busy=0) == 0
    assert health.slots(11.0, usual=4, busy=1) == 0
    assert health.slots(11.0, usual=4, busy=0) == 1


def test_failures_of_transfers_begun_before_the_outage_do_not_lengthen_the_wait():
    health = NodeHealth(deadline=900)
    assert health.failed(10.0, WALL, "reset", started=9.0)
    assert not health.failed(10.2, WALL, "reset", started=9.1)
    assert health.next_probe == 11.0
    assert health.failed(11.0, WALL, "refused", started=11.0)  # the probe
    assert health.next_probe == 13.0 and health.failures == 2


def test_it_gives_up_only_past_the_deadline_counted_from_the_first_failure():
    health = NodeHealth(deadline=60)
    health.failed(100.0, WALL, "refused", started=100.0)
    health.failed(150.0, WALL, "refused", started=150.0)
    assert not health.expired(159.9)
    assert health.expired(160.0)


def test_an_answer_ends_the_outage_and_says_so_once():
    health = NodeHealth(deadline=60)
    assert not health.answered()
    health.failed(1.0, WALL, "refused", started=1.0)
    assert health.answered()
    assert not health.down and health.failures == 0 and health.report(5.0) is None
    assert health.slots(5.0, usual=3, busy=2) == 3


def test_the_live_report_names_since_and_the_wait():
    health = NodeHealth(deadline=60)
    health.failed(1.0, WALL, "cannot connect to the node", started=1.0)
    assert health.report(1.25) == {
        "state": "unreachable",
        "since": "2026-01-05T10:42:00+00:00",
        "retry_in": 0.8,
        "detail": "cannot connect to the node",
    }
