"""Fixtures: an empty archive per test, named users, small generated studies."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.base import SMALL_CT, running_storescp
from viewer.demo.ct_study import write_demo_ct


@pytest.fixture(autouse=True)
def archive_root(tmp_path, settings) -> Path:
    """Every test gets its own empty storage root."""
    root = tmp_path / "archive"
    root.mkdir()
    settings.PACSWEB_STORAGE = root
    return root


@pytest.fixture(autouse=True)
def empty_job_queue(request, settings):
    """Procrastinate's tables are not Django-managed: a transactional test's flush leaves
    them full, so empty them after any test that committed."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if settings.USE_JOB_QUEUE and marker and marker.kwargs.get("transaction"):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, "
                "procrastinate_workers CASCADE"
            )


@pytest.fixture(autouse=True)
def fresh_access_tally(monkeypatch):
    """Image reads counted for the audit trail start from none in every test: a tally
    left by an earlier test would write rows for its users, rolled back since."""
    from viewer.audit import access

    monkeypatch.setattr(access, "TALLY", access.AccessTally())


@pytest.fixture(scope="session")
def small_ct_folder(tmp_path_factory) -> Path:
    """The demo CT at 64x64 with few slices, written once per session."""
    folder = tmp_path_factory.mktemp("small_ct")
    write_demo_ct(folder, SMALL_CT)
    return folder


@pytest.fixture
def small_ct(db, small_ct_folder):
    """The small CT imported into this test's archive; returns the import report."""
    from viewer.archive.importer import Importer

    report = Importer().run([small_ct_folder])
    assert not report.rejected
    return report


@pytest.fixture
def alice(db):
    """An ordinary ward doctor."""
    return get_user_model().objects.create_user("alice", password="alice-secret-pw")


@pytest.fixture
def admin_user(db):
    """A PACS administrator."""
    return get_user_model().objects.create_superuser("root", password="root-secret-pw")


@pytest.fixture
def alice_client(client, alice):
    """A test client signed in as alice."""
    client.force_login(alice)
    return client


@pytest.fixture
def storescp(tmp_path):
    """dcmtk's storescp as AE title DEST: its port and the folder it writes to."""
    folder = tmp_path / "dest"
    folder.mkdir()
    with running_storescp(folder) as port:
        yield port, folder
