"""Node-wide slots against a real PACS: Orthanc behind a slow link counted at a proxy.

Two jobs on one node, each in its own ``run_downloader`` process (Procrastinate's queue
on PostgreSQL, the polled job table on SQLite), never hold more connections than the
node allows; a study opened in a viewer takes the slots of background work within one
transfer.
"""

import dataclasses
import re
import socket
import threading

import pytest
from django.conf import settings
from django.db import connection

from tests.base import SMALL_CT, free_port, stop_process
from tests.link_proxy import LinkProxy
from tests.orthanc import Orthanc
from tests.retrieve.test_dimse_retrieve import assert_same_images
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.nodes.models import RemoteNode
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import NodeSlot, RetrieveJob

from .support import spawn_worker, wait_until_true

pytestmark = pytest.mark.django_db(transaction=True)

# 128x128 so each image takes a while on the slow link: 23 instances a study.
FIRST = dataclasses.replace(
    SMALL_CT, matrix=128, seed=71, patient_name="Slots^Sam", patient_id="PW-SLOT-71"
)
SECOND = dataclasses.replace(
    SMALL_CT, matrix=128, seed=72, patient_name="Slots^Sue", patient_id="PW-SLOT-72"
)
REQUEST_LINE = re.compile(rb"(?:GET|POST) (\S+) HTTP/1\.[01]\r\n")


class CountingProxy(LinkProxy):
    """A LinkProxy whose answers share ``rate`` bytes a second (transfers overlap) and
    which records the path of each HTTP request it forwards, in the order they came.
    Answers wait until ``answering`` is set (it is, unless made ``held``).

    ``most_open`` counts only connections whose client has not hung up: the thread that
    forwards a connection notices its end a moment later, when a worker in another
    process may already have taken the slot and connected again.
    """

    def __init__(self, target: tuple[str, int], rate: float, held: bool = False) -> None:
        self._most = 0
        super().__init__(target, rate)
        self.requests: list[str] = []
        self.answering = threading.Event()
        if not held:
            self.answering.set()

    @property
    def most_open(self) -> int:
        return self._most

    @most_open.setter
    def most_open(self, value: int) -> None:
        # LinkProxy sets it as it accepts a connection, holding its lock: count again.
        if value > self._most:
            self._most = max(self._most, sum(map(self._client_still_there, self._open)))

    def _client_still_there(self, sock: socket.socket) -> bool:
        """Whether ``sock`` is a client's end (accepted on our port) not yet closed by it."""
        try:
            if sock.getsockname()[1] != self.port:
                return False  # the end towards the target
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True  # open, nothing to read just now
        except OSError:
            return False  # closed meanwhile

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        # LinkProxy._pipe, with the rate applied to what the target sends.
        try:
            answers = source.getpeername()[:2] == self.target
            if answers:
                self.answering.wait()
            while chunk := source.recv(8192):
                if answers:
                    self.throttle(len(chunk))
                else:
                    with self._rate_lock:
                        self.requests += [m.decode() for m in REQUEST_LINE.findall(chunk)]
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close_pair(source, sink)


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp("slots-source")
    return {
        study_uid(spec): write_demo_ct(folder / str(spec.seed), spec) for spec in (FIRST, SECOND)
    }


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, studies):
    # Orthanc answers C-GET only to an AE title it knows: ours (the settings' default).
    with Orthanc(tmp_path_factory.mktemp("orthanc"), known_aets={"PACSWEB": free_port()}) as peer:
        for files in studies.values():
            peer.upload(files)
        yield peer


def orthanc_node(orthanc: Orthanc, proxy: LinkProxy, method: str, slots: int) -> RemoteNode:
    """Orthanc as a node reached through ``proxy``, by WADO-RS or C-GET."""
    timeouts = {"connect_timeout": 5, "network_timeout": 30}
    if method == RemoteNode.C_GET:
        return RemoteNode.objects.create(
            name="orthanc-dimse",
            protocol=RemoteNode.DIMSE,
            ae_title=Orthanc.aet,
            host="127.0.0.1",
            port=proxy.port,
            retrieve_method=RemoteNode.C_GET,
            max_transfers=slots,
            acse_timeout=10,
            dimse_timeout=30,
            **timeouts,
        )
    return RemoteNode.objects.create(
        name="orthanc-web",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=f"{proxy.url}/dicom-web",
        retrieve_method=RemoteNode.WADO_RS,
        max_transfers=slots,
        **timeouts,
    )


def workers_ready(folder, count: int) -> bool:
    """Whether ``count`` workers logging to ``folder/w<n>.log`` look for jobs (on
    PostgreSQL: are registered with Procrastinate, which then hands them jobs)."""
    if not all("waiting for jobs" in (folder / f"w{n}.log").read_text() for n in range(count)):
        return False
    if not settings.USE_JOB_QUEUE:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers")
        return cursor.fetchone()[0] >= count


def holder_pid(job_id: int) -> str:
    """The process id in the lease holder's name of a running job ("" if none)."""
    holder = RetrieveJob.objects.filter(pk=job_id).values_list("lease_holder", flat=True).first()
    return holder.split(":")[1] if holder and holder.count(":") >= 2 else ""


