"""Node health against a real PACS: Orthanc behind a slow link that goes away for the
issue's 25 s mid-retrieve (WADO-RS and C-GET) and 15 s as the job starts.

Mid-retrieve the link is cut halfway through a chunk of an answer, so the client holds
part of a message; new connections are refused for the outage, and the one cut goes
silent (LinkProxy's close cannot reset a socket its other thread is reading: as when a
link drops, no RST comes). The longest wait between probes is lowered to 4 s (settings
only): an outage still spans several failed probes, and the job resumes within 4 s of
the link's return.
"""

import dataclasses
import socket
import threading
import time

import pytest
from django.db import connection

from tests.base import SMALL_CT, free_port
from tests.link_proxy import LinkProxy, wait_until
from tests.orthanc import Orthanc
from tests.retrieve.test_dimse_retrieve import assert_same_images
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.live.schema import live_message
from viewer.nodes.models import RemoteNode
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db(transaction=True)

# 128x128 so each image takes a while on the slow link: 23 instances.
SPEC = dataclasses.replace(
    SMALL_CT, matrix=128, seed=61, patient_name="Outage^Otto", patient_id="PW-ORT-61"
)
LINK_BYTES_PER_SECOND = 60_000
BACKOFF_CAP = 4
PAUSED = "the node has been unreachable since "


