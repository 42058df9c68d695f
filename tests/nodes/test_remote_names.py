"""Ideographic names on remote nodes: what we ask a peer for, and what we keep of its answers."""

import subprocess

import pytest

from tests.base import named_copy, require_peer
from viewer.archive.search import StudyQuery
from viewer.demo.webnode import DemoWebNode
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import find_studies, remote_name_term

from .conftest import make_node
from .test_dcmqrscp import start_dcmqrscp

pytestmark = pytest.mark.django_db

# "张^小伟" is someone else: a peer asked for *张*伟* returns him, we must not.
NAMES = {"ZW-1": "Zhang^Wei=张^伟", "ZW-2": "张^伟", "ZXW": "张^小伟", "LN": "Li^Na=李^娜"}


@pytest.fixture
def name_files(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    return [named_copy(folder, name, patient_id) for patient_id, name in NAMES.items()]


@pytest.fixture
def dcmqrscp_with_names(tmp_path, name_files):
    """dcmtk's dcmqrscp holding the four patients."""
    process, port = start_dcmqrscp(tmp_path, know_us=False)
    result = subprocess.run(
        [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, name_files)],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    yield make_node(port, name="ward-pacs", ae_title="QRSCP")
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def web_node_with_names(name_files):
    with DemoWebNode(name_files[0].parent) as running:
        yield RemoteNode.objects.create(
            name="web-pacs",
            protocol=RemoteNode.DICOMWEB,
            dicomweb_url=running.base_url,
            retrieve_method=RemoteNode.WADO_RS,
        )


def found_names(node: RemoteNode, term: str) -> list[str]:
    return sorted(s.patient_name for s in find_studies(node, StudyQuery(patient_name=term)))


def test_it_asks_for_ideographic_names_with_anything_between_the_characters():
    assert remote_name_term("张伟") == "*张*伟*"
    assert remote_name_term("张^伟") == "*张*伟*"
    assert remote_name_term(" 王 小东* ") == "*王*小*东*"


def test_it_still_asks_for_other_names_by_prefix():
    assert remote_name_term("Wang") == "Wang*"
    assert remote_name_term("wang^xiaodon?") == "wang^xiaodon?"
    assert remote_name_term("") == ""


@pytest.mark.dcmtk
def test_it_finds_a_chinese_full_name_on_a_dimse_node(dcmqrscp_with_names):
    assert found_names(dcmqrscp_with_names, "张伟") == ["Zhang^Wei=张^伟", "张^伟"]


@pytest.mark.dcmtk
def test_it_keeps_only_matching_answers_from_a_dimse_node(dcmqrscp_with_names):
    assert found_names(dcmqrscp_with_names, "张 伟") == ["Zhang^Wei=张^伟", "张^伟"]
    assert found_names(dcmqrscp_with_names, "张小伟") == ["张^小伟"]
    assert found_names(dcmqrscp_with_names, "伟张") == []


def test_it_finds_a_chinese_full_name_on_a_dicomweb_node(web_node_with_names):
    assert found_names(web_node_with_names, "张伟") == ["Zhang^Wei=张^伟", "张^伟"]
    assert found_names(web_node_with_names, "张*") == ["Zhang^Wei=张^伟", "张^伟", "张^小伟"]
    assert found_names(web_node_with_names, "李娜") == ["Li^Na=李^娜"]
    assert found_names(web_node_with_names, "张娜") == []
