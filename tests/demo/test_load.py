"""The demo made straight into the archive: once, resumable, behind a running server."""

import dataclasses
import threading

import httpx
import pytest

from tests.base import SMALL_CT, free_port
from viewer.archive.models import Instance, Study
from viewer.demo import load as demo_load
from viewer.demo.ct_study import DEFAULT_SPEC, demo_ct_datasets, demo_ct_size, prior_spec, study_uid
from viewer.demo.load import demo_in_archive, demo_studies_size, load_demo
from viewer.demo.samples import IMAGE_SAMPLES, charset_sample_datasets
from viewer.demo.startup import DemoSetup
from viewer.nodes.models import RemoteNode
from viewer.retrieve.priors import list_priors

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL = dataclasses.replace(SMALL_CT, seed=41, patient_id="PW-DEMO-0041")
REMOTE = dataclasses.replace(SMALL_CT, seed=42, patient_id="PW-DEMO-0042")


def demo_instances(spec) -> int:
    return Instance.objects.filter(series__study__study_uid=study_uid(spec)).count()


def test_it_makes_the_study_and_the_samples_in_the_archive_and_nowhere_else(archive_root, tmp_path):
    report = load_demo(LOCAL)
    assert report.rejected == []
    samples = len(IMAGE_SAMPLES) + len(list(charset_sample_datasets()))
    assert report.imported == demo_studies_size(LOCAL) + samples
    assert demo_instances(LOCAL) == demo_ct_size(LOCAL) and demo_in_archive(LOCAL)
    assert demo_instances(prior_spec(LOCAL)) == demo_ct_size(prior_spec(LOCAL))
    files = [p for p in tmp_path.rglob("*.dcm")]
    assert files and all(archive_root in p.parents for p in files)
    assert len(files) == Instance.objects.count()


def test_it_makes_nothing_again_once_the_study_is_in_the_archive(monkeypatch):
    load_demo(LOCAL)

    def refuse(_spec):
        raise AssertionError("the demo study was made again")

    monkeypatch.setattr(demo_load, "demo_ct_datasets", refuse)
    report = load_demo(LOCAL)
    assert report.imported == 0 and report.rejected == []


def test_a_stopped_load_leaves_every_file_indexed_and_the_next_one_finishes_it(archive_root):
    stop = threading.Event()
    made = []

    def progress(source: str) -> None:
        made.append(source)
        if len(made) == 5:
            stop.set()

    load_demo(LOCAL, progress, stop=stop)
    assert 0 < demo_instances(LOCAL) < demo_ct_size(LOCAL)
    assert len(list(archive_root.rglob("*.dcm"))) == Instance.objects.count()
    assert not demo_in_archive(LOCAL)
    load_demo(LOCAL)
    assert demo_instances(LOCAL) == demo_ct_size(LOCAL)


def test_the_demo_patient_has_an_earlier_ct_listed_as_a_comparable_prior():
    load_demo(LOCAL)
    current = Study.objects.get(study_uid=study_uid(LOCAL))
    prior = Study.objects.get(study_uid=study_uid(prior_spec(LOCAL)))
    assert prior.patient == current.patient  # the same Patient ID and issuer
    assert prior.patient.patient_id == "PW-DEMO-0041"
    assert prior.study_date < current.study_date
    assert (prior.accession_number, current.accession_number) == ("ACC-DEMO-0000", "ACC-DEMO-0001")
    [listed] = list_priors(current, nodes=[]).priors
    assert listed.study_uid == prior.study_uid and listed.comparable


def test_the_demo_prior_is_small_and_the_same_at_every_start():
    made = prior_spec(DEFAULT_SPEC)
    assert made.patient_id == "PW-DEMO-0001" and made.accession == "ACC-DEMO-0000"
    assert demo_ct_size(made) <= 13 and made.matrix <= 256
    first = [ds.PixelData for _, ds in demo_ct_datasets(made)][:3]
    again = [ds.PixelData for _, ds in demo_ct_datasets(made)][:3]
    assert first == again
    uids = {ds.StudyInstanceUID for _, ds in demo_ct_datasets(made)}
    assert uids == {study_uid(made)} != {study_uid(DEFAULT_SPEC)}


def set_up(data, said: list[str]) -> DemoSetup:
    """What ``serve`` does with the demo, run to its end, on an unthrottled link."""
    setup = DemoSetup(
        data,
        said.append,
        megabytes_per_second=0,
        latency_ms=0,
        port=free_port(),
        spec=LOCAL,
        remote_spec=REMOTE,
    )
    setup.start()
    setup.join(timeout=60)
    return setup


def test_the_setup_makes_the_study_then_serves_the_remote_one(tmp_path):
    said: list[str] = []
    setup = set_up(tmp_path / "data", said)
    try:
        assert said[0] == (
            "Making the demo study and its prior in the archive (30 images, about 0 MB, once)..."
        )
        assert said[1].startswith("Demo study ready: 30 images in ")
        assert said[2] == "Writing the demo remote node's study (23 images, about 0 MB, once)..."
        node = RemoteNode.objects.get(name="Demo PACS")
        # 0 MB/s is an unthrottled link, as for manage.py demo_node, not a crash.
        assert said[3] == f"Demo remote node at {node.dicomweb_url} (unlimited, 0 ms)"
        found = httpx.get(
            f"{node.dicomweb_url}/studies",
            params={"PatientID": REMOTE.patient_id},
            headers={"Accept": "application/dicom+json"},
        )
        assert found.status_code == 200 and len(found.json()) == 1
        assert Study.objects.filter(study_uid=study_uid(LOCAL)).exists()
        assert not Study.objects.filter(study_uid=study_uid(REMOTE)).exists()
    finally:
        setup.stop()
    again: list[str] = []
    set_up(tmp_path / "data", again).stop()
    assert len(again) == 1 and again[0].startswith("Demo remote node at "), again