class SlowLinkProxy(LinkProxy):
    """A LinkProxy whose answers (target to client) share ``rate`` bytes a second, so a
    retrieve takes seconds, and which can cut the link in the middle of an answer."""

    def __init__(self, target: tuple[str, int], rate: float) -> None:
        super().__init__(target, rate)
        self.cut = threading.Event()  # set once cut_mid_answer's outage has begun
        self._cut_for: float | None = None
        self._every: list[socket.socket] = []

    def cut_mid_answer(self, seconds: float) -> None:
        """An outage of ``seconds`` starting halfway through the next chunk of an answer:
        the client holds part of a message (part of a DIMSE PDU, of an HTTP body)."""
        self._cut_for = seconds

    def sever(self) -> None:
        """Shut down every connection ever made, waking whoever still reads one."""
        for sock in self._every:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.sever()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        # LinkProxy._pipe, with the rate and the cut applied to what the target sends.
        self._every += [source, sink]
        try:
            throttled = source.getpeername()[:2] == self.target
            while chunk := source.recv(8192):
                if throttled:
                    self.throttle(len(chunk))
                    if self._cut_for is not None and len(chunk) >= 1024:
                        sink.sendall(chunk[: len(chunk) // 2])
                        self.outage(self._cut_for)
                        self._cut_for = None
                        self.cut.set()
                        return
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close_pair(source, sink)


@pytest.fixture(scope="module")
def study_files(tmp_path_factory):
    return write_demo_ct(tmp_path_factory.mktemp("outage-source"), SPEC)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, study_files):
    # Orthanc answers C-GET only to an AE title it knows: ours, as the settings set it.
    with Orthanc(tmp_path_factory.mktemp("orthanc"), known_aets={"PACSWEB": free_port()}) as peer:
        peer.upload(study_files)
        yield peer


@pytest.fixture
def outage_settings(settings):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    settings.PACSWEB_NODE_BACKOFF_MAX_SECONDS = BACKOFF_CAP
    settings.PACSWEB_NODE_OUTAGE_DEADLINE = 120


def web_node(proxy: LinkProxy) -> RemoteNode:
    return RemoteNode.objects.create(
        name="orthanc-web-behind-link",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=f"{proxy.url}/dicom-web",
        retrieve_method=RemoteNode.WADO_RS,
        max_transfers=3,
        connect_timeout=2,
        network_timeout=10,
    )


def dimse_node(proxy: LinkProxy) -> RemoteNode:
    return RemoteNode.objects.create(
        name="orthanc-dimse-behind-link",
        protocol=RemoteNode.DIMSE,
        ae_title=Orthanc.aet,
        host="127.0.0.1",
        port=proxy.port,
        retrieve_method=RemoteNode.C_GET,
        max_transfers=2,
        connect_timeout=2,
        acse_timeout=5,
        dimse_timeout=10,
        network_timeout=10,
    )


class RunningJob:
    """The engine running one job in a thread, recording every live message."""

    def __init__(self, job: RetrieveJob, proxy: SlowLinkProxy) -> None:
        self.job = job
        self.proxy = proxy
        self.messages: list[dict] = []
        self.outcome: str | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            engine = Engine(self.job.pk, "worker-1", publish=self._publish, stop=self.stop)
            self.outcome = engine.run()
        finally:
            connection.close()  # this thread's own connection

    def _publish(self, study: str, event) -> None:
        self.messages.append(live_message(event))

    def done(self) -> int:
        """Instances recorded done so far."""
        return self.job.tasks.filter(state=TransferTask.DONE).count()

    def finish(self, seconds: float) -> str | None:
        """The job's end; a job still running after ``seconds`` fails the test, stopped
        first (its connections shut down) so it does not outlive the test."""
        self.thread.join(seconds)
        if self.thread.is_alive():
            self.stop.set()
            self.proxy.sever()
            self.thread.join(30)
            pytest.fail(f"the job did not end within {seconds} s of its start or the cut")
        return self.outcome


def node_reports(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "job" and "node" in m]


def assert_paused_then_resumed(messages: list[dict]) -> None:
    """Viewers heard "unreachable" (with the paused words), then "reachable", then done;
    and not one instance was reported failed."""
    reports = node_reports(messages)
    assert reports, "no job message about the node"
    first = reports[0]
    assert first["state"] == RetrieveJob.RUNNING and first["node"]["state"] == "unreachable"
    assert first["error"].startswith(PAUSED) and "retrying until" in first["error"]
    assert first["node"]["since"] and first["node"]["detail"]
    assert 0 < first["node"]["retry_in"] <= BACKOFF_CAP
    assert reports[-1]["node"] == {"state": "reachable"} and reports[-1]["error"] == ""
    assert all(r["node"]["state"] == "unreachable" for r in reports[:-1])
    assert messages[-1] == {"type": "job", "state": RetrieveJob.DONE, "error": ""}
    assert not any(m.get("failed") for m in messages if m["type"] == "progress")


def assert_done_with_every_instance(job: RetrieveJob, study_files) -> None:
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE and job.error == ""
    assert job.tasks.count() == len(study_files)
    assert not job.tasks.exclude(state=TransferTask.DONE).exists()
    # The outage used no attempt: every instance was asked for once, successfully.
    assert set(job.tasks.values_list("attempts", flat=True)) == {1}
    assert_same_images(study_files)


def outage_mid_retrieve(proxy: SlowLinkProxy, node: RemoteNode, study_files) -> None:
    """Run the study through ``proxy``; once a few instances are done, cut the link in the
    middle of an answer for 25 s."""
    job, _ = request_retrieve(study_uid(SPEC), node)
    running = RunningJob(job, proxy)
    assert wait_until(lambda: running.done() >= 3, timeout=30), "nothing arrived"
    proxy.cut_mid_answer(25)
    assert wait_until(proxy.cut.is_set, timeout=10), "no answer was on its way to cut"
    cut_at = time.monotonic()
    done_before = running.done()
    assert done_before < len(study_files) - 3, "the outage came too late to cut anything"
    assert running.finish(90) == RetrieveJob.DONE, job.error
    # The rest came once the link was back.
    assert time.monotonic() - cut_at >= 25
    back = running.messages.index(node_reports(running.messages)[-1])
    assert any(m["type"] == "progress" for m in running.messages[back:])
    assert_paused_then_resumed(running.messages)
    assert_done_with_every_instance(job, study_files)


def test_it_waits_out_a_25_s_outage_mid_wado_rs_retrieve_and_ends_done(
    outage_settings, orthanc, study_files
):
    with SlowLinkProxy(("127.0.0.1", orthanc.http_port), LINK_BYTES_PER_SECOND) as proxy:
        outage_mid_retrieve(proxy, web_node(proxy), study_files)


def test_it_waits_out_a_25_s_outage_mid_c_get_retrieve_and_ends_done(
    outage_settings, orthanc, study_files
):
    with SlowLinkProxy(("127.0.0.1", orthanc.dicom_port), LINK_BYTES_PER_SECOND) as proxy:
        outage_mid_retrieve(proxy, dimse_node(proxy), study_files)


def test_it_lists_a_study_once_a_node_down_for_15_s_at_the_start_answers(
    outage_settings, orthanc, study_files
):
    with SlowLinkProxy(("127.0.0.1", orthanc.http_port), LINK_BYTES_PER_SECOND) as proxy:
        job, _ = request_retrieve(study_uid(SPEC), web_node(proxy))
        proxy.outage(15)  # the listing is refused until then
        began = time.monotonic()
        running = RunningJob(job, proxy)
        assert running.finish(90) == RetrieveJob.DONE, job.error
    assert time.monotonic() - began >= 15
    first = node_reports(running.messages)[0]
    assert "could not list" in first["node"]["detail"]
    assert "Connection refused" in first["error"]
    assert_paused_then_resumed(running.messages)
    assert_done_with_every_instance(job, study_files)
