"""The frame loader in Debian's chromium: the whole study streams in, pixels exact, the
order of DESIGN.md's last mile, re-ordered on scroll, within a memory budget."""

import base64

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.base import SMALL_CT, sample
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import import_into, signed_in_page

pytestmark = pytest.mark.browser

LONG_SERIES = 120


@pytest.fixture(scope="module")
def long_series(server, tmp_path_factory) -> dict:
    """A 120-slice series of CT_small's pixels (a new study), imported into the server."""
    folder = tmp_path_factory.mktemp("long_series")
    study_uid, series_uid = generate_uid(), generate_uid()
    sop_uids = []
    for n in range(LONG_SERIES):
        dataset = pydicom.dcmread(sample("CT_small.dcm"))
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        dataset.InstanceNumber = n + 1
        dataset.ImagePositionPatient = [0.0, 0.0, float(n)]
        dataset.SliceLocation = float(n)
        dataset.save_as(folder / f"{n:03d}.dcm")
        sop_uids.append(dataset.SOPInstanceUID)
    import_into(server, str(folder))
    return {"study_uid": study_uid, "series_uid": series_uid, "sop_uids": sop_uids}


def settled(page) -> dict:
    """The loader's counts once nothing more is wanted and nothing is on its way."""
    page.wait_for_function(
        "() => { const s = pacsweb.loader.stats();"
        " return s.unlisted === 0 && s.wanted === 0 && s.requests === 0; }",
        timeout=30_000,
    )
    return page.evaluate("pacsweb.loader.stats()")


# The typed arrays the loader holds values in, as numpy reads their bytes.
TYPED_ARRAYS = {
    "Uint8Array": np.uint8,
    "Int8Array": np.int8,
    "Uint16Array": "<u2",
    "Int16Array": "<i2",
    "Uint32Array": "<u4",
    "Int32Array": "<i4",
    "Float32Array": "<f4",
    "Float64Array": "<f8",
}


def held_values(page, sop_uid: str, frame: int = 1):
    """A held frame's stored values (an array of the typed array's own type), or None when
    the browser does not hold it. The bytes cross as base64: a list of numbers for a
    30-frame colour image took 40 s."""
    held = page.evaluate(
        """([sop, frame]) => {
          const held = pacsweb.loader.heldFrame({sop_instance_uid: sop, frame});
          if (!held) return null;
          const v = held.values;
          const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
          let text = '';
          for (let i = 0; i < bytes.length; i += 0x8000) {
            text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          }
          const type = v.constructor.name;
          return {type, bytes: btoa(text), rows: held.rows, columns: held.columns};
        }""",
        [sop_uid, frame],
    )
    if held is None:
        return None
    held["values"] = np.frombuffer(base64.b64decode(held.pop("bytes")), TYPED_ARRAYS[held["type"]])
    return held


# One of each transfer syntax and colour model we serve (pydicom's samples, each copied
# into a study of its own so that none collides with the server's other studies).
SAMPLES = [
    "CT_small.dcm",  # explicit little endian, signed 16-bit
    "MR_small_RLE.dcm",  # RLE
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
    "MR_small_implicit.dcm",  # implicit little endian
    "MR_small_bigendian.dcm",  # big endian
    "JPGExtended.dcm",  # JPEG extended, 12-bit
    "693_J2KI.dcm",  # JPEG 2000, signed 16-bit
    "GDCMJ2K_TextGBR.dcm",  # JPEG 2000 lossless, RGB
    "ExplVR_BigEnd.dcm",  # big endian, RGB
    "SC_rgb_dcmtk_+eb+cr.dcm",  # JPEG baseline, YBR
    "image_dfl.dcm",  # deflated, 8-bit
    "rtdose.dcm",  # 15 frames, unsigned 32-bit
    "examples_ybr_color.dcm",  # 30 frames, JPEG baseline
]


@pytest.fixture(scope="module")
def samples(server, tmp_path_factory) -> dict:
    """Each sample under new UIDs, imported into the server; name → the copy's path."""
    folder = tmp_path_factory.mktemp("loader_samples")
    copies = {}
    for name in SAMPLES:
        dataset = pydicom.dcmread(sample(name))
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        copies[name] = folder / name
        dataset.save_as(copies[name])
    import_into(server, str(folder))
    return copies


@pytest.mark.parametrize("encoding", ["jls", "raw"])
@pytest.mark.parametrize("name", SAMPLES)
def test_it_holds_every_frame_with_the_values_pydicom_decodes(
    browser, server_url, samples, name, encoding
):
    """JPEG-LS decoded in a worker (or stored values where the server cannot encode it),
    and the stored values as they are (?frames=raw), alike to the last bit."""
    dataset = pydicom.dcmread(samples[name])
    page = signed_in_page(browser, server_url)
    try:
        page.goto(f"{server_url}/studies/{dataset.StudyInstanceUID}/view/?frames={encoding}")
        stats = settled(page)
        frames = int(getattr(dataset, "NumberOfFrames", 1) or 1)
        assert stats["frames"] == frames
        samples_per_pixel = int(dataset.SamplesPerPixel)
        shape = (frames, dataset.Rows, dataset.Columns)
        shape += (samples_per_pixel,) if samples_per_pixel > 1 else ()
        expected = dataset.pixel_array.reshape(shape)
        for number in range(1, frames + 1):
            held = held_values(page, dataset.SOPInstanceUID, number)
            assert held is not None, f"frame {number} is not in the browser"
            values = held["values"].reshape(shape[1:])
            assert np.array_equal(values, expected[number - 1]), f"{name} frame {number}"
    finally:
        page.close()


