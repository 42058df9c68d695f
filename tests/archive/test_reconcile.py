"""Crash residue: stored files without a row are indexed, dead writers' temporaries go."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.base import SMALL_CT, free_port, require_peer, wait_listening
from viewer.archive import storage
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.archive.reconcile import reconcile
from viewer.demo.ct_study import write_demo_ct

pytestmark = pytest.mark.django_db(transaction=True)


def dead_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_it_indexes_a_stored_file_that_has_no_row(archive_root, small_ct_folder):
    Importer().run([small_ct_folder])
    lost = Instance.objects.order_by("pk").first()
    lost.delete()  # as a crash between the rename and the commit leaves it
    outcome = reconcile()
    assert outcome.indexed == 1 and outcome.rejected == []
    assert Instance.objects.filter(sop_instance_uid=lost.sop_instance_uid).exists()
    assert reconcile().indexed == 0


def test_it_removes_dead_writers_temporaries_and_keeps_live_ones(archive_root):
    folder = archive_root / "1.2" / "1.3"
    folder.mkdir(parents=True)
    host = socket.gethostname()
    dead = folder / f".part-{host}-{dead_pid()}-abc"
    live = folder / f".part-{host}-{os.getpid()}-def"
    elsewhere = folder / ".part-otherhost-1-ghi"
    for part in (dead, live, elsewhere):
        part.write_bytes(b"half a file")
    assert reconcile().parts_removed == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([live.name, elsewhere.name])


def test_a_write_names_its_temporary_after_its_process(archive_root, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, target):
        seen.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(storage.os, "replace", spy)
    storage.write_atomic("1.2/1.3/1.4.dcm", b"DICM")
    assert seen[0].startswith(f".part-{socket.gethostname()}-{os.getpid()}-")


def test_the_command_says_what_it_did(archive_root, small_ct_folder, capsys):
    Importer().run([small_ct_folder])
    Instance.objects.all().delete()
    call_command("reconcile_archive")
    count = len(list(small_ct_folder.rglob("*.dcm")))
    assert f"indexed {count} files, removed 0 temporaries, 0 unreadable" in capsys.readouterr().out


@pytest.mark.dcmtk
def test_after_a_kill_mid_store_the_next_start_leaves_every_file_indexed(tmp_path, archive_root):
    source = write_demo_ct(tmp_path / "source", SMALL_CT)
    port = free_port()
    env = {
        **os.environ,
        "PACSWEB_DATA": str(tmp_path / "data"),
        "PACSWEB_STORAGE": str(archive_root),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'scp.sqlite3'}",
    }
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)

    def start_scp() -> subprocess.Popen:
        log = (tmp_path / "scp.log").open("a")
        process = subprocess.Popen(
            [*manage, "run_scp", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        wait_listening(port, process, seconds=30)
        return process

    scp = start_scp()
    senders = [
        subprocess.Popen(
            [require_peer("storescu"), "-aec", "PACSWEB", "127.0.0.1", str(port), *map(str, part)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for part in (source[0::3], source[1::3], source[2::3])
    ]
    deadline = time.monotonic() + 30
    while not list(archive_root.rglob("*.dcm")) and time.monotonic() < deadline:
        time.sleep(0.02)
    scp.send_signal(signal.SIGKILL)  # mid-way through the three associations
    scp.wait(timeout=10)
    for sender in senders:
        sender.wait(timeout=30)
    stored_before = len(list(archive_root.rglob("*.dcm")))
    assert stored_before > 0
    scp = start_scp()
    try:
        check = subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "from viewer.archive.models import Instance; print(Instance.objects.count())",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        scp.send_signal(signal.SIGTERM)
        scp.wait(timeout=20)
    files = list(archive_root.rglob("*.dcm"))
    assert int(check.stdout.split()[-1]) == len(files) >= stored_before
    assert not list(archive_root.rglob(".part-*"))
