"""The demo DICOMweb node: QIDO-RS, WADO-RS, WADO-URI, ranges, throttling, and our own client."""

import logging
import socket
import time

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset

from tests.base import SMALL_CT
from viewer.archive.search import StudyQuery
from viewer.demo.ct_study import study_uid
from viewer.demo.webnode import DemoWebNode, TokenBucket

JSON = {"Accept": "application/dicom+json"}
STUDY = study_uid(SMALL_CT)


def headers_of(folder) -> dict[str, Dataset]:
    """Every file's header by SOP Instance UID, with its path."""
    found = {}
    for path in sorted(folder.rglob("*.dcm")):
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        dataset.path = path
        found[dataset.SOPInstanceUID] = dataset
    return found


@pytest.fixture(scope="module")
def small_ct_files(small_ct_folder) -> dict[str, Dataset]:
    return headers_of(small_ct_folder)


@pytest.fixture
def node(small_ct_folder):
    with DemoWebNode(small_ct_folder) as running:
        yield running


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def thick_slice(small_ct_files) -> Dataset:
    """The first slice of the 5 mm axial series."""
    return next(d for d in small_ct_files.values() if d.SeriesNumber == 2 and d.InstanceNumber == 1)


def instance_url(node: DemoWebNode, dataset: Dataset) -> str:
    return (
        f"{node.base_url}/studies/{dataset.StudyInstanceUID}/series/"
        f"{dataset.SeriesInstanceUID}/instances/{dataset.SOPInstanceUID}"
    )


def wado_uri_params(dataset: Dataset, **extra) -> dict:
    return {
        "requestType": "WADO",
        "studyUID": dataset.StudyInstanceUID,
        "seriesUID": dataset.SeriesInstanceUID,
        "objectUID": dataset.SOPInstanceUID,
        **extra,
    }


def qido(http: httpx.Client, url: str, **params) -> list[Dataset]:
    response = http.get(url, params=params, headers=JSON)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    return [Dataset.from_json(item) for item in response.json()]


def single_part(response: httpx.Response) -> bytes:
    """The one part of a multipart/related answer; fails unless there is exactly one."""
    media, _, params = response.headers["Content-Type"].partition(";")
    assert media == "multipart/related" and 'type="application/dicom"' in params
    boundary = params.split("boundary=")[1].strip().strip('"').encode()
    body = response.content
    assert body.count(b"--" + boundary) == 2
    head, _, rest = body.partition(b"\r\n\r\n")
    assert head.startswith(b"--" + boundary + b"\r\nContent-Type: application/dicom")
    closing = b"\r\n--" + boundary + b"--\r\n"
    assert rest.endswith(closing)
    return rest[: -len(closing)]


# -- QIDO-RS


def test_it_lists_the_study_with_its_counts(node, http):
    (study,) = qido(http, f"{node.base_url}/studies")
    assert study.StudyInstanceUID == STUDY
    assert str(study.PatientName) == "Zhang^Wei=张^伟"
    assert study.PatientID == SMALL_CT.patient_id
    assert study.SpecificCharacterSet == "ISO_IR 192"
    assert (study.StudyDate, study.AccessionNumber) == ("20261102", "ACC-DEMO-0001")
    assert study.StudyDescription == "CT chest abdomen pelvis (synthetic)"
    assert study.ModalitiesInStudy == "CT"
    assert study.NumberOfStudyRelatedSeries == 4
    assert study.NumberOfStudyRelatedInstances == 1 + 6 + 12 + 4


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"PatientName": "zhang*"}, 1),
        ({"PatientName": "张*"}, 1),
        ({"PatientName": "ZHANG^WEI"}, 1),
        ({"PatientName": "zh?ng^wei"}, 1),
        ({"PatientName": "li*"}, 0),
        ({"PatientName": "zhang"}, 0),
        ({"PatientID": SMALL_CT.patient_id}, 1),
        ({"PatientID": "PW-DEMO-*"}, 1),
        ({"PatientID": "PW-OTHER"}, 0),
        ({"StudyInstanceUID": STUDY}, 1),
        ({"StudyInstanceUID": f"1.2.3,{STUDY}"}, 1),
        ({"StudyInstanceUID": "1.2.3"}, 0),
        ({"00100020": SMALL_CT.patient_id}, 1),
        ({"StudyDate": "20261101-20261130"}, 1),
        ({"StudyDate": "20250101-20251231"}, 0),
        ({"PatientName": "zhang*", "limit": 1, "includefield": "StudyDescription"}, 1),
    ],
)
def test_it_filters_studies(node, http, params, matches):
    assert len(qido(http, f"{node.base_url}/studies", **params)) == matches


