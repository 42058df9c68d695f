"""The on-disk cache of encoded frames: made once, a damaged entry made again."""

import errno
import logging
import os
import time

import pytest

from viewer.imaging.frame_cache import cached_frame, entry_path, set_limit, trim


class Maker:
    """A ``make`` that counts its calls."""

    def __init__(self, content: bytes = b"codestream") -> None:
        self.content, self.calls = content, 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.content


@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "stored" / "1.2.3.dcm"
    path.parent.mkdir()
    path.write_bytes(b"DICM" * 100)
    return path


@pytest.fixture
def root(tmp_path):
    return tmp_path / "frame-cache"


def kept_entries(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


def cache_size(root) -> int:
    """The bytes kept, counting only entries still there (a trim may be removing some)."""
    total = 0
    for path in root.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:
            pass
    return total


def test_it_makes_an_entry_once(stored, root):
    make = Maker()
    assert cached_frame(stored, 1, "jls", make, root=root) == b"codestream"
    assert cached_frame(stored, 1, "jls", make, root=root) == b"codestream"
    assert make.calls == 1
    [entry] = kept_entries(root)
    # Two levels of fan-out, named by a hash: nothing of the stored file's name.
    assert entry.relative_to(root).parts == (entry.name[:2], entry.name[2:4], entry.name)
    assert len(entry.name) == 64 and "1.2.3" not in str(entry)


def test_it_keeps_each_frame_and_encoding_apart(stored, root):
    first, second, other = Maker(b"one"), Maker(b"two"), Maker(b"gz")
    assert cached_frame(stored, 1, "jls", first, root=root) == b"one"
    assert cached_frame(stored, 2, "jls", second, root=root) == b"two"
    assert cached_frame(stored, 1, "gzip", other, root=root) == b"gz"
    assert len(kept_entries(root)) == 3
    assert cached_frame(stored, 2, "jls", Maker(b"new"), root=root) == b"two"


def test_it_encodes_again_when_the_stored_file_changed(stored, root):
    cached_frame(stored, 1, "jls", Maker(b"old"), root=root)
    stored.write_bytes(b"DICM" * 101)
    assert cached_frame(stored, 1, "jls", Maker(b"new"), root=root) == b"new"
    stat = stored.stat()
    os.utime(stored, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cached_frame(stored, 1, "jls", Maker(b"newer"), root=root) == b"newer"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # torn
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # a bit flipped
        lambda data: b"",
        lambda data: b"garbage" * 10,
    ],
)
def test_it_makes_a_damaged_entry_again(stored, root, damage, caplog):
    cached_frame(stored, 1, "jls", Maker(b"x" * 1000), root=root)
    [entry] = kept_entries(root)
    entry.write_bytes(damage(entry.read_bytes()))
    again = Maker(b"x" * 1000)
    with caplog.at_level(logging.WARNING, logger="viewer.imaging.frame_cache"):
        assert cached_frame(stored, 1, "jls", again, root=root) == b"x" * 1000
    assert again.calls == 1 and "damaged" in caplog.text
    third = Maker()
    assert cached_frame(stored, 1, "jls", third, root=root) == b"x" * 1000
    assert third.calls == 0  # the entry was written anew


def test_it_answers_when_an_entry_cannot_be_read_or_written(stored, root, caplog):
    stat = stored.stat()
    entry = entry_path(root, stored, stat.st_size, stat.st_mtime_ns, 1, "jls")
    entry.mkdir(parents=True)  # a folder where the entry should be: unreadable, unwritable
    with caplog.at_level(logging.WARNING, logger="viewer.imaging.frame_cache"):
        assert cached_frame(stored, 1, "jls", Maker(), root=root) == b"codestream"
    assert "not written" in caplog.text
    assert kept_entries(root) == []  # no temporary file left behind


def test_a_full_disk_is_logged_without_the_patient_and_the_frame_still_served(
    stored, root, monkeypatch, caplog
):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(stored))

    monkeypatch.setattr("viewer.imaging.frame_cache.os.replace", full)
    with caplog.at_level(logging.WARNING, logger="viewer.imaging.frame_cache"):
        assert cached_frame(stored, 1, "jls", Maker(), root=root) == b"codestream"
    assert os.strerror(errno.ENOSPC) in caplog.text
    assert str(stored.parent) not in caplog.text and "1.2.3" not in caplog.text
    assert kept_entries(root) == []


def test_nothing_is_kept_when_making_fails(stored, root):
    def broken() -> bytes:
        raise ValueError("cannot decode")

    with pytest.raises(ValueError):
        cached_frame(stored, 1, "jls", broken, root=root)
    assert not root.exists() or kept_entries(root) == []
    assert cached_frame(stored, 1, "jls", Maker(), root=root) == b"codestream"


def test_a_missing_stored_file_is_left_to_make(tmp_path, root):
    make = Maker(b"what make says")
    assert cached_frame(tmp_path / "gone.dcm", 1, "jls", make, root=root) == b"what make says"
    assert make.calls == 1 and not root.exists()


def test_it_trims_the_least_recently_used_entries_past_its_limit(stored, root):
    for number in range(10):
        cached_frame(stored, number, "jls", lambda: b"x" * 1000, root=root)
    entries = sorted(kept_entries(root), key=lambda path: path.stat().st_mtime)
    for age, entry in enumerate(reversed(entries)):
        os.utime(entry, (1_000_000 - age * 1000, 1_000_000 - age * 1000))  # oldest last made
    oldest = sorted(entries, key=lambda path: path.stat().st_mtime)
    size = oldest[0].stat().st_size
    removed = trim(root, limit=size * 6)
    left = set(kept_entries(root))
    assert removed == size * len(oldest) - size * len(left)
    assert len(left) * size <= size * 6 * 0.9
    assert left == set(oldest[len(oldest) - len(left) :])  # the newest stayed


def test_it_leaves_a_cache_within_its_limit_alone(stored, root):
    cached_frame(stored, 0, "jls", lambda: b"x" * 1000, root=root)
    assert trim(root, limit=10_000) == 0
    assert len(kept_entries(root)) == 1


def test_writing_past_the_limit_trims_in_the_background(stored, root):
    set_limit(root, 20_000)
    try:
        for number in range(40):
            cached_frame(stored, number, "jls", lambda: b"x" * 1000, root=root)
        # A trim runs at most once per twentieth of the limit written: the cache may pass
        # the limit by that much (and an entry) until the next write.
        slack = 20_000 + 20_000 // 20 + 1020
        for _ in range(100):
            if cache_size(root) <= slack:
                break
            time.sleep(0.05)
        assert cache_size(root) <= slack
        # What is left still answers without making again.
        kept = kept_entries(root)
        assert kept
    finally:
        set_limit(root, 0)
