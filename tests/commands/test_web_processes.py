"""``manage.py serve --web-processes N``: more processes answer on its one port, end with
it however it ends, and are refused where live messages could not reach their viewers."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.base import free_port, wait_listening
from tests.live.test_redis_layer import REDIS_URL, require_redis
from tests.retrieve.support import spawn_command

from .test_serve import interrupt

pytestmark = pytest.mark.django_db(transaction=True)


def serve(tmp_path: Path, port: int, *args: str, **env: str):
    return spawn_command(
        tmp_path / "serve.log",
        "serve",
        "--no-demo",
        "--no-scp",
        "--port",
        str(port),
        *args,
        PACSWEB_ADMIN_PASSWORD="web-processes-test-1",
        **env,
    )


def child_processes_of(pid: int, count: int, command: bytes = b"web_process") -> list[int]:
    """The ``command`` children of ``pid`` (web or SCP processes), once ``count`` run.

    A child counts once it runs the command: just forked, it still has its parent's
    command line (``serve --web-processes``) and session.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
        children = [c for c in children if is_child_command(command_line(c), command)]
        if len(children) == count:
            return children
        time.sleep(0.2)
    raise AssertionError(f"{count} processes did not start")


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def is_child_command(argv: bytes, command: bytes) -> bool:
    """Whether ``argv`` (a /proc cmdline) is ``manage.py <command> ... --parent PID``."""
    arguments = argv.split(b"\0")
    return command in arguments and b"--parent" in arguments


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    """Whether a socket on this machine listens on ``port`` (read from the kernel's table:
    a connect to test it may meet itself, TCP's simultaneous open on loopback)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state == "0A":
                return True
    return False


def wait_ended(pids: list[int], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if running(p)]}"
        time.sleep(0.2)


def serve_with_redis(tmp_path, processes: int) -> tuple[subprocess.Popen, int]:
    """``serve --web-processes`` over Redis, once it listens; returns it and its port."""
    require_redis()
    port = free_port()
    process = serve(tmp_path, port, "--web-processes", str(processes), REDIS_URL=REDIS_URL)
    try:
        wait_listening(port, process, seconds=60)
    except BaseException:
        process.kill()
        raise
    return process, port


def sign_in_pages_with_the_first_frozen(process, port: int, times: int) -> None:
    """With the first process frozen, only the others can accept and answer."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        for _ in range(times):  # a new connection each: any process may accept it
            login = httpx.get(f"http://127.0.0.1:{port}/login/", timeout=30)
            assert login.status_code == 200
            assert 'name="password"' in login.text
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_the_other_web_processes_answer_while_the_first_is_stopped(tmp_path, archive_root):
    process, port = serve_with_redis(tmp_path, 3)
    try:
        others = child_processes_of(process.pid, 2)
        # Sessions of their own: a terminal's Ctrl+C reaches the first alone, which
        # stops them (none is taken for ended and replaced meanwhile).
        assert all(os.getsid(pid) != os.getsid(process.pid) for pid in others)
        sign_in_pages_with_the_first_frozen(process, port, times=6)
    finally:
        if process.poll() is None:
            interrupt(process, tmp_path / "serve.log")
    wait_ended(others)
    assert "starting another" not in (tmp_path / "serve.log").read_text()


def test_a_child_counts_once_it_runs_its_command_not_while_it_has_its_parents():
    # Just forked, a child's command line is its parent's, which names
    # --web-processes: taken for a web process, it was frozen-tested before it had its
    # own session (regression: a flaky CI run).
    parent = b"\0".join([b"python", b"manage.py", b"serve", b"--web-processes", b"3"])
    child = b"\0".join([b"python", b"manage.py", b"web_process", b"--fd", b"3", b"--parent", b"1"])
    assert not is_child_command(parent, b"web_process")
    assert is_child_command(child, b"web_process")
    scp_parent = b"\0".join([b"python", b"manage.py", b"run_scp", b"--processes", b"2"])
    assert not is_child_command(scp_parent, b"run_scp")


def test_the_other_web_processes_end_when_serve_is_killed(tmp_path, archive_root):
    process, port = serve_with_redis(tmp_path, 2)
    try:
        others = child_processes_of(process.pid, 1)
        assert listening(port)
    finally:
        process.kill()  # no chance to stop its children: the kernel tells them
        process.wait()
    wait_ended(others)
    assert not listening(port)


def test_several_web_processes_without_redis_are_refused_before_anything_starts(
    tmp_path, archive_root
):
    port = free_port()
    process = serve(tmp_path, port, "--web-processes", "2")
    assert process.wait(timeout=60) != 0
    log = (tmp_path / "serve.log").read_text()
    assert "REDIS_URL" in log and "Traceback" not in log
    assert "running at" not in log


def test_a_port_in_use_is_said_before_anything_starts(tmp_path, archive_root):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process = serve(tmp_path, port)
        assert process.wait(timeout=60) != 0
    log = (tmp_path / "serve.log").read_text()
    assert f"cannot listen on port {port}" in log and "Traceback" not in log
    assert "running at" not in log


def test_a_web_process_that_ends_is_replaced_and_the_port_keeps_answering(tmp_path, archive_root):
    process, port = serve_with_redis(tmp_path, 2)
    try:
        (first,) = child_processes_of(process.pid, 1)
        os.kill(first, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        deadline = time.monotonic() + 60
        while (replacement := child_processes_of(process.pid, 1)) == [first]:
            assert time.monotonic() < deadline, "the ended web process was not replaced"
            time.sleep(0.2)
        sign_in_pages_with_the_first_frozen(process, port, times=1)
    finally:
        if process.poll() is None:
            interrupt_quietly_but_for_the_replacement(process, tmp_path / "serve.log")
    wait_ended(replacement)


def interrupt_quietly_but_for_the_replacement(process, log: Path) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "web_process process" in text and "starting another" in text
    assert "Traceback" not in text and text.rstrip().endswith("PACSweb stopped.")


@pytest.mark.parametrize("count", ["0", "-1"])
def test_no_web_process_at_all_is_refused(tmp_path, archive_root, count):
    process = serve(tmp_path, free_port(), "--web-processes", count)
    assert process.wait(timeout=60) != 0
    log = (tmp_path / "serve.log").read_text()
    assert "at least one web process" in log and "Traceback" not in log