def test_it_lists_the_series_in_number_order(node, http):
    series = qido(http, f"{node.base_url}/studies/{STUDY}/series")
    assert [s.SeriesNumber for s in series] == [1, 2, 3, 4]
    assert [s.SeriesDescription for s in series] == [
        "Localizer",
        "Axial 5.0 mm",
        "Axial 1.0 mm",
        "Coronal 5.0 mm",
    ]
    assert [s.NumberOfSeriesRelatedInstances for s in series] == [1, 6, 12, 4]
    assert {s.Modality for s in series} == {"CT"}


def test_it_pages_with_limit_and_offset(node, http):
    url = f"{node.base_url}/studies/{STUDY}/series"
    assert [s.SeriesNumber for s in qido(http, url, limit=2)] == [1, 2]
    assert [s.SeriesNumber for s in qido(http, url, limit=2, offset=1)] == [2, 3]
    assert [s.SeriesNumber for s in qido(http, url, offset=3)] == [4]


def test_it_lists_the_instances_in_number_order(node, http, small_ct_files, thick_slice):
    url = f"{node.base_url}/studies/{STUDY}/series/{thick_slice.SeriesInstanceUID}/instances"
    instances = qido(http, url)
    expected = sorted(
        (d for d in small_ct_files.values() if d.SeriesNumber == 2), key=lambda d: d.InstanceNumber
    )
    assert [i.SOPInstanceUID for i in instances] == [d.SOPInstanceUID for d in expected]
    assert [i.InstanceNumber for i in instances] == list(range(1, 7))
    assert {i.SOPClassUID for i in instances} == {thick_slice.SOPClassUID}
    one = qido(http, url, SOPInstanceUID=thick_slice.SOPInstanceUID)
    assert [i.InstanceNumber for i in one] == [1]


def test_it_answers_an_empty_list_for_an_unknown_study_or_series(node, http, thick_slice):
    assert qido(http, f"{node.base_url}/studies/1.2.3/series") == []
    assert qido(http, f"{node.base_url}/studies/{STUDY}/series/1.2.3/instances") == []


@pytest.mark.parametrize(
    "query",
    ["limit=ten", "offset=-1", "StudyInstanceUID=not-a-uid", "ReferringPhysicianName=Li*", "x"],
)
def test_it_rejects_bad_query_parameters(node, http, query):
    response = http.get(f"{node.base_url}/studies?{query}", headers=JSON)
    assert response.status_code == 400


def test_it_refuses_qido_in_another_media_type(node, http):
    response = http.get(f"{node.base_url}/studies", headers={"Accept": "application/dicom+xml"})
    assert response.status_code == 406


# -- WADO-RS and WADO-URI


def test_it_sends_one_multipart_part_holding_the_file(node, http, thick_slice):
    response = http.get(instance_url(node, thick_slice))
    assert response.status_code == 200
    assert single_part(response) == thick_slice.path.read_bytes()
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == len(response.content)


@pytest.mark.parametrize(
    "accept",
    [
        'multipart/related; type="application/dicom"; transfer-syntax=*',
        'multipart/related; type="application/dicom"',
        "multipart/related",
        "*/*",
    ],
)
def test_it_answers_multipart_for_multipart_or_any(node, http, thick_slice, accept):
    response = http.get(instance_url(node, thick_slice), headers={"Accept": accept})
    assert single_part(response) == thick_slice.path.read_bytes()


def test_the_multipart_body_is_the_same_on_every_request(node, http, thick_slice):
    first = http.get(instance_url(node, thick_slice))
    second = http.get(instance_url(node, thick_slice))
    assert first.content == second.content
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["ETag"].startswith('"')