def test_it_asks_for_the_image_shown_then_each_series_opening_image(browser, server_url):
    page = signed_in_page(browser, server_url)
    requests: list[str] = []
    page.on("request", lambda r: "/frames/" in r.url and requests.append(r.url))
    try:
        page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
        settled(page)
        opening = page.evaluate(
            """async () => {
              const uids = [...document.querySelectorAll('.series-strip button[data-series-uid]')]
                .map((b) => b.dataset.seriesUid);
              const study = document.getElementById('viewer').dataset.studyUid;
              const found = [];
              for (const uid of uids) {
                const r = await fetch(`/api/studies/${study}/series/${uid}/metadata/`);
                const {instances} = await r.json();
                found.push(instances[Math.floor((instances.length - 1) / 2)].sop_instance_uid);
              }
              return found;
            }"""
        )
        shown = page.evaluate(
            "pacsweb.state.series.instances[pacsweb.state.index].sop_instance_uid"
        )
        assert shown == opening[0], "one viewport: the first series of the strip"
        assert len(opening) > 2
        # Then every other series' opening image in strip order, before any batch.
        singles = [f"/instances/{sop}/frames/1/raw" for sop in opening]
        for url, wanted in zip(requests, singles, strict=False):
            assert wanted in url, f"{requests[: len(opening)]} against {singles}"
        assert all("?instance=" in url for url in requests[len(opening) :])
    finally:
        page.close()


def test_it_loads_the_image_shown_first_then_nearest_first_and_follows_a_scroll(
    browser, server_url, long_series
):
    page = signed_in_page(browser, server_url)
    requests: list[str] = []
    cancelled: list[str] = []
    page.on("request", lambda r: "/frames/" in r.url and requests.append(r.url))
    page.on("requestfailed", lambda r: "/frames/" in r.url and cancelled.append(r.url))
    # A slow link, so the series is still on its way when the person scrolls.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 10,
            "downloadThroughput": 150 * 1024,
            "uploadThroughput": 150 * 1024,
        },
    )
    sops = long_series["sop_uids"]
    try:
        page.goto(
            f"{server_url}/studies/{long_series['study_uid']}/view/"
            f"?series={long_series['series_uid']}"
        )
        page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
        middle = (LONG_SERIES - 1) // 2
        assert page.evaluate("pacsweb.state.index") == middle
        assert f"/instances/{sops[middle]}/frames/1/raw" in requests[0], "the image shown first"
        page.wait_for_function(
            "uid => pacsweb.loader.stats().series[uid].held > 8", arg=long_series["series_uid"]
        )
        first_batch = next(url for url in requests if "?instance=" in url)
        asked = [sops.index(uid) for uid in batch_uids(first_batch)]
        nearest_first = [middle + step * side for step in (1, 2, 3, 4) for side in (1, -1)]
        assert asked == nearest_first, "the neighbours, the side scrolled towards first"

        before = len(requests)
        page.evaluate("pacsweb.show(0)")
        page.wait_for_function(
            f"Boolean(pacsweb.loader.heldFrame({{sop_instance_uid: '{sops[0]}', frame: 1}}))"
        )
        after = requests[before:]
        assert f"/instances/{sops[0]}/frames/1/raw" in after[0], "the slice scrolled to comes first"
        assert cancelled, "a request for the far side was given up to make room"
        next_batch = wait_for_batch(page, requests, before)
        assert max(sops.index(uid) for uid in batch_uids(next_batch)) <= 8, "then its neighbours"
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        stats = settled(page)
        assert stats["series"][long_series["series_uid"]]["held"] == LONG_SERIES
        meter = page.locator(
            f'.series-strip button[data-series-uid="{long_series["series_uid"]}"] .series-held'
        )
        assert meter.get_attribute("aria-valuenow") == str(LONG_SERIES)
    finally:
        page.close()


def wait_for_batch(page, requests: list[str], since: int) -> str:
    """The first batch request made after the ``since``-th frame request."""
    for _ in range(100):
        found = [url for url in requests[since:] if "?instance=" in url]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"no batch request after {requests[since:]}")


def batch_uids(url: str) -> list[str]:
    """The instances a batch request names, in its order."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["instance"]


def test_it_keeps_to_a_lowered_budget_and_holds_what_is_shown(browser, server_url, long_series):
    page = signed_in_page(browser, server_url, width=390, height=844, touch=True, mobile=True)
    sops = long_series["sop_uids"]
    try:
        # One megabyte holds 32 of these 128x128 16-bit slices.
        page.goto(
            f"{server_url}/studies/{long_series['study_uid']}/view/"
            f"?series={long_series['series_uid']}&budget=1"
        )
        stats = settled(page)
        assert stats["budget"] == 1024 * 1024
        assert 0 < stats["bytes"] <= stats["budget"]
        assert stats["frames"] == 32
        middle = (LONG_SERIES - 1) // 2
        assert held_values(page, sops[middle]) is not None
        assert held_values(page, sops[0]) is None, "the far end does not fit"
        page.evaluate("pacsweb.show(0)")
        page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
        stats = settled(page)
        assert stats["bytes"] <= stats["budget"]
        assert held_values(page, sops[0]) is not None, "the slice on screen is held"
        assert held_values(page, sops[middle]) is None, "the frames farthest away were let go"
        assert page.locator("#viewer .viewport[data-ready=true]").count() == 1
    finally:
        page.close()
