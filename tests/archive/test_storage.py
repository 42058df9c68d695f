"""The on-disk store: UID layout and atomic writes."""

import os

import pytest

from tests.base import stored_files
from viewer.archive import storage


def test_it_lays_files_out_by_uid():
    assert storage.relative_path("1.2", "1.2.3", "1.2.3.4") == "1.2/1.2.3/1.2.3.4.dcm"


@pytest.mark.parametrize("uid", ["", "../etc", "1.2/3", "1." + "2" * 70, "1.2.abc"])
def test_it_refuses_uids_that_are_not_digits_and_dots(uid):
    with pytest.raises(storage.InvalidUID):
        storage.relative_path("1.2", uid, "1.2.3")


def test_it_writes_the_whole_file(archive_root):
    path = storage.write_atomic("1.2/1.3/1.4.dcm", b"x" * 1000)
    assert path.read_bytes() == b"x" * 1000
    assert stored_files(archive_root) == [path]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(archive_root, monkeypatch):
    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        storage.write_atomic("1.2/1.3/1.4.dcm", b"x" * 1000)
    assert stored_files(archive_root) == []


def test_a_rewrite_replaces_the_file_whole(archive_root):
    storage.write_atomic("1.2/1.3/1.4.dcm", b"old" * 10)
    path = storage.write_atomic("1.2/1.3/1.4.dcm", b"new")
    assert path.read_bytes() == b"new"
    assert len(stored_files(archive_root)) == 1


def test_a_uid_with_a_trailing_newline_is_refused():
    with pytest.raises(storage.InvalidUID):
        storage.check_uid("1.2.3\n", "UID")


def test_stale_temporaries_are_swept_and_fresh_ones_kept(archive_root):
    folder = archive_root / "1.2" / "1.3"
    folder.mkdir(parents=True)
    (folder / ".part-old").write_bytes(b"x")
    os.utime(folder / ".part-old", (0, 0))
    (folder / ".part-new").write_bytes(b"x")
    assert storage.remove_stale_parts(archive_root) == 1
    assert [path.name for path in folder.iterdir()] == [".part-new"]
