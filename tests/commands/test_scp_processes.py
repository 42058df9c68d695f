"""``manage.py run_scp --processes N``: associations accepted by every process on one port,
C-STOREs of parallel senders all stored, every process ending with the first."""

import os
import signal
import subprocess

import pytest

from tests.base import free_port, require_peer, wait_listening
from tests.commands.test_web_processes import child_processes_of, listening, running, wait_ended
from tests.retrieve.support import spawn_command
from viewer.archive.models import Instance

pytestmark = pytest.mark.django_db(transaction=True)


def run_scp(tmp_path, port: int, processes: int) -> subprocess.Popen:
    return spawn_command(
        tmp_path / "scp.log",
        "run_scp",
        "--port",
        str(port),
        "--processes",
        str(processes),
        PACSWEB_SCP_STORE_FROM="any",
    )


def storescu(port: int, files, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [require_peer("storescu"), *args, "-aec", "PACSWEB", "127.0.0.1", str(port)]
        + [str(path) for path in files],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_the_others_answer_while_the_first_is_stopped_and_parallel_senders_store_everything(
    tmp_path, small_ct_folder, archive_root
):
    files = sorted(small_ct_folder.rglob("*.dcm"))
    port = free_port()
    process = run_scp(tmp_path, port, processes=2)
    try:
        wait_listening(port, process, seconds=60)
        (other,) = child_processes_of(process.pid, 1, command=b"run_scp")
        # The first process frozen (before it has stored anything, so it holds no lock
        # on the database): only the other can accept, answer and store.
        os.kill(process.pid, signal.SIGSTOP)
        try:
            echo = subprocess.run(
                [require_peer("echoscu"), "-aec", "PACSWEB", "127.0.0.1", str(port)],
                capture_output=True,
                timeout=60,
            )
            assert echo.returncode == 0, echo.stdout + echo.stderr
            sender = storescu(port, files[:1])
            output, _ = sender.communicate(timeout=60)
            assert sender.returncode == 0, output.decode(errors="replace")
            assert Instance.objects.count() == 1
        finally:
            os.kill(process.pid, signal.SIGCONT)
        senders = [storescu(port, files[part::4]) for part in range(4)]
        for sender in senders:
            output, _ = sender.communicate(timeout=120)
            assert sender.returncode == 0, output.decode(errors="replace")
        assert Instance.objects.count() == len(files)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            stopped = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # the children end with it
            raise
    assert stopped == 0
    log = (tmp_path / "scp.log").read_text()
    assert "in 2 processes" in log and "DICOM SCP stopped." in log and "Traceback" not in log
    wait_ended([other])


def test_the_other_scp_processes_end_when_the_first_is_killed(tmp_path, archive_root):
    port = free_port()
    process = run_scp(tmp_path, port, processes=3)
    try:
        wait_listening(port, process, seconds=60)
        others = child_processes_of(process.pid, 2, command=b"run_scp")
        assert all(running(pid) for pid in others)
        assert listening(port)
    finally:
        process.kill()
        process.wait()
    wait_ended(others)
    assert not listening(port)


def test_no_scp_process_at_all_is_refused(tmp_path, archive_root):
    process = run_scp(tmp_path, free_port(), processes=0)
    assert process.wait(timeout=60) != 0
    log = (tmp_path / "scp.log").read_text()
    assert "--processes: at least one" in log and "Traceback" not in log


def test_ctrl_c_while_the_others_start_stops_them_quietly(tmp_path, archive_root):
    port = free_port()
    process = run_scp(tmp_path, port, processes=3)
    try:
        # Once both others run, before they say they are ready (Django takes seconds to
        # start): the first waits for them, not yet listening.
        others = child_processes_of(process.pid, 2, command=b"run_scp")
        assert not listening(port)
        process.send_signal(signal.SIGINT)
        stopped = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    log = (tmp_path / "scp.log").read_text()
    assert stopped == 0, log
    assert "DICOM SCP stopped." in log and "Traceback" not in log, log
    wait_ended(others)
    assert not listening(port)