def test_it_sends_bare_bytes_for_application_dicom(node, http, thick_slice):
    response = http.get(instance_url(node, thick_slice), headers={"Accept": "application/dicom"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/dicom"
    assert response.content == thick_slice.path.read_bytes()
    multipart = http.get(instance_url(node, thick_slice))
    assert response.headers["ETag"] != multipart.headers["ETag"]


@pytest.mark.parametrize(
    "accept",
    [
        "image/jpeg",
        'multipart/related; type="application/octet-stream"',
        "application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50",
    ],
)
def test_it_refuses_what_it_cannot_send(node, http, thick_slice, accept):
    response = http.get(instance_url(node, thick_slice), headers={"Accept": accept})
    assert response.status_code == 406


def test_it_serves_wado_uri(node, http, thick_slice):
    for extra in ({"contentType": "application/dicom"}, {}):
        response = http.get(node.wado_uri_url, params=wado_uri_params(thick_slice, **extra))
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/dicom"
        assert response.content == thick_slice.path.read_bytes()


def test_wado_uri_refuses_other_content_types(node, http, thick_slice):
    params = wado_uri_params(thick_slice, contentType="image/jpeg")
    assert http.get(node.wado_uri_url, params=params).status_code == 406


@pytest.mark.parametrize(
    "change", [{"requestType": "WADO2"}, {"objectUID": ""}, {"seriesUID": None}]
)
def test_wado_uri_rejects_incomplete_requests(node, http, thick_slice, change):
    params = {k: v for k, v in {**wado_uri_params(thick_slice), **change}.items() if v is not None}
    assert http.get(node.wado_uri_url, params=params).status_code == 400


def test_it_answers_404_for_unknown_uids_and_paths(node, http, thick_slice, small_ct_files):
    other_series = next(d for d in small_ct_files.values() if d.SeriesNumber == 3)
    misplaced = f"{node.base_url}/studies/{STUDY}/series/{other_series.SeriesInstanceUID}"
    for url in (
        f"{node.base_url}/studies/{STUDY}/series/{thick_slice.SeriesInstanceUID}/instances/1.2.3",
        f"{misplaced}/instances/{thick_slice.SOPInstanceUID}",
        f"{node.base_url}/studies/{STUDY}/series/{thick_slice.SeriesInstanceUID}/frames",
        f"{node.base_url}/studies/{STUDY}",
        f"{node.base_url}/patients",
        node.base_url.replace("/dicomweb", "/other"),
    ):
        assert http.get(url).status_code == 404, url
    params = wado_uri_params(thick_slice, objectUID="1.2.3")
    assert http.get(node.wado_uri_url, params=params).status_code == 404
    params = wado_uri_params(thick_slice, seriesUID=other_series.SeriesInstanceUID)
    assert http.get(node.wado_uri_url, params=params).status_code == 404


# -- Range, If-Range, HEAD


@pytest.fixture(params=["wado-rs multipart", "wado-rs bare", "wado-uri"])
def full(request, node, http, thick_slice):
    """One way to fetch the slice: (url, params, headers, its whole body)."""
    if request.param == "wado-uri":
        url, params, headers = node.wado_uri_url, wado_uri_params(thick_slice), {}
    else:
        url, params = instance_url(node, thick_slice), {}
        headers = {"Accept": "application/dicom"} if request.param.endswith("bare") else {}
    response = http.get(url, params=params, headers=headers)
    assert response.status_code == 200
    return url, params, headers, response


@pytest.mark.parametrize(
    ("asked", "span"),
    [
        ("bytes=100-", lambda n: (100, n)),
        ("bytes=100-199", lambda n: (100, 200)),
        ("bytes=0-0", lambda n: (0, 1)),
        ("bytes=-50", lambda n: (n - 50, n)),
        ("bytes=100-99999999", lambda n: (100, n)),
        ("bytes=-99999999", lambda n: (0, n)),
    ],
)
def test_it_answers_a_range_with_206(http, full, asked, span):
    url, params, headers, whole = full
    total = len(whole.content)
    start, stop = span(total)
    response = http.get(url, params=params, headers={**headers, "Range": asked})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{total}"
    assert response.content == whole.content[start:stop]
    assert int(response.headers["Content-Length"]) == stop - start
    assert response.headers["ETag"] == whole.headers["ETag"]


@pytest.mark.parametrize("asked", ["bytes={total}-", "bytes={total}-{more}", "bytes=-0"])
def test_it_answers_416_for_a_range_beyond_the_end(http, full, asked):
    url, params, headers, whole = full
    total = len(whole.content)
    response = http.get(
        url, params=params, headers={**headers, "Range": asked.format(total=total, more=total + 9)}
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{total}"


@pytest.mark.parametrize("asked", ["bytes=0-9,20-29", "bytes=9-0", "lines=1-2", "bytes=x-"])
def test_it_sends_everything_for_a_range_it_does_not_serve(http, full, asked):
    url, params, headers, whole = full
    response = http.get(url, params=params, headers={**headers, "Range": asked})
    assert response.status_code == 200
    assert response.content == whole.content


def test_it_sends_everything_when_if_range_names_another_version(http, full):
    url, params, headers, whole = full
    stale = {**headers, "Range": "bytes=100-", "If-Range": '"another-version"'}
    response = http.get(url, params=params, headers=stale)
    assert response.status_code == 200
    assert response.content == whole.content
    current = {**headers, "Range": "bytes=100-", "If-Range": whole.headers["ETag"]}
    response = http.get(url, params=params, headers=current)
    assert response.status_code == 206
    assert response.content == whole.content[100:]


def test_head_answers_the_headers_only(node, http, full):
    url, params, headers, whole = full
    before = node.bytes_sent
    response = http.head(url, params=params, headers=headers)
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["Content-Length"]) == len(whole.content)
    assert response.headers["ETag"] == whole.headers["ETag"]
    assert node.bytes_sent == before


# -- counting, throttling, robustness


def test_bytes_sent_counts_every_body_byte(node, http, thick_slice):
    assert node.bytes_sent == 0
    size = thick_slice.path.stat().st_size
    http.get(instance_url(node, thick_slice), headers={"Accept": "application/dicom"})
    assert node.bytes_sent == size
    multipart = http.get(instance_url(node, thick_slice))
    assert node.bytes_sent == size + len(multipart.content)
    studies = http.get(f"{node.base_url}/studies", headers=JSON)
    ranged = http.get(instance_url(node, thick_slice), headers={"Range": "bytes=-10"})
    assert len(ranged.content) == 10
    assert node.bytes_sent == size + len(multipart.content) + len(studies.content) + 10


def test_a_throttled_node_sends_the_same_bytes_over_shared_connections(
    small_ct_folder, thick_slice
):
    with DemoWebNode(small_ct_folder, bandwidth=4_000_000, latency=0.001) as node:
        with httpx.Client(timeout=10) as http:
            one = http.get(instance_url(node, thick_slice), headers={"Accept": "application/dicom"})
            two = http.get(node.wado_uri_url, params=wado_uri_params(thick_slice))
        assert one.content == two.content == thick_slice.path.read_bytes()
        assert node.bytes_sent == 2 * len(one.content)


def test_the_bucket_paces_every_taker_on_one_timeline():
    now, slept = [100.0], []
    bucket = TokenBucket(1000.0, clock=lambda: now[0], sleep=slept.append)
    bucket.take(500)  # one connection
    bucket.take(500)  # another, at the same instant: it queues behind the first
    assert slept == pytest.approx([0.5, 1.0])


def test_the_bucket_saves_up_no_burst_while_idle():
    now, slept = [100.0], []
    bucket = TokenBucket(1000.0, clock=lambda: now[0], sleep=slept.append)
    now[0] += 60.0
    bucket.take(1000)
    # At most the small slack that absorbs oversleeping, never a minute's worth of credit.
    assert 0.95 <= slept[0] <= 1.0


def test_latency_comes_before_the_first_byte(small_ct_folder):
    with DemoWebNode(small_ct_folder, latency=30.0) as node:
        with httpx.Client(timeout=httpx.Timeout(0.2, connect=5)) as http:
            with pytest.raises(httpx.ReadTimeout):
                http.get(f"{node.base_url}/studies", headers=JSON)


def test_a_tiny_bandwidth_holds_the_body_back(small_ct_folder, thick_slice):
    # 1 KiB at 100 bytes/s cannot leave before ten seconds: a 0.2 s read must time out.
    with DemoWebNode(small_ct_folder, bandwidth=100) as node:
        with httpx.Client(timeout=httpx.Timeout(0.2, connect=5)) as http:
            with http.stream("GET", instance_url(node, thick_slice)) as response:
                assert response.status_code == 200
                with pytest.raises(httpx.ReadTimeout):
                    response.read()


@pytest.fixture
def big_file_folder(tmp_path, thick_slice):
    """One 512x512 slice: a body long enough to hang up in the middle of."""
    dataset = pydicom.dcmread(thick_slice.path)
    dataset.Rows = dataset.Columns = 512
    dataset.PixelData = bytes(range(256)) * (512 * 512 * 2 // 256)
    dataset.save_as(tmp_path / "big.dcm")
    return tmp_path


def wait_for(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_a_client_hanging_up_mid_body_leaves_the_server_serving(
    big_file_folder, thick_slice, caplog, capfd
):
    caplog.set_level(logging.DEBUG, logger="viewer.demo.webnode")
    size = (big_file_folder / "big.dcm").stat().st_size
    # 256 kB/s: the half-megabyte body takes two seconds; the client leaves at once.
    with DemoWebNode(big_file_folder, bandwidth=256_000) as node:
        host, port = node.address
        path = instance_url(node, thick_slice).split(f":{port}", 1)[1]
        with socket.create_connection((host, port), timeout=10) as raw:
            raw.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/dicom\r\n\r\n".encode()
            )
            received = b""
            while b"\r\n\r\n" not in received:
                more = raw.recv(4096)
                assert more, "the server closed before answering"
                received += more
        wait_for(lambda: node.open_connections == 0)
        assert received.startswith(b"HTTP/1.1 200")
        assert node.bytes_sent < size

        with httpx.Client(timeout=10) as http:
            response = http.get(
                instance_url(node, thick_slice),
                headers={"Accept": "application/dicom", "Range": "bytes=-100"},
            )
        assert response.status_code == 206
        assert response.content == (big_file_folder / "big.dcm").read_bytes()[-100:]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "Traceback" not in capfd.readouterr().err


def test_the_log_names_routes_not_patient_data(node, http, caplog):
    caplog.set_level(logging.DEBUG, logger="viewer.demo.webnode")
    http.get(f"{node.base_url}/studies", params={"PatientName": "Zhang*"}, headers=JSON)
    messages = [r.getMessage() for r in caplog.records]
    assert any("qido-studies 200" in m for m in messages)
    assert not any("Zhang" in m or STUDY in m for m in messages)


def test_it_stops_and_refuses_connections(small_ct_folder):
    node = DemoWebNode(small_ct_folder)
    node.start()
    url = f"{node.base_url}/studies"
    assert httpx.get(url, headers=JSON).status_code == 200
    node.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers=JSON, timeout=2)


# -- the project's own DICOMweb client


@pytest.fixture
def remote(db, node):
    from viewer.nodes.models import RemoteNode

    return RemoteNode.objects.create(
        name="demo-node",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=node.base_url,
        retrieve_method=RemoteNode.WADO_RS,
        connect_timeout=2,
        network_timeout=10,
    )


def test_our_client_finds_the_study(remote):
    from viewer.nodes.remote_query import find_studies

    for name in ("zhang", "张", ""):
        (study,) = find_studies(remote, StudyQuery(patient_name=name))
        assert study.study_uid == STUDY
        assert (study.num_series, study.num_instances) == (4, 23)
    assert find_studies(remote, StudyQuery(patient_name="wang")) == []


def test_our_client_lists_the_series_and_instances(remote, small_ct_files):
    from viewer.nodes.remote_query import find_instances, find_series

    series = find_series(remote, STUDY)
    assert [(s.series_number, s.num_instances) for s in series] == [(1, 1), (2, 6), (3, 12), (4, 4)]
    for one in series:
        instances = find_instances(remote, STUDY, one.series_uid)
        expected = sorted(
            (d for d in small_ct_files.values() if d.SeriesInstanceUID == one.series_uid),
            key=lambda d: d.InstanceNumber,
        )
        assert [i.sop_instance_uid for i in instances] == [d.SOPInstanceUID for d in expected]


def test_our_client_verifies_the_node(remote):
    from viewer.nodes.dicomweb import verify

    result = verify(remote)
    assert result.ok and result.steps[0].name == "QIDO-RS"
