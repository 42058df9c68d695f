"""Removing an instance: the row at once, the file only once that commits."""

from pathlib import Path

import pytest
from django.db import transaction

from viewer.archive.models import Instance, Study
from viewer.archive.reconcile import reconcile
from viewer.archive.removal import remove_instance
from viewer.archive.storage import absolute_path

pytestmark = pytest.mark.django_db


def some_instance() -> Instance:
    return Instance.objects.order_by("pk").first()


def test_it_removes_the_row_and_the_file_once_committed(
    small_ct, django_capture_on_commit_callbacks
):
    instance = some_instance()
    path = absolute_path(instance.file_path)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert remove_instance(instance.sop_instance_uid)
        assert path.exists()  # not before the commit
    assert len(callbacks) == 1
    assert not path.exists()
    assert not Instance.objects.filter(pk=instance.pk).exists()
    study = Study.objects.get()
    assert study.num_instances == Instance.objects.count()


def test_it_keeps_the_row_and_the_file_when_the_transaction_rolls_back(
    small_ct, django_capture_on_commit_callbacks
):
    instance = some_instance()
    path = absolute_path(instance.file_path)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            remove_instance(instance.sop_instance_uid)
            raise RuntimeError("the commit fails")
    assert callbacks == []
    assert path.exists()
    assert Instance.objects.filter(pk=instance.pk).exists()


def test_it_answers_false_for_an_instance_not_here(db):
    assert remove_instance("1.2.3.4") is False


@pytest.mark.django_db(transaction=True)
def test_it_leaves_a_file_it_could_not_delete_to_reconciliation(
    archive_root, small_ct_folder, monkeypatch
):
    from viewer.archive.importer import Importer

    Importer().run([small_ct_folder])
    instance = some_instance()
    path = absolute_path(instance.file_path)

    def refused(self, missing_ok=False):
        raise PermissionError("read-only")

    monkeypatch.setattr(Path, "unlink", refused)
    assert remove_instance(instance.sop_instance_uid)  # autocommit: unlinked at once
    monkeypatch.undo()
    assert path.exists()
    assert not Instance.objects.filter(sop_instance_uid=instance.sop_instance_uid).exists()
    assert reconcile().indexed == 1
    assert Instance.objects.filter(sop_instance_uid=instance.sop_instance_uid).exists()
