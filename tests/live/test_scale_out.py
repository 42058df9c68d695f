"""Scale-out over Redis: the ASGI server and the download worker are separate processes.

Focus sent by a WebSocket client in one process changes what the worker in another
downloads next, and the worker's progress reaches the client.
"""

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect

from tests.base import SMALL_CT, stop_process, wait_listening
from tests.nodes.conftest import free_port
from tests.retrieve.support import database_url
from viewer.demo.ct_study import study_uid as spec_study_uid
from viewer.demo.ct_study import write_demo_ct
from viewer.demo.webnode import DemoWebNode
from viewer.nodes.models import RemoteNode
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob

from .test_redis_layer import REDIS_URL, require_redis

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = dataclasses.replace(
    SMALL_CT, seed=41, matrix=128, thick_slices=10, thin_slices=40, coronal_slices=8
)


def start(log: Path, *args: str) -> subprocess.Popen:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "pacsweb.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "PACSWEB_STORAGE": str(settings.PACSWEB_STORAGE),
        "PACSWEB_DATA": str(log.parent / "data"),
        "PACSWEB_EMBEDDED_WORKER": "false",
        "PACSWEB_ADMIN_PASSWORD": "not-used-here-1",
        # The session cookie made here must be valid there.
        "PACSWEB_SECRET_KEY": settings.SECRET_KEY,
    }
    return subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def test_focus_crosses_redis_to_a_separate_worker_and_progress_comes_back(tmp_path, alice):
    require_redis()
    folder = tmp_path / "remote"
    write_demo_ct(folder, SPEC)
    client = Client()
    client.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    with DemoWebNode(folder, bandwidth=250_000, latency=0.02) as web_node:
        node = RemoteNode.objects.create(
            name="slow",
            protocol=RemoteNode.DICOMWEB,
            dicomweb_url=web_node.base_url,
            retrieve_method=RemoteNode.WADO_RS,
            max_transfers=2,
        )
        study_uid = spec_study_uid(SPEC)
        job, _ = request_retrieve(study_uid, node)
        port = free_port()
        server = start(
            tmp_path / "server.log", "serve", "--no-demo", "--no-scp", "--port", str(port)
        )
        worker = None
        try:
            wait_listening(port, server, seconds=60)
            url = f"ws://127.0.0.1:{port}/ws/studies/{study_uid}/"
            origin = f"http://127.0.0.1:{port}"
            with connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as socket_:
                snapshot = json.loads(socket_.recv(timeout=10))
                assert snapshot["type"] == "snapshot" and snapshot["job"]["id"] == job.pk
                worker = start(tmp_path / "worker.log", "run_downloader")
                messages: list[dict] = []
                focused, order = None, []
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    message = json.loads(socket_.recv(timeout=30))
                    messages.append(message)
                    if message["type"] == "job" and message["state"] == "done":
                        break
                    series_seen = {m["series"] for m in messages if m["type"] == "progress"}
                    if focused is None and len(series_seen) == 4:
                        order = list(
                            RetrieveJob.objects.get(pk=job.pk)
                            .tasks.order_by("series_index")
                            .values_list("series_uid", flat=True)
                            .distinct()
                        )
                        focused = order[-1]
                        socket_.send(
                            json.dumps(
                                {
                                    "type": "focus",
                                    "series": [focused],
                                    "listing_position": {focused: 4},
                                }
                            )
                        )
                assert messages[-1] == {"type": "job", "state": "done", "error": ""}, (
                    tmp_path / "worker.log"
                ).read_text()
        finally:
            stop_process(server)
            if worker is not None:
                stop_process(worker)
    assert focused is not None, "every series showed progress before the focus"
    finished = []
    for message in messages:
        if message["type"] == "progress" and message["done"] == message["total"]:
            finished.append(message["series"])
    # The last series in line, once focused, finished before the two long ones ahead.
    assert finished.index(focused) < finished.index(order[1])
    assert finished.index(focused) < finished.index(order[2])
