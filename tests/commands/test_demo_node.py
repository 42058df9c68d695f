"""``manage.py demo_node``: serves a folder in the foreground and stops on SIGTERM."""

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command

from tests.base import free_port, wait_listening

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def test_it_serves_the_folder_until_sigterm(small_ct_folder):
    port = free_port()
    command = [sys.executable, str(MANAGE), "demo_node", str(small_ct_folder), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--megabytes-per-second", "0", "--latency-ms", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(port, process)
        base_url = f"http://127.0.0.1:{port}/dicomweb"
        response = httpx.get(f"{base_url}/studies", headers={"Accept": "application/dicom+json"})
        assert response.status_code == 200 and len(response.json()) == 1
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"DICOMweb base URL: {base_url}" in out
    assert "23 instances, unlimited, 0 ms latency" in out
    assert "Demo node stopped" in out


def test_it_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        call_command("demo_node", str(tmp_path / "missing"))


def test_it_refuses_a_negative_bandwidth(tmp_path):
    with pytest.raises(CommandError, match="must not be negative"):
        call_command("demo_node", str(tmp_path), "--megabytes-per-second", "-1")


def test_it_takes_its_speed_in_megabytes_per_second(small_ct_folder, monkeypatch):
    # One unit, as the option names it: 2 means 2 * 10^6 bytes a second, not megabits.
    made = {}

    class Node:
        instance_count, base_url, wado_uri_url, bytes_sent = 23, "http://x/dicomweb", "u", 0

        def __init__(self, folder, **options):
            made.update(options)

        def start(self):
            raise OSError(98, "stop here")

    monkeypatch.setattr("viewer.management.commands.demo_node.DemoWebNode", Node)
    with pytest.raises(CommandError, match="cannot listen"):
        call_command("demo_node", str(small_ct_folder), "--megabytes-per-second", "2")
    assert made["bandwidth"] == 2_000_000
