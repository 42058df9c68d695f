"""The demo remote node: a second synthetic study on a throttled DICOMweb server, registered."""

import errno
import threading
from pathlib import Path

from viewer.nodes.models import RemoteNode

from .ct_study import DemoCTSpec, write_demo_ct
from .webnode import DemoWebNode

REMOTE_SPEC = DemoCTSpec(seed=20261126, patient_name="Li^Na=李^娜", patient_id="PW-DEMO-0002")
NODE_NAME = "Demo PACS"
_MARKER = ".complete-v1"


def remote_demo_folder(
    folder: Path, spec: DemoCTSpec = REMOTE_SPEC, stop: threading.Event | None = None
) -> bool:
    """Write the remote study's files once (not imported: it is 'remote'); False if
    ``stop`` ended the writing first (the next start writes them again)."""
    marker = folder / _MARKER
    if not marker.exists():
        write_demo_ct(folder, spec, stop)
        if stop is not None and stop.is_set():
            return False
        marker.touch()
    return True


def remote_demo_written(folder: Path) -> bool:
    """Whether the remote study's files are all written already."""
    return (folder / _MARKER).exists()


def start_demo_node(folder: Path, *, bandwidth: float, latency: float, port: int) -> DemoWebNode:
    """Serve the remote demo folder (written first); a taken port falls back to any free one."""
    try:
        node = DemoWebNode(folder, bandwidth=bandwidth, latency=latency, port=port)
        node.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        node = DemoWebNode(folder, bandwidth=bandwidth, latency=latency, port=0)
        node.start()
    return node


def register_demo_node(base_url: str, wado_uri_url: str = "") -> RemoteNode:
    """Create or point the demo node's configuration at the running server."""
    node, _ = RemoteNode.objects.update_or_create(
        name=NODE_NAME,
        defaults={
            "protocol": RemoteNode.DICOMWEB,
            "dicomweb_url": base_url,
            "wado_uri_url": wado_uri_url,
            "retrieve_method": RemoteNode.WADO_RS,
            "max_transfers": 4,
            "enabled": True,
        },
    )
    return node
