"""``manage.py run_scp [--port N] [--ae-title AET]``: our DICOM SCP on its own."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from viewer.archive.reconcile import reconcile, say_reconciled
from viewer.audit.activity import application_activity
from viewer.nodes.scp import listening_host, share_association_limit, start_server
from viewer.nodes.validators import validate_ae_title
from viewer.shared_socket import (
    ChildProcesses,
    add_child_arguments,
    bound_socket,
    inherited_socket,
    listen,
    say_ready,
)


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
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.PACSWEB_SCP_PROCESSES,
            help="processes accepting associations on the port, this one included "
            "(default: PACSWEB_SCP_PROCESSES, 1)",
        )
        add_child_arguments(parser)

    def handle(self, **options):
        from django.core.exceptions import ValidationError

        try:
            validate_ae_title(options["ae_title"])
        except ValidationError as exc:
            raise CommandError(f"--ae-title: {' '.join(exc.messages)}") from exc
        if options["processes"] < 1:
            raise CommandError("--processes: at least one")
        if options["processes"] > 1:
            share_association_limit(options["processes"])
        if options["fd"] is not None:  # one of the processes a first one started
            server = start_server(
                ae_title=options["ae_title"],
                shared=inherited_socket(options["fd"], options["parent"]),
            )
            say_ready(options["ready_fd"])
            self._run_until_stopped(server)
            return
        # What a crash of the last run left: files stored but not indexed, temporaries.
        say_reconciled(self.stdout, reconcile())
        others = None
        try:
            if options["processes"] == 1:
                server = start_server(options["host"], options["port"], options["ae_title"])
            else:
                server, others = self._start_processes(options)
        except OSError as exc:
            raise CommandError(f"cannot listen on port {options['port']}: {exc.strerror}") from exc
        except KeyboardInterrupt:  # Ctrl+C while the others start: stopped already
            self.stdout.write("DICOM SCP stopped.")
            return
        self.stdout.write(
            f"DICOM SCP {options['ae_title']} listening on {options['host'] or '*'}:"
            f"{options['port']}" + (f" in {options['processes']} processes" if others else "")
        )
        self.stdout.flush()
        application_activity("run_scp", started=True, detail=options["ae_title"])
        try:
            self._run_until_stopped(server)
        finally:
            if others is not None:
                others.stop()
        application_activity("run_scp", started=False, detail=options["ae_title"])
        self.stdout.write("DICOM SCP stopped.")

    def _start_processes(self, options: dict):
        """Our SCP in ``--processes`` processes on one socket; returns this one's server
        and the others."""
        # As one process does: an empty host is PACSWEB_DICOM_HOST, else loopback.
        shared = bound_socket(options["host"] or listening_host(), options["port"])
        command = ["run_scp", "--ae-title", options["ae_title"]]
        others = ChildProcesses(
            shared, options["processes"] - 1, command + ["--processes", str(options["processes"])]
        )
        server = None
        try:
            others.start()
            server = start_server(ae_title=options["ae_title"], shared=shared)
            # Listening once every process can accept: the first associations would all
            # be this one's while the others start.
            others.wait_ready()
        except BaseException as exc:  # not started, or Ctrl+C meanwhile: none stays
            if server is not None:
                server.shutdown()
            others.stop()
            if isinstance(exc, RuntimeError):
                raise CommandError(f"--processes: {exc}") from exc
            raise
        listen(shared)
        others.keep_running()
        return server, others

    def _run_until_stopped(self, server) -> None:
        """Serve until SIGTERM or Ctrl+C, then let the associations in flight end."""
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        stop.wait()
        server.shutdown()
