"""End to end over HTTP: list by QIDO-RS and fetch by WADO-RS / WADO-URI from the demo node."""

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from tests.link_proxy import LinkProxy
from viewer.demo.webnode import DemoWebNode
from viewer.live.schema import live_message
from viewer.nodes.models import RemoteNode
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.listing import list_tasks
from viewer.retrieve.models import RetrieveJob, TransferTask

from .support import assert_byte_identical, node_behind

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web_node(small_ct_folder):
    with DemoWebNode(small_ct_folder, latency=0.005) as running:
        yield running


def node_for(web_node, method: str, name: str = "demo") -> RemoteNode:
    return RemoteNode.objects.create(
        name=name,
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=web_node.base_url,
        wado_uri_url=web_node.wado_uri_url,
        retrieve_method=method,
        max_transfers=3,
    )


@pytest.mark.parametrize("method", [RemoteNode.WADO_RS, RemoteNode.WADO_URI])
def test_a_study_comes_whole_from_the_demo_node(web_node, sources, method):
    study_uid = next(iter(sources.values()))[1].study_uid
    job, _ = request_retrieve(study_uid, node_for(web_node, method), policy="breadth")
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    job.refresh_from_db()
    assert job.tasks.count() == len(sources)
    # Series keep the node's order and instances their Instance Number order.
    localizer = job.tasks.filter(series_index=0)
    assert localizer.count() == 1
    assert_byte_identical(sources, sources)


def test_the_retrieve_command_runs_a_job_to_completion(web_node, sources, capsys):
    node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    call_command("retrieve", "ward", study_uid, "--policy", "depth", "--wait")
    job = RetrieveJob.objects.get(study_uid=study_uid)
    assert job.state == RetrieveJob.DONE and job.policy == "depth"
    assert "every instance is in the archive" in capsys.readouterr().out
    assert_byte_identical(sources, sources)


def test_the_retrieve_command_fails_when_instances_are_missing(web_node, sources, tmp_path):
    node = node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    job, _ = request_retrieve(study_uid, node)
    list_tasks(job)
    gone = list(sources)[0]
    # The node lists it, then loses it: a contract the job cannot keep.
    job.tasks.create(series_uid="1.2.3", position=0, sop_instance_uid="1.2.3.4")
    with pytest.raises(CommandError, match="completed with failures"):
        call_command("retrieve", "ward", study_uid, "--wait")
    job.refresh_from_db()
    assert "1.2.3.4" in job.error and job.state == RetrieveJob.PARTIAL
    assert job.tasks.get(sop_instance_uid=gone).state == TransferTask.DONE


def test_the_retrieve_command_names_unknown_nodes(db):
    with pytest.raises(CommandError, match="no node named 'nowhere'"):
        call_command("retrieve", "nowhere", "1.2.3")


def test_the_retrieve_command_queues_a_prefetch_at_background_priority(web_node, sources):
    node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    call_command("retrieve", "ward", study_uid, "--priority", "background")
    assert RetrieveJob.objects.get(study_uid=study_uid).priority == RetrieveJob.BACKGROUND


def test_the_retrieve_command_tells_viewers_as_it_runs(web_node, sources, monkeypatch):
    from viewer.live.worker_link import WorkerLink

    published: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        WorkerLink, "publish", lambda link, uid, event: published.append((uid, live_message(event)))
    )
    node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    call_command("retrieve", "ward", study_uid, "--wait")
    kinds = {message["type"] for uid, message in published if uid == study_uid}
    assert {"job", "progress"} <= kinds
    assert published[-1][1] == {"type": "job", "state": RetrieveJob.DONE, "error": ""}


def test_the_retrieve_command_takes_over_a_job_whose_worker_died(web_node, sources, capsys):
    # It ran the engine alone and, for a job another worker held, waited for that job to
    # end: for ever when that worker had died. Now it runs the download worker's way.
    node = node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    job, _ = request_retrieve(study_uid, node)
    RetrieveJob.objects.filter(pk=job.pk).update(
        state=RetrieveJob.RUNNING,
        lease_holder="another-host:1:dead",
        lease_expires_at=timezone.now() + timedelta(seconds=1),
    )
    finished = threading.Event()

    def run() -> None:
        try:
            call_command("retrieve", "ward", study_uid, "--wait")
        finally:
            connection.close()
            finished.set()

    threading.Thread(target=run, daemon=True).start()
    assert finished.wait(60), "the command still waits for the dead worker"
    assert RetrieveJob.objects.get(pk=job.pk).state == RetrieveJob.DONE
    out = capsys.readouterr().out
    assert "Another worker holds the job" in out and "every instance is in the archive" in out
    assert_byte_identical(sources, sources)


def test_the_retrieve_command_waits_out_its_node_rather_than_make_way(settings, web_node, sources):
    # The command runs one job in its own process: a job of another node waiting in the
    # queue is no reason to put this one back and exit.
    settings.PACSWEB_NODE_BACKOFF_MAX_SECONDS = 1
    with LinkProxy(web_node.address) as proxy:
        node_behind(proxy, web_node)
        RetrieveJob.objects.create(
            study_uid="1.2.3.4", node=node_for(web_node, RemoteNode.WADO_RS, name="other")
        )
        study_uid = next(iter(sources.values()))[1].study_uid
        proxy.outage(4)
        call_command("retrieve", "behind-proxy", study_uid, "--wait")
    assert RetrieveJob.objects.get(study_uid=study_uid).state == RetrieveJob.DONE


def test_without_wait_the_command_only_queues(web_node, sources, capsys):
    node_for(web_node, RemoteNode.WADO_RS, name="ward")
    study_uid = next(iter(sources.values()))[1].study_uid
    call_command("retrieve", "ward", study_uid)
    assert RetrieveJob.objects.get(study_uid=study_uid).state == RetrieveJob.QUEUED
    assert "Queued job" in capsys.readouterr().out


def test_an_unlistable_study_fails_the_job_in_words(web_node):
    node = node_for(web_node, RemoteNode.WADO_RS)
    job, _ = request_retrieve("1.2.3.999", node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.FAILED
    job.refresh_from_db()
    assert "lists no images" in job.error
