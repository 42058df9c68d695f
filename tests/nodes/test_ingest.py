"""Our SCP's C-STORE sessions: one database connection and one importer per association."""

import threading

import pydicom
import pytest
from django.db import DatabaseError
from django.db.backends.signals import connection_created
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study
from viewer.audit.models import AuditEvent

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def thread_connections():
    """Database connections opened by threads other than the test's, as they open."""
    opened = []
    test_thread = threading.get_ident()

    def note(sender, connection, **kwargs):
        if threading.get_ident() != test_thread:
            opened.append(connection)

    connection_created.connect(note, weak=False)
    yield opened
    connection_created.disconnect(note)


def store(port: int, paths, end: str = "release", calling: str = "CT1") -> list[int]:
    """Send ``paths`` over one association; the statuses, in order."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSWEB")
    assert assoc.is_established
    try:
        return [assoc.send_c_store(pydicom.dcmread(path)).Status for path in paths]
    finally:
        if end == "release":
            assoc.release()
        else:
            assoc.abort()


def ended_associations(count: int) -> list[AuditEvent]:
    """The audit records written as associations end, once there are ``count``."""
    return wait_for(
        lambda: (
            count <= AuditEvent.objects.filter(event=AuditEvent.IMPORTED).count()
            and list(AuditEvent.objects.filter(event=AuditEvent.IMPORTED))
        )
    )


@pytest.mark.parametrize("end", ["release", "abort"])
def test_it_stores_an_association_over_one_connection_and_closes_it_at_the_end(
    scp_port, small_ct_folder, thread_connections, end
):
    paths = sorted((small_ct_folder / "s03").glob("*.dcm"))
    assert store(scp_port, paths, end=end) == [0x0000] * len(paths)
    assert ended_associations(1)
    assert len(thread_connections) == 1
    assert wait_for(lambda: thread_connections[0].connection is None)
    assert Instance.objects.count() == len(paths)


def test_it_makes_the_counts_exact_when_the_association_ends(scp_port, small_ct_folder):
    paths = sorted((small_ct_folder / "s03").glob("*.dcm"))
    store(scp_port, paths)
    assert ended_associations(1)
    study = Study.objects.get()
    assert (study.num_series, study.num_instances, study.modalities) == (1, len(paths), "CT")
    assert Series.objects.get().num_instances == len(paths)


def test_it_stores_parallel_associations_with_every_instance_indexed(scp_port, small_ct_folder):
    paths = sorted(small_ct_folder.rglob("*.dcm"))
    statuses: dict[int, list[int]] = {}

    def sender(n: int) -> None:
        statuses[n] = store(scp_port, paths[n::4], calling=f"CT{n}")

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sum(statuses.values(), [])) == [0x0000] * len(paths)
    assert {event.username for event in ended_associations(4)} == {f"AE CT{n}" for n in range(4)}
    sent = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in paths}
    assert set(Instance.objects.values_list("sop_instance_uid", flat=True)) == sent
    study = Study.objects.get()
    assert (study.num_series, study.num_instances) == (4, len(paths))
    for series in Series.objects.all():
        assert series.num_instances == series.instances.count()


def test_it_answers_a_database_error_and_stores_the_next_instance(
    scp_port, small_ct_folder, monkeypatch
):
    original = Importer.store
    calls = []

    def fail_once(self, parsed):
        calls.append(parsed.sop_instance_uid)
        if len(calls) == 1:
            raise DatabaseError("the server went away")
        return original(self, parsed)

    monkeypatch.setattr(Importer, "store", fail_once)
    paths = sorted((small_ct_folder / "s02").glob("*.dcm"))
    assert store(scp_port, paths) == [0xA700] + [0x0000] * (len(paths) - 1)
    assert ended_associations(1)
    assert Instance.objects.count() == len(paths) - 1
    assert Study.objects.get().num_instances == len(paths) - 1


def test_it_answers_success_for_a_duplicate_and_stores_it_once(scp_port, small_ct_folder):
    path = sorted((small_ct_folder / "s02").glob("*.dcm"))[0]
    assert store(scp_port, [path, path]) == [0x0000, 0x0000]
    assert store(scp_port, [path]) == [0x0000]
    assert ended_associations(2)
    assert Instance.objects.count() == 1
    assert Study.objects.get().num_instances == 1
