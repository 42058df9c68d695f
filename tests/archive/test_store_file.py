"""Storing a finished file: renamed into the archive when imported, left alone otherwise."""

import io
import os
import shutil

import pydicom
import pytest
from django.db import OperationalError

from tests.base import bare_dataset_bytes, sample
from viewer.archive import storage
from viewer.archive.importer import CONFLICT, IMPORTED, PRESENT, REJECTED, Importer
from viewer.archive.models import Instance
from viewer.archive.parsing import parse_file

pytestmark = pytest.mark.django_db


def arrived(tmp_path, name: str = "CT_small.dcm", content: bytes | None = None):
    """A file as a download leaves it, and its parsed form."""
    path = tmp_path / "incoming" / f"{name}.download"
    path.parent.mkdir(exist_ok=True)
    if content is None:
        shutil.copyfile(sample(name), path)
    else:
        path.write_bytes(content)
    return path, parse_file(path)


def test_it_renames_the_file_into_the_archive_and_indexes_its_size(tmp_path, archive_root):
    path, parsed = arrived(tmp_path)
    inode = os.stat(path).st_ino
    assert parsed.file == path and parsed.content == b""
    assert Importer().store_file(path, parsed) == (IMPORTED, "")
    row = Instance.objects.get(sop_instance_uid=parsed.sop_instance_uid)
    stored = storage.absolute_path(row.file_path)
    assert os.stat(stored).st_ino == inode
    assert not path.exists()
    assert row.file_size == stored.stat().st_size == sample("CT_small.dcm").stat().st_size
    assert stored.read_bytes() == sample("CT_small.dcm").read_bytes()


def test_a_file_already_present_stays_where_it_is(tmp_path, archive_root):
    Importer().run([sample("CT_small.dcm")])
    path, parsed = arrived(tmp_path)
    assert Importer().store(parsed) == (PRESENT, "")
    assert path.exists()


def test_a_conflicting_file_stays_where_it_is_and_enters_nothing(tmp_path, archive_root):
    Importer().run([sample("CT_small.dcm")])
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.PatientID = "someone else"
    dataset.SOPInstanceUID = "1.2.3.4.5"
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    path, parsed = arrived(tmp_path, content=buffer.getvalue())
    outcome, _ = Importer().store(parsed)
    assert outcome == CONFLICT
    assert path.exists()
    assert not Instance.objects.filter(sop_instance_uid="1.2.3.4.5").exists()


def test_a_bare_data_set_is_stored_as_its_file_format_encoding(tmp_path, archive_root):
    path, parsed = arrived(tmp_path, content=bare_dataset_bytes(sample("CT_small.dcm")))
    assert parsed.file is None and parsed.content.startswith(b"\0" * 128 + b"DICM")
    assert Importer().store(parsed) == (IMPORTED, "")
    row = Instance.objects.get(sop_instance_uid=parsed.sop_instance_uid)
    assert storage.absolute_path(row.file_path).read_bytes() == parsed.content
    assert row.file_size == len(parsed.content)


def test_a_file_that_cannot_be_indexed_goes_back_where_it_was(tmp_path, archive_root, monkeypatch):
    path, parsed = arrived(tmp_path)
    original = path.read_bytes()

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    # The batch insert fails, and so does the insert of the instance on its own.
    monkeypatch.setattr(Importer, "_index_together", lambda self, to_index: False)
    monkeypatch.setattr(Instance, "save", locked)
    outcome, reason = Importer().store(parsed)
    assert (outcome, reason) == (REJECTED, "cannot index: OperationalError")
    assert path.read_bytes() == original  # the caller still has the file it handed over
    relative = storage.relative_path(parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid)
    assert not storage.absolute_path(relative, archive_root).exists()
