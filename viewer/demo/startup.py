"""The demo for ``manage.py serve``: made behind the running server, with lines of progress."""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from .ct_study import DEFAULT_SPEC, DemoCTSpec, demo_ct_size, prior_spec
from .load import demo_in_archive, demo_studies_size, load_demo
from .remote import (
    REMOTE_SPEC,
    register_demo_node,
    remote_demo_folder,
    remote_demo_written,
    start_demo_node,
)
from .webnode import DemoWebNode

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 100  # images between progress lines


class DemoSetup(threading.Thread):
    """Put the demo study into the archive, then write and start the demo remote node."""

    def __init__(
        self,
        data_dir: Path,
        say: Callable[[str], None],
        *,
        megabytes_per_second: float,
        latency_ms: float,
        port: int,
        spec: DemoCTSpec = DEFAULT_SPEC,
        remote_spec: DemoCTSpec = REMOTE_SPEC,
    ) -> None:
        super().__init__(name="demo-setup", daemon=True)
        self.data_dir, self.say = data_dir, say
        self.spec, self.remote_spec = spec, remote_spec
        self.megabytes_per_second, self.latency_ms, self.port = (
            megabytes_per_second,
            latency_ms,
            port,
        )
        self.halt = threading.Event()
        self.node: DemoWebNode | None = None

    def run(self) -> None:
        try:
            self._load_local()
            if not self.halt.is_set():
                self._start_remote()
        except Exception:
            # The server stays useful without its demo: say so, with the reason in the log.
            logger.exception("the demo could not be set up")
            self.say("The demo could not be set up; the server runs on without it.")
        finally:
            connection.close()  # this thread's own database connection

    def stop(self) -> None:
        """End the setup between two images, and stop the demo node if it runs."""
        self.halt.set()
        self.join(timeout=30)
        if self.node is not None:
            self.node.stop()

    def _load_local(self) -> None:
        if demo_in_archive(self.spec):
            load_demo(self.spec, stop=self.halt)  # the samples, if one went missing
            return
        total, started = demo_studies_size(self.spec), time.monotonic()
        size = _size(self.spec, prior=True)
        self.say(f"Making the demo study and its prior in the archive ({size}, once)...")
        made = 0

        def progress(_source: str) -> None:
            nonlocal made
            made += 1
            if made % PROGRESS_EVERY == 0 and made < total:
                self.say(f"Demo study: {made} of {total} images made")

        load_demo(self.spec, progress, stop=self.halt)
        if not self.halt.is_set():
            self.say(f"Demo study ready: {total} images in {time.monotonic() - started:.0f} s")

    def _start_remote(self) -> None:
        folder = self.data_dir / "demo-remote"
        if not remote_demo_written(folder):
            self.say(f"Writing the demo remote node's study ({_size(self.remote_spec)}, once)...")
        if not remote_demo_folder(folder, self.remote_spec, stop=self.halt):
            return
        self.node = start_demo_node(
            folder,
            bandwidth=self.megabytes_per_second * 1e6 or None,  # 0: unthrottled
            latency=self.latency_ms / 1000,
            port=self.port,
        )
        register_demo_node(self.node.base_url, self.node.wado_uri_url)
        link = f"{self.megabytes_per_second:g} MB/s" if self.megabytes_per_second else "unlimited"
        self.say(f"Demo remote node at {self.node.base_url} ({link}, {self.latency_ms:g} ms)")


def _size(spec: DemoCTSpec, *, prior: bool = False) -> str:
    """How much a demo study is (with its prior), as said before it is made (its pixels
    are nearly all)."""
    made = [spec, prior_spec(spec)] if prior else [spec]
    megabytes = sum(demo_ct_size(s) * s.matrix**2 * 2 / 1e6 for s in made)
    return f"{sum(demo_ct_size(s) for s in made)} images, about {megabytes:.0f} MB"
