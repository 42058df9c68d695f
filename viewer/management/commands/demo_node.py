"""``manage.py demo_node FOLDER``: serve a folder of DICOM files as a throttled DICOMweb node."""

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from viewer.demo.webnode import DemoWebNode


class Command(BaseCommand):
    help = "Serve a folder of DICOM files over DICOMweb (QIDO-RS, WADO-RS, WADO-URI) until Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8042)
        parser.add_argument(
            "--megabytes-per-second",
            type=float,
            default=2.5,
            help="link speed in megabytes (10^6 bytes) per second, shared by all connections; "
            "0: unlimited",
        )
        parser.add_argument(
            "--latency-ms", type=float, default=20.0, help="added before every response"
        )

    def handle(self, **options):
        folder, megabytes, latency_ms = (
            options["folder"],
            options["megabytes_per_second"],
            options["latency_ms"],
        )
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
        if megabytes < 0 or latency_ms < 0:
            raise CommandError("--megabytes-per-second and --latency-ms must not be negative")
        node = DemoWebNode(
            folder,
            bandwidth=megabytes * 1_000_000 if megabytes else None,
            latency=latency_ms / 1000,
            host=options["host"],
            port=options["port"],
        )
        try:
            node.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on port {options['port']}: {exc.strerror}") from exc
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        link = f"{megabytes:g} MB/s" if megabytes else "unlimited"
        self.stdout.write(
            f"Demo DICOMweb node: {node.instance_count} instances, {link}, "
            f"{latency_ms:g} ms latency\n"
            f"DICOMweb base URL: {node.base_url}\nWADO-URI: {node.wado_uri_url}"
        )
        stop.wait()
        node.stop()
        self.stdout.write(f"Demo node stopped after sending {node.bytes_sent} bytes.")
