"""Listing a study over QIDO-RS: per-series queries side by side, in order, over one client."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import find_instances, find_series
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.listing import MAX_QUERIES, ListingError, list_study, list_tasks
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db

STUDY = "1.2.826.0.1.3680043.8.498.1"
WAIT = 10.0  # seconds a gated answer waits before giving up: only a broken listing waits


def series_uid(number: int) -> str:
    return f"{STUDY}.{number}"


def element(vr: str, *values) -> dict:
    return {"vr": vr, "Value": list(values)}


class QidoStub:
    """A QIDO-RS server that counts connections and queries answered at the same time.

    ``series`` maps series number to its image count. An instance query for a series in
    ``hold`` waits until ``release`` is set (or ``WAIT`` runs out); ``fail`` answers 500.
    """

    def __init__(self, series: dict[int, int]) -> None:
        self.series = series
        self.fail: set[int] = set()
        self.hold: dict[int, threading.Event] = {}
        self.answered: list[int] = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.reached = threading.Event()  # set once ``most_in_flight`` reaches ``gate``
        self.gate = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/dicomweb"

    def __enter__(self) -> "QidoStub":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        for event in self.hold.values():
            event.set()
        self._server.shutdown()
        self._server.server_close()

    def series_json(self) -> list[dict]:
        # Listed in reverse: the client sorts by Series Number.
        return [
            {
                "0020000E": element("UI", series_uid(number)),
                "00200011": element("IS", number),
                "00080060": element("CS", "CT"),
                "0008103E": element("LO", f"series {number}"),
            }
            for number in sorted(self.series, reverse=True)
        ]

    def instances_json(self, number: int) -> list[dict]:
        # Instance numbers out of order, and attributes the listing does not read.
        count = self.series[number]
        return [
            {
                "00080005": element("CS", "ISO_IR 192"),
                "00080018": element("UI", f"{series_uid(number)}.{index}"),
                "00200013": element("IS", index),
                "00100010": element("PN", {"Alphabetic": "Wang^Fang=王^芳"}),
                "00280010": element("US", 512),
            }
            for index in [*range(count, 0, -2), *range(count - 1, 0, -2)]
        ]

    def _instances(self, number: int) -> tuple[int, list[dict] | None]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self.gate and self.most_in_flight >= self.gate:
                self.reached.set()
        try:
            if self.gate and not self.reached.wait(WAIT):
                self.gate = 0  # the queries do not overlap: let the rest answer at once
            if number in self.hold:
                self.hold[number].wait(WAIT)
            if number in self.fail:
                return 500, None
            return 200, self.instances_json(number)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.answered.append(number)

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self) -> None:
                super().setup()
                with stub._lock:
                    stub.connections += 1

            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[-1] == "series":
                    status, body = 200, stub.series_json()
                else:
                    status, body = stub._instances(int(parts[-2].rsplit(".", 1)[1]))
                payload = json.dumps(body).encode() if body is not None else b"failing"
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        return Handler


def node_for(stub: QidoStub, slots: int = 4) -> RemoteNode:
    return RemoteNode.objects.create(
        name=f"qido-{slots}",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=stub.url,
        retrieve_method=RemoteNode.WADO_RS,
        max_transfers=slots,
    )


def test_the_series_queries_overlap_up_to_the_bound():
    with QidoStub({1: 1, 2: 5, 3: 8, 4: 3, 5: 2, 6: 4}) as stub:
        stub.gate = MAX_QUERIES  # each answer waits until this many are asked at once
        listed = list_study(node_for(stub, slots=8), STUDY)
    assert stub.reached.is_set()
    assert stub.most_in_flight == MAX_QUERIES
    assert len(listed) == 6


def test_the_node_s_slots_bound_the_queries_and_one_connection_is_kept_alive():
    with QidoStub({1: 1, 2: 5, 3: 8}) as stub:
        list_study(node_for(stub, slots=1), STUDY)
    assert stub.most_in_flight == 1
    assert stub.connections == 1  # the series query's connection served every other


def test_answers_arriving_out_of_order_keep_the_node_s_order():
    with QidoStub({1: 1, 2: 5, 3: 8, 4: 3}) as stub:
        # Series 1 answers only after series 4 has: the last query finishes first.
        stub.hold = {1: threading.Event()}
        node = node_for(stub)
        original = stub._instances

        def instances(number):
            answer = original(number)
            if number == 4:
                stub.hold[1].set()
            return answer

        stub._instances = instances
        listed = list_study(node, STUDY)
        assert stub.answered.index(4) < stub.answered.index(1)
        one_by_one = [
            (series, find_instances(node, STUDY, series.series_uid))
            for series in find_series(node, STUDY)
        ]
    assert listed == one_by_one
    assert [series.series_number for series, _ in listed] == [1, 2, 3, 4]
    numbers = [[i.instance_number for i in instances] for _, instances in listed]
    assert numbers == [[1], [1, 2, 3, 4, 5], list(range(1, 9)), [1, 2, 3]]
    assert listed[2][1][0].sop_instance_uid == f"{series_uid(3)}.1"


def test_a_failing_series_query_names_the_series_and_records_nothing():
    with QidoStub({1: 1, 2: 5, 3: 8}) as stub:
        stub.fail = {2}
        job, _ = request_retrieve(STUDY, node_for(stub))
        with pytest.raises(ListingError) as caught:
            list_tasks(job)
    message = str(caught.value)
    assert "series 2" in message and series_uid(2) in message and "HTTP 500" in message
    assert not TransferTask.objects.filter(job=job).exists()


def test_the_first_failure_in_series_order_is_the_one_reported():
    with QidoStub({1: 1, 2: 5, 3: 8}) as stub:
        stub.fail = {2, 3}
        with pytest.raises(ListingError, match="series 2 "):
            list_study(node_for(stub), STUDY)


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_listing_fails_ends_failed_with_the_reason(settings):
    settings.PACSWEB_NODE_OUTAGE_DEADLINE = 0  # a failing listing is the node's: no waiting
    with QidoStub({1: 1, 2: 5}) as stub:
        stub.fail = {1}
        job, _ = request_retrieve(STUDY, node_for(stub))
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.FAILED
    job.refresh_from_db()
    assert job.error.startswith("the node could not list the images of series 1 ")


def test_listing_then_recording_keeps_series_and_instance_order():
    with QidoStub({1: 1, 2: 5, 3: 8}) as stub:
        job, _ = request_retrieve(STUDY, node_for(stub))
        assert list_tasks(job) == 14
    rows = list(job.tasks.values_list("series_index", "position", "sop_instance_uid"))
    expected = [
        (index, position, f"{series_uid(number)}.{position + 1}")
        for index, (number, count) in enumerate([(1, 1), (2, 5), (3, 8)])
        for position in range(count)
    ]
    assert rows == expected
