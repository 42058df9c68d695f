"""``manage.py run_scp [--port N] [--ae-title AET]``: our DICOM SCP on its own."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from viewer.archive.reconcile import reconcile, say_reconciled
from viewer.audit.activity import application_activity
from viewer.nodes.scp import start_server
from viewer.nodes.validators import validate_ae_title


class Command(BaseCommand):
    help = (
        "Run our DICOM SCP (Verification, Storage, Query/Retrieve: C-FIND, C-GET, C-MOVE) "
        "until SIGTERM or Ctrl+C."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=settings.PACSWEB_DICOM_PORT,
            help="TCP port to listen on (default: PACSWEB_DICOM_PORT)",
        )
        parser.add_argument(
            "--host",
            default=settings.PACSWEB_DICOM_HOST or "127.0.0.1",
            help="address to listen on (default: PACSWEB_DICOM_HOST, else 127.0.0.1)",
        )
        parser.add_argument(
            "--ae-title",
            default=settings.PACSWEB_AE_TITLE,
            help="our AE title; peers must call it (default: PACSWEB_AE_TITLE)",
        )

    def handle(self, **options):
        from django.core.exceptions import ValidationError

        try:
            validate_ae_title(options["ae_title"])
        except ValidationError as exc:
            raise CommandError(f"--ae-title: {' '.join(exc.messages)}") from exc
        # What a crash of the last run left: files stored but not indexed, temporaries.
        say_reconciled(self.stdout, reconcile())
        try:
            server = start_server(options["host"], options["port"], options["ae_title"])
        except OSError as exc:
            raise CommandError(f"cannot listen on port {options['port']}: {exc.strerror}") from exc
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(
            f"DICOM SCP {options['ae_title']} listening on {options['host'] or '*'}:"
            f"{options['port']}"
        )
        application_activity("run_scp", started=True, detail=options["ae_title"])
        stop.wait()
        server.shutdown()
        application_activity("run_scp", started=False, detail=options["ae_title"])
        self.stdout.write("DICOM SCP stopped.")