@pytest.mark.parametrize("method", [RemoteNode.WADO_RS, RemoteNode.C_GET])
def test_two_jobs_in_two_worker_processes_never_hold_more_than_the_nodes_limit(
    orthanc, studies, tmp_path, method
):
    port = orthanc.dicom_port if method == RemoteNode.C_GET else orthanc.http_port
    # Held until both jobs run: the second worker polls for jobs once a second, long
    # enough for the first job to be all but done before the second starts.
    with CountingProxy(("127.0.0.1", port), rate=200_000, held=True) as proxy:
        node = orthanc_node(orthanc, proxy, method, slots=4)
        workers = [spawn_worker(tmp_path / f"w{n}.log", "--jobs", "1") for n in range(2)]
        try:
            wait_until_true(
                lambda: workers_ready(tmp_path, 2), 30, "both workers to start", workers
            )
            jobs = [request_retrieve(uid, node)[0].pk for uid in studies]
            pids: dict[int, set[str]] = {job_id: set() for job_id in jobs}

            def both_running() -> bool:
                running = RetrieveJob.objects.filter(pk__in=jobs, state=RetrieveJob.RUNNING)
                return running.count() == 2

            wait_until_true(both_running, 30, "both jobs to start", workers)
            proxy.answering.set()

            def both_done() -> bool:
                for job_id in jobs:
                    pids[job_id].add(holder_pid(job_id))
                return not RetrieveJob.objects.filter(
                    pk__in=jobs, state__in=RetrieveJob.ACTIVE
                ).exists()

            wait_until_true(both_done, 60, "both jobs", workers)
        finally:
            for worker in workers:
                stop_process(worker)
    ran = list(RetrieveJob.objects.filter(pk__in=jobs).order_by("started_at"))
    for job in ran:
        assert job.state == RetrieveJob.DONE, job.error
    # Each job ran in its own process, both at once.
    assert ran[1].started_at < ran[0].finished_at
    first, second = ({pid for pid in pids[job_id] if pid} for job_id in jobs)
    assert len(first) == len(second) == 1 and first != second, pids
    assert proxy.most_open <= 4
    assert proxy.most_open >= 3  # the slots were used, not left idle
    if method == RemoteNode.WADO_RS:
        one, two = studies
        order = "".join(
            "1" if one in path else "2" for path in proxy.requests if one in path or two in path
        )
        assert order.index("2") < order.rindex("1"), order  # they overlapped
    assert NodeSlot.objects.filter(node=node, job__isnull=False).count() == 0
    assert_same_images([path for files in studies.values() for path in files])


def test_a_study_opened_in_a_viewer_takes_the_slots_of_a_background_worker_within_one_transfer(
    orthanc, studies, tmp_path
):
    background_uid, opened_uid = studies
    with CountingProxy(("127.0.0.1", orthanc.http_port), rate=100_000) as proxy:
        node = orthanc_node(orthanc, proxy, RemoteNode.WADO_RS, slots=2)
        background, _ = request_retrieve(background_uid, node, priority=RetrieveJob.BACKGROUND)
        # The prefetch runs in a download worker process of its own.
        worker = spawn_worker(tmp_path / "worker.log", "--jobs", "1")
        try:
            wait_until_true(
                lambda: sum("/instances/" in path for path in proxy.requests) >= 3,
                30,
                "the background job's transfers",
                [worker],
            )
            # Opened in a viewer: its job at viewing priority, run by the server's worker.
            opened, _ = request_retrieve(opened_uid, node, priority=RetrieveJob.VIEWING)
            result: list = []
            thread = threading.Thread(target=run_engine, args=(opened.pk, result))
            thread.start()
            wait_until_true(
                lambda: RetrieveJob.objects.filter(pk=opened.pk, wants_slots__gt=0).exists(),
                10,
                "the opened study's job to ask for slots",
            )
            asked_at = len(proxy.requests)
            thread.join(60)
            assert result == [RetrieveJob.DONE], RetrieveJob.objects.get(pk=opened.pk).error
            wait_until_true(
                lambda: RetrieveJob.objects.get(pk=background.pk).state == RetrieveJob.DONE,
                60,
                "the background job",
                [worker],
            )
        finally:
            stop_process(worker)
    requests = proxy.requests
    mine = [i for i, path in enumerate(requests) if opened_uid in path]
    theirs = [i for i, path in enumerate(requests) if background_uid in path and i >= asked_at]
    order = "".join("V" if opened_uid in path else "b" for path in requests[asked_at:])
    # The background transfers under way as the study was opened end; at most one more
    # (its engine had just read its share) starts before the opened study's first request.
    assert sum(i < mine[0] for i in theirs) <= 1, order
    # Then, within one transfer, the slots are the opened study's until its last request.
    assert sum(mine[0] < i < mine[-1] for i in theirs) <= 1, order
    assert sum("/instances/" in requests[i] for i in mine) == len(studies[opened_uid])
    assert_same_images([path for files in studies.values() for path in files])


def run_engine(job_id: int, result: list) -> None:
    """Run the job here, as ``serve``'s worker would, with this thread's own connection."""
    try:
        result.append(Engine(job_id, "viewer-worker").run())
    finally:
        connection.close()


def test_the_slots_a_job_listed_with_go_on_to_its_first_transfers(orthanc, studies):
    # Regression: the listing gave its slots back and said it wanted none, so a
    # background job on the node took them all before the opened study's transfers began.
    held: list[tuple[int, int]] = []

    class Watched(Engine):
        def started(self, progress) -> None:
            job = RetrieveJob.objects.get(pk=self.job_id)
            held.append((NodeSlot.objects.filter(job=job).count(), job.wants_slots))

    with CountingProxy(("127.0.0.1", orthanc.http_port), rate=10_000_000) as proxy:
        node = orthanc_node(orthanc, proxy, RemoteNode.WADO_RS, slots=2)
        job, _ = request_retrieve(next(iter(studies)), node, priority=RetrieveJob.VIEWING)
        assert Watched(job.pk, "viewer-worker").run() == RetrieveJob.DONE
    assert held == [(2, 2)]
