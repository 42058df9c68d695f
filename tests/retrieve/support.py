"""Helpers for retrieve tests: jobs over the faulty server, source files, worker processes."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import connection

from tests.base import free_port
from tests.orthanc import Orthanc
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.archive.parsing import parse_instance
from viewer.archive.storage import absolute_path
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server
from viewer.retrieve import scheduler
from viewer.retrieve.models import RetrieveJob, TransferTask
from viewer.retrieve.queue import enqueue

from . import faulty_server as faults


def read_sources(folder: Path) -> dict:
    """SOP Instance UID -> (file, parsed) for every file below ``folder``, in order."""
    found = {}
    for path in sorted(folder.rglob("*.dcm")):
        parsed = parse_instance(path.read_bytes())
        found[parsed.sop_instance_uid] = (path, parsed)
    return found


def make_node(server, slots: int = 2, name: str = "faulty") -> RemoteNode:
    """A node whose instances are plain file URLs on ``server``."""
    return RemoteNode.objects.create(
        name=name,
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=server.url,
        retrieve_method=RemoteNode.FILE_URL,
        file_url_template=server.url + "/files/{instance}",
        max_transfers=slots,
    )


def make_job(server, sources, slots=2, policy="hybrid", fault_for=None, node=None) -> RetrieveJob:
    """A job whose tasks are already listed, served as plain file URLs by ``server``."""
    node = node or make_node(server, slots)
    study_uid = next(iter(sources.values()))[1].study_uid
    job = RetrieveJob.objects.create(study_uid=study_uid, node=node, policy=policy)
    series_index: dict[str, int] = {}
    positions: dict[str, int] = {}
    for sop_uid, (path, parsed) in sources.items():
        index = series_index.setdefault(parsed.series_uid, len(series_index))
        position = positions.get(parsed.series_uid, 0)
        positions[parsed.series_uid] = position + 1
        TransferTask.objects.create(
            job=job,
            series_uid=parsed.series_uid,
            series_index=index,
            position=position,
            sop_instance_uid=sop_uid,
        )
        fault = (fault_for or {}).get(sop_uid, faults.OK)
        server.serve(f"/files/{sop_uid}", path.read_bytes(), fault)
    enqueue(job)
    return job


def assert_byte_identical(sources, sop_uids) -> None:
    """Each instance is in the archive with exactly the source file's bytes."""
    for sop_uid in sop_uids:
        stored = Instance.objects.get(sop_instance_uid=sop_uid)
        assert absolute_path(stored.file_path).read_bytes() == sources[sop_uid][0].read_bytes()


def database_url() -> str:
    """A URL for the test database, for worker processes to share it."""
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    return f"postgres://{config['USER']}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


def spawn_worker(log: Path, *args: str, **env: str) -> subprocess.Popen:
    """``manage.py run_downloader`` in its own process, on this test's database and archive."""
    return spawn_command(log, "run_downloader", *args, **env)


def spawn_command(log: Path, command: str, *args: str, **env: str) -> subprocess.Popen:
    """A ``manage.py`` command in its own process, on this test's database and archive
    (Redis only if ``env`` names it)."""
    environment = {
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "DATABASE_URL": database_url(),
        "PACSWEB_DATA": str(log.parent),
        "PACSWEB_STORAGE": str(settings.PACSWEB_STORAGE),
        "PACSWEB_RETRY_BASE_SECONDS": "0",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), command, *args],
        env=environment,
        cwd=settings.BASE_DIR,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def node_behind(proxy, web_node, slots: int = 2) -> RemoteNode:
    """A DICOMweb node for the demo web node, reached through ``proxy``."""
    return RemoteNode.objects.create(
        name="behind-proxy",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=web_node.base_url.replace(
            f"{web_node.address[0]}:{web_node.address[1]}", f"127.0.0.1:{proxy.port}"
        ),
        retrieve_method=RemoteNode.WADO_RS,
        max_transfers=slots,
        connect_timeout=2,
        network_timeout=5,
    )


def recorder(messages: list, with_study: bool = False):
    """A ``publish`` for the engine that keeps the live messages viewers would get
    (with the study UID, as pairs, if ``with_study``)."""
    from viewer.live.schema import live_message

    def publish(study_uid: str, event) -> None:
        message = live_message(event)
        messages.append((study_uid, message) if with_study else message)

    return publish


def study_root_find(datasets: dict):
    """An in-process Q/R SCP's C-FIND handler over ``datasets`` (by SOP Instance UID):
    the series of the study, and the instances of one series, as a node lists them."""

    def handle_find(event):
        level = event.identifier.QueryRetrieveLevel
        series_seen = set()
        for dataset in datasets.values():
            match = pydicom.Dataset()
            match.QueryRetrieveLevel = level
            match.StudyInstanceUID = dataset.StudyInstanceUID
            match.SeriesInstanceUID = dataset.SeriesInstanceUID
            if level == "SERIES":
                if dataset.SeriesInstanceUID in series_seen:
                    continue
                series_seen.add(dataset.SeriesInstanceUID)
                match.SeriesNumber = dataset.SeriesNumber
                match.Modality = dataset.Modality
            elif dataset.SeriesInstanceUID != event.identifier.SeriesInstanceUID:
                continue
            else:
                match.SOPInstanceUID = dataset.SOPInstanceUID
                match.InstanceNumber = dataset.InstanceNumber
            yield 0xFF00, match

    return handle_find


@contextmanager
def orthanc_moving_to_us(folder: Path, study_files) -> Iterator[Orthanc]:
    """Orthanc holding ``study_files`` that knows our SCP (started here, on a free port)
    as the move destination PACSWEB."""
    our_port = free_port()
    scp = start_server("127.0.0.1", our_port)
    try:
        with Orthanc(folder, {"PACSWEB": our_port}) as orthanc:
            orthanc.upload(study_files)
            yield orthanc
    finally:
        scp.shutdown()


def wait_until_true(condition, seconds: float = 30, what: str = "condition", workers=()) -> None:
    """Poll ``condition``; fail the test after ``seconds``, or as soon as one of the
    ``workers`` (processes) exits."""
    import pytest

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if worker.poll() is not None:
                pytest.fail(f"a worker exited ({worker.returncode}) while waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def stalled_archive(monkeypatch, stores_first: int) -> tuple[threading.Event, threading.Event]:
    """The archive stalls after its first ``stores_first`` stores until ``release`` is
    set; ``held_back`` is set once the engine schedules with no slot to give (it holds
    its transfers back by itself). Returns (release, held_back)."""
    release, held_back = threading.Event(), threading.Event()
    stores: list[str] = []
    original_schedule, original_store = scheduler.schedule, Importer.store

    def schedule(state):
        if state.slots <= 0 and not release.is_set():
            held_back.set()
        return original_schedule(state)

    def store(importer, parsed):
        stores.append(parsed.sop_instance_uid)
        if len(stores) > stores_first:
            release.wait(20)
        return original_store(importer, parsed)

    monkeypatch.setattr(scheduler, "schedule", schedule)
    monkeypatch.setattr(Importer, "store", store)
    return release, held_back
