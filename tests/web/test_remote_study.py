"""The remote study page: a patient banner from the node's answers, to confirm before Retrieve."""

import subprocess

import pydicom
import pytest

from tests.base import SMALL_CT, require_peer
from tests.nodes.conftest import make_node
from tests.nodes.test_dcmqrscp import start_dcmqrscp
from viewer.demo.ct_study import study_uid
from viewer.demo.samples import write_charset_samples
from viewer.demo.webnode import DemoWebNode
from viewer.nodes.models import RemoteNode

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_node(small_ct_folder):
    with DemoWebNode(small_ct_folder) as running:
        yield RemoteNode.objects.create(
            name="Demo PACS",
            protocol=RemoteNode.DICOMWEB,
            dicomweb_url=running.base_url,
            retrieve_method=RemoteNode.WADO_RS,
        )


def page(client, node: RemoteNode, uid: str) -> str:
    return client.get(f"/remote/{node.pk}/studies/{uid}/").content.decode()


def test_it_shows_the_patient_banner_of_a_remote_study(alice_client, web_node):
    html = page(alice_client, web_node, study_uid(SMALL_CT))
    banner = html[html.index('class="patient-banner"') : html.index('class="study-head"')]
    assert '<span class="patient-name">Zhang Wei = 张 伟</span>' in banner
    assert '<strong class="patient-id">PW-DEMO-0001</strong>' in banner
    for text in ("1965-03-14", "Sex: M", "2026-11-02", "ACC-DEMO-0001", "CT chest abdomen pelvis"):
        assert text in banner, text
    assert "Modality: CT" in banner


def test_it_says_so_when_the_node_does_not_describe_the_study(alice_client, web_node):
    html = page(alice_client, web_node, "1.2.3.4")
    assert 'class="patient-banner"' not in html
    assert "did not describe this study" in html


@pytest.mark.dcmtk
def test_it_decodes_the_name_in_the_character_set_of_a_c_find_answer(
    alice_client, tmp_path, small_ct_folder
):
    process, port = start_dcmqrscp(tmp_path, know_us=False)
    try:
        gb18030 = [p for p in write_charset_samples(tmp_path / "charsets") if p.stem == "chrX2"]
        ct = sorted((small_ct_folder / "s02").glob("*.dcm"))[:1]
        sent = subprocess.run(
            [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *gb18030, *ct],
            capture_output=True,
        )
        assert sent.returncode == 0, sent.stderr
        node = make_node(port, name="ward-pacs", ae_title="QRSCP")
        chinese = page(alice_client, node, pydicom.dcmread(gb18030[0]).StudyInstanceUID)
        assert '<span class="patient-name">Wang XiaoDong = 王 小东</span>' in chinese
        demo = page(alice_client, node, study_uid(SMALL_CT))
        assert '<span class="patient-name">Zhang Wei = 张 伟</span>' in demo
        assert "1965-03-14" in demo and "Sex: M" in demo and "ACC-DEMO-0001" in demo
    finally:
        process.terminate()
        process.wait(timeout=10)
