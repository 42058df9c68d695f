"""Frames by the batch: ``?instance=`` asks for given images, cached for good."""

import gzip

import numpy as np
import pydicom
import pytest
from django.http import QueryDict

from tests.base import sample
from tests.imaging.test_frame_stream import parts_of
from viewer.archive.models import Instance, Series
from viewer.web.imaging_views import MAX_BATCH, BadBatch, requested_instances

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume"),
]


def url(series: Series, uids: list[str], extra: str = "") -> str:
    query = "&".join(f"instance={uid}" for uid in uids)
    return (
        f"/api/studies/{series.study.study_uid}/series/{series.series_uid}"
        f"/frames/raw?{query}{extra}"
    )


def parts(response) -> list[tuple[dict[str, str], bytes]]:
    body = b"".join(response)
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return parts_of(body, response["Content-Type"].split("boundary=")[1])


def test_it_reads_the_instance_list_in_order():
    assert requested_instances(QueryDict("instance=1.2.3&instance=1.2.1")) == ["1.2.3", "1.2.1"]
    assert requested_instances(QueryDict("part=0&parts=2")) is None
    assert requested_instances(QueryDict("")) is None


@pytest.mark.parametrize(
    "query",
    [
        "&".join(f"instance=1.2.{n}" for n in range(MAX_BATCH + 1)),
        "instance=1.2.3&instance=1.2.4&instance=1.2.3",
        "instance=1.2.3&part=0",
        "instance=1.2.3&parts=2",
        "instance=",
    ],
)
def test_it_refuses_a_bad_instance_list(query):
    with pytest.raises(BadBatch):
        requested_instances(QueryDict(query))


def test_it_sends_the_asked_instances_in_the_order_asked(alice_client, thin):
    stored = list(thin.instances.order_by("id"))
    asked = [stored[n].sop_instance_uid for n in (7, 2, 9, 0, 11, 4, 5, 3)]
    response = alice_client.get(url(thin, asked), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert response["X-Instances"] == "8"
    sent = [headers["Content-Location"].split("/")[5] for headers, _ in parts(response)]
    assert sent == asked


def test_it_sends_the_same_values_as_frame_raw(alice_client, thin, dose):
    first = thin.instances.order_by("id").first()
    response = alice_client.get(url(thin, [dose.sop_instance_uid, first.sop_instance_uid]))
    assert response["X-Instances"] == "2" and "Content-Encoding" not in response
    received = parts(response)
    assert len(received) == 15 + 1  # every frame of the multi-frame image, then the slice
    for headers, values in received:
        single = alice_client.get(headers["Content-Location"])
        assert single.status_code == 200 and values == single.content
        assert headers["X-Data-Type"] == single["X-Data-Type"]
    study = thin.study.study_uid
    assert [h["Content-Location"] for h, _ in received[:15]] == [
        f"/api/studies/{study}/instances/{dose.sop_instance_uid}/frames/{n}/raw"
        for n in range(1, 16)
    ]
    dose_pixels = pydicom.dcmread(sample("rtdose.dcm")).pixel_array
    headers, values = received[14]
    wire = np.frombuffer(values, dtype=headers["X-Data-Type"]).reshape(dose_pixels.shape[1:])
    assert np.array_equal(wire, dose_pixels[14])


def test_it_caches_a_batch_for_good_and_answers_304(alice_client, thin):
    asked = [i.sop_instance_uid for i in thin.instances.order_by("id")[:3]]
    response = alice_client.get(url(thin, asked))
    tag = response["ETag"]
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert "Accept-Encoding" in response["Vary"] and tag.startswith('"')
    again = alice_client.get(url(thin, asked), HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == tag and again["Cache-Control"] == response["Cache-Control"]
    assert "Accept-Encoding" in again["Vary"]
    # The same body each time, so the tag is honest; another order is another body.
    assert b"".join(alice_client.get(url(thin, asked))) == b"".join(response)
    other = alice_client.get(url(thin, asked[::-1]), HTTP_IF_NONE_MATCH=tag)
    assert other.status_code == 200 and other["ETag"] != tag
    zipped = alice_client.get(url(thin, asked), HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["ETag"] != tag  # each coding is its own representation


def test_it_keeps_the_whole_series_uncached(alice_client, thin):
    whole = f"/api/studies/{thin.study.study_uid}/series/{thin.series_uid}/frames/raw"
    response = alice_client.get(whole)
    assert response["Cache-Control"] == "private, no-cache" and "ETag" not in response
    assert int(response["X-Instances"]) == thin.instances.count()


def test_it_answers_400_for_a_bad_instance_list(alice_client, thin):
    uid = thin.instances.first().sop_instance_uid
    too_many = [f"1.2.826.0.1.3680043.8.498.{n}" for n in range(MAX_BATCH + 1)]
    for address, word in [
        (url(thin, too_many), "at most 64"),
        (url(thin, [uid, uid]), "once"),
        (url(thin, [uid], "&part=0&parts=2"), "part"),
    ]:
        response = alice_client.get(address)
        assert response.status_code == 400 and word in response.json()["detail"]


def test_it_answers_404_for_an_instance_of_another_series(alice_client, thin):
    elsewhere = Series.objects.get(description="Axial 5.0 mm").instances.first()
    mine = thin.instances.first().sop_instance_uid
    response = alice_client.get(url(thin, [mine, elsewhere.sop_instance_uid]))
    assert response.status_code == 404
    assert response.json()["detail"].startswith("1 of 2 instances")
    assert response.json()["missing"] == [elsewhere.sop_instance_uid]
    assert "Zhang" not in response.content.decode()


def test_it_answers_404_for_an_object_without_pixels(alice_client, thin):
    report = Instance.objects.create(
        series=thin,
        sop_instance_uid="1.2.826.0.1.3680043.8.498.1",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.22",  # an SR filed in the series
        file_path="nowhere.dcm",
        file_size=1,
    )
    response = alice_client.get(url(thin, [report.sop_instance_uid]))
    assert response.status_code == 404 and response.json()["missing"] == [report.sop_instance_uid]


def test_it_refuses_an_anonymous_caller(client, thin):
    response = client.get(url(thin, [thin.instances.first().sop_instance_uid]))
    assert response.status_code == 401
