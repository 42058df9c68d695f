"""The scheduler, one rule per test, with no database; properties with hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.retrieve.scheduler import (
    BREADTH,
    DEPTH,
    HYBRID,
    INTERLEAVED,
    JobState,
    SeriesState,
    batch_slots,
    interleaved_order,
    schedule,
    schedule_batches,
)


def series(uid: str, total: int, done: int = 0, active: int = 0) -> SeriesState:
    return SeriesState(uid, total, frozenset(range(done + active, total)), active)


def test_depth_finishes_the_first_series_first():
    job = JobState([series("a", 3), series("b", 3)], slots=4, policy=DEPTH)
    assert schedule(job) == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]


def test_breadth_starts_with_the_first_image_of_every_series():
    job = JobState([series("a", 5), series("b", 5), series("c", 5)], slots=3, policy=BREADTH)
    assert schedule(job) == [("a", 0), ("b", 0), ("c", 0)]


def test_breadth_fills_the_least_busy_series():
    job = JobState(
        [series("a", 9, done=1, active=2), series("b", 9, done=1)], slots=4, policy=BREADTH
    )
    assert schedule(job) == [("b", 1), ("b", 2)]


def test_hybrid_gives_a_focused_series_every_slot_it_can_use():
    job = JobState(
        [series("a", 9, done=1), series("b", 9, done=1), series("c", 9, done=1)],
        slots=4,
        policy=HYBRID,
        focus=["c"],
    )
    assert [uid for uid, _ in schedule(job)] == ["c"] * 4


def test_hybrid_shares_what_the_focus_cannot_use():
    job = JobState(
        [series("a", 9, done=1), series("b", 9, done=1), series("c", 3, done=1)],
        slots=4,
        policy=HYBRID,
        focus=["c"],
    )
    assert schedule(job) == [("c", 1), ("c", 2), ("a", 1), ("b", 1)]


def test_the_most_recent_focus_wins_ties():
    job = JobState(
        [series("a", 9, done=1), series("b", 9, done=1)], slots=2, policy=HYBRID, focus=["b", "a"]
    )
    assert [uid for uid, _ in schedule(job)] == ["b", "b"]


def test_closest_first_inside_a_focused_series():
    job = JobState(
        [series("a", 10, done=0, active=0)],
        slots=4,
        policy=HYBRID,
        focus=["a"],
        focus_position={"a": 6},
    )
    # The slice on screen is the first image to fetch (it is also the thumbnail), then its
    # neighbours outward.
    assert schedule(job) == [("a", 6), ("a", 5), ("a", 7), ("a", 4)]


def test_interleaved_order_covers_the_extent_early():
    assert interleaved_order(9)[:3] == [4, 0, 8]
    order = interleaved_order(13)
    assert sorted(order) == list(range(13))
    assert set(order[:5]) >= {0, 6, 12, 4}


def test_interleaved_applies_when_asked():
    job = JobState([series("a", 9, done=0, active=0)], slots=3, policy=BREADTH, order=INTERLEAVED)
    assert schedule(job) == [("a", 4), ("a", 0), ("a", 8)]


def test_no_free_slot_no_transfer():
    job = JobState([series("a", 9, active=4)], slots=4)
    assert schedule(job) == []


# Properties: simulate a whole job, finishing one transfer at a time.
jobs = st.builds(
    lambda sizes, slots, policy, focus_pick, order: (sizes, slots, policy, focus_pick, order),
    st.lists(st.integers(1, 12), min_size=1, max_size=5),
    st.integers(1, 6),
    st.sampled_from([DEPTH, BREADTH, HYBRID]),
    st.lists(st.integers(0, 4), max_size=3),
    st.sampled_from(["sequential", INTERLEAVED]),
)


def simulate(sizes, slots, policy, focus_pick, order):
    uids = [f"s{i}" for i in range(len(sizes))]
    focus = [uids[i] for i in dict.fromkeys(focus_pick) if i < len(uids)]
    pending = {uid: set(range(size)) for uid, size in zip(uids, sizes, strict=True)}
    running: list[tuple[str, int]] = []
    started: list[tuple[str, int]] = []
    rounds = 0
    while any(pending.values()) or running:
        state = JobState(
            [
                SeriesState(uid, size, frozenset(pending[uid]), sum(r[0] == uid for r in running))
                for uid, size in zip(uids, sizes, strict=True)
            ],
            slots=slots,
            policy=policy,
            order=order,
            focus=focus,
        )
        picks = schedule(state)
        for uid, position in picks:
            assert position in pending[uid], "a task is only started once"
            pending[uid].discard(position)
        running += picks
        started += picks
        assert len(running) <= slots
        if policy == HYBRID:
            yield_focus_check(state, picks, focus)
        if policy == BREADTH and picks:
            counts = [
                sum(r[0] == s.series_uid for r in running)
                for s in state.series
                if pending[s.series_uid]
            ]
            if counts:
                assert max(counts) - min(counts) <= 1
        running.pop(0)  # the oldest transfer finishes
        rounds += 1
        assert rounds < 10_000
    return started


def yield_focus_check(state, picks, focus):
    """Once every series has its first image, a focused series with work takes every pick."""
    if not focus or not picks:
        return
    first_images = [s for s in state.series if not s.started and s.pending]
    queued = next((s for s in state.series if s.series_uid == focus[0]), None)
    if first_images or queued is None:
        return
    can_use = len(queued.pending)
    focused_picks = sum(uid == focus[0] for uid, _ in picks)
    assert focused_picks == min(can_use, len(picks))


@settings(max_examples=200, deadline=None)
@given(jobs)
def test_every_task_runs_once_and_slots_are_never_exceeded(job):
    sizes = job[0]
    started = simulate(*job)
    assert sorted(started) == sorted((f"s{i}", p) for i, n in enumerate(sizes) for p in range(n))


def test_a_slot_takes_its_series_next_images_along_in_batches():
    # Slots, not images: each of the two free slots brings up to 3 of one series.
    job = JobState([series("a", 9, done=1), series("b", 4, done=1)], slots=2, policy=BREADTH)
    assert schedule_batches(job, 3) == [
        [("a", 1), ("a", 2), ("a", 3)],
        [("b", 1), ("b", 2), ("b", 3)],
    ]


def test_a_focused_series_fills_every_slot_closest_first_in_batches():
    job = JobState(
        [series("a", 9, done=1), series("b", 9, done=1)],
        slots=2,
        focus=("b",),
        focus_position={"b": 5},
    )
    assert schedule_batches(job, 2) == [[("b", 5), ("b", 4)], [("b", 6), ("b", 3)]]


def test_batches_of_one_are_the_schedule_itself():
    job = JobState([series("a", 5, active=1), series("b", 5), series("c", 2)], slots=4)
    assert schedule_batches(job, 1) == [[pick] for pick in schedule(job)]


def test_a_batch_stops_at_the_end_of_its_series():
    job = JobState([series("a", 2)], slots=3, policy=DEPTH)
    assert schedule_batches(job, 8) == [[("a", 0), ("a", 1)]]


def test_it_wants_a_slot_for_each_series_with_images_ready_in_batches():
    # Three series with 2 images each make three batches (a batch never mixes series):
    # wanting fewer slots would leave the job's share, and the node, idle.
    job = JobState([series("a", 2), series("b", 2), series("c", 2)], slots=4)
    assert len(schedule_batches(job, 8)) == batch_slots([2, 2, 2], 8) == 3
    assert batch_slots([9, 0, 1], 4) == 4
    assert batch_slots([5, 3], 1) == 8
