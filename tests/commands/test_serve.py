"""``manage.py serve`` started as the README says: it answers at once, the demo study
filling in behind it, and Ctrl+C stops it quietly at any point, losing nothing."""

import signal
import time

import httpx
import pytest

from tests.base import free_port, wait_listening
from tests.retrieve.support import spawn_command
from viewer.archive.models import Instance
from viewer.demo.ct_study import DEFAULT_SPEC, demo_ct_size, prior_spec, study_uid

pytestmark = pytest.mark.django_db(transaction=True)


def demo_instances(spec=DEFAULT_SPEC) -> int:
    return Instance.objects.filter(series__study__study_uid=study_uid(spec)).count()


def start(tmp_path, name: str):
    port = free_port()
    process = spawn_command(
        tmp_path / f"{name}.log",
        "serve",
        "--port",
        str(port),
        "--dicom-port",
        str(free_port()),
        PACSWEB_DEMO_NODE_PORT=str(free_port()),
        PACSWEB_ADMIN_PASSWORD="serve-test-password-1",
    )
    wait_listening(port, process, seconds=60)
    return process, port


def interrupt(process, log) -> str:
    """Ctrl+C, as a person stops it: a clean exit and a quiet log."""
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text and "Warning" not in text, text
    assert text.rstrip().endswith("PACSweb stopped.")
    return text


def wait_for_line(process, log, line: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while line not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {line!r} in {log.read_text()}"
        time.sleep(0.2)


def test_it_answers_before_the_demo_is_made_and_a_restart_finishes_it(tmp_path, archive_root):
    first, port = start(tmp_path, "first")
    try:
        login = httpx.get(f"http://127.0.0.1:{port}/login/")
        made_then = demo_instances()
        assert login.status_code == 200 and made_then < demo_ct_size(DEFAULT_SPEC)
        wait_for_line(first, tmp_path / "first.log", "Demo study: 100 of 414 images made")
        interrupt(first, tmp_path / "first.log")
    finally:
        if first.poll() is None:
            first.kill()
    # Stopped between two images: every file written is indexed, nothing half-made.
    assert 0 < demo_instances() < demo_ct_size(DEFAULT_SPEC)
    assert len(list(archive_root.rglob("*.dcm"))) == Instance.objects.count()
    assert not list(archive_root.rglob("*.part*"))

    second, _ = start(tmp_path, "second")
    try:
        wait_for_line(second, tmp_path / "second.log", "Demo study ready: 414 images")
        interrupt(second, tmp_path / "second.log")
    finally:
        if second.poll() is None:
            second.kill()
    assert demo_instances() == demo_ct_size(DEFAULT_SPEC)
    # And the demo patient's earlier CT, so the priors can be seen in the demo.
    assert demo_instances(prior_spec()) == demo_ct_size(prior_spec())
