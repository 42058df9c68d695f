"""A study opened by launch URL while its prior is prefetched: the node sends the open
study's instances first; the prior, fetched at background priority, follows and is then
listed as in the archive."""

import dataclasses
import json
import time

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import demo_ct_size, study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode

from .conftest import manage_shell, registered_web_node, show_strip, signed_in_page
from .test_launch_browser import relabel, wait_for_images

pytestmark = pytest.mark.browser

# A patient of their own, so nothing of theirs was retrieved by another test: CURRENT
# (2026) is opened, PRIOR (2025) is its most recent comparable prior.
CURRENT = dataclasses.replace(
    SMALL_CT, seed=83, patient_id="PW-PREFETCH-0083", patient_name="Prefetch^Remote"
)
PRIOR = dataclasses.replace(CURRENT, seed=84)
LABELS = {
    study_uid(CURRENT): ("ACC-PREFETCH-83", "20261102"),
    study_uid(PRIOR): ("ACC-PREFETCH-84", "20250315"),
}
# Bytes a second for the node's whole link: each study (~200 kB) takes about 10 s, so
# the prefetch starts while most of the open study is still to come.
BANDWIDTH = 20_000
# Instance requests of the open study that must still be to come once the prior's job
# exists: with equal priorities the prior would take half the slots at the next turn.
STILL_TO_COME = 8

JOBS_SCRIPT = (
    "import json; from viewer.retrieve.models import RetrieveJob as J; print(json.dumps({"
    "j.study_uid: [j.priority, j.state, j.created_at.timestamp()]"
    " for j in J.objects.filter(study_uid__in=UIDS)}))"
)


@pytest.fixture(scope="module")
def slow_node(server, tmp_path_factory):
    """A throttled DICOMweb node holding both studies, registered in the running server."""
    folder = tmp_path_factory.mktemp("prefetch-remote")
    for spec in (CURRENT, PRIOR):
        write_demo_ct(folder / str(spec.seed), spec)
        relabel(folder / str(spec.seed), *LABELS[study_uid(spec)])
    with DemoWebNode(folder, bandwidth=BANDWIDTH) as node:
        # Its own name: node names are unique, and other modules register theirs in the
        # same server (regression: 'slow-pacs' clashed with the live-retrieve test's).
        with registered_web_node(server, "prefetch-pacs", node.base_url, launch_order=2):
            yield node


def jobs(server) -> dict[str, list]:
    """Per study UID: [priority, state, created (epoch seconds)] of its retrieve job."""
    return json.loads(manage_shell(server, JOBS_SCRIPT.replace("UIDS", repr(list(LABELS)))))


def test_a_study_opened_while_its_prior_is_prefetched_comes_first(
    browser, server, server_url, slow_node
):
    from viewer.retrieve.models import RetrieveJob

    current, prior = study_uid(CURRENT), study_uid(PRIOR)
    page = signed_in_page(browser, server_url, 1366, 768)
    page.goto(f"{server_url}/launch?accession=ACC-PREFETCH-83")
    page.wait_for_url(f"{server_url}/studies/{current}/view/")
    # The viewer opens on the first images and asks for the priors: that starts the prior.
    wait_for_images(page)
    deadline = time.monotonic() + 120
    while (found := jobs(server)).get(prior, [None, None])[1] != RetrieveJob.DONE:
        assert time.monotonic() < deadline, found
        time.sleep(1)
    assert found[current][:2] == [RetrieveJob.VIEWING, RetrieveJob.DONE]
    assert found[prior][0] == RetrieveJob.BACKGROUND
    prior_created = found[prior][2]

    asked = slow_node.instances_asked
    order = "".join("V" if uid == current else "b" for _, uid, _ in asked)
    mine = [i for i, (_, uid, _) in enumerate(asked) if uid == current]
    theirs = [i for i, (_, uid, _) in enumerate(asked) if uid == prior]
    assert len({asked[i][2] for i in mine}) == demo_ct_size(CURRENT), order
    assert len({asked[i][2] for i in theirs}) == demo_ct_size(PRIOR), order
    # The prior was being fetched while much of the open study was still to come, so
    # priorities (not the timing) decided the order below.
    assert sum(asked[i][0] > prior_created for i in mine) >= STILL_TO_COME, order
    # Within one transfer: once the open study's last instance is on its way a slot it
    # frees is the prior's, and that request may reach the node before the last one.
    assert sum(i < mine[-1] for i in theirs) <= 1, order

    # The prior is here now: the priors panel lists it as in the archive.
    page.reload()
    wait_for_images(page)
    show_strip(page)
    row = page.locator(f".priors .prior[data-study-uid='{prior}']")
    row.first.wait_for(state="visible")
    assert row.first.get_attribute("data-where") == "local"
    page.context.close()
