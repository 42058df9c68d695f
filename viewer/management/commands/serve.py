"""``manage.py serve``: the embedded default, everything in one process."""

import asyncio
import signal
import threading

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from viewer.archive.reconcile import reconcile, say_reconciled
from viewer.audit.activity import application_activity
from viewer.demo.startup import DemoSetup
from viewer.live.worker_link import build_worker
from viewer.nodes.scp import listening_host, start_server
from viewer.shared_socket import bound_socket, listen
from viewer.web.web_processes import NeedsSharedLayer, check_can_run, web_processes


class Command(BaseCommand):
    help = (
        "Migrate, create an administrator if needed and serve ASGI (the demo filling in behind), "
        "with our DICOM SCP and the download worker in the same process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="address of the web side (default: 127.0.0.1)"
        )
        parser.add_argument(
            "--port", type=int, default=8000, help="port of the web side (default: 8000)"
        )
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data and node")
        parser.add_argument("--no-scp", action="store_true", help="do not run our DICOM SCP")
        parser.add_argument(
            "--dicom-port",
            type=int,
            default=settings.PACSWEB_DICOM_PORT,
            help="port of our DICOM SCP (default: PACSWEB_DICOM_PORT)",
        )
        parser.add_argument(
            "--web-processes",
            type=int,
            default=settings.PACSWEB_WEB_PROCESSES,
            help="processes answering web requests, this one included; more than one "
            "needs REDIS_URL (default: PACSWEB_WEB_PROCESSES, 1)",
        )

    def handle(self, **options):
        try:
            check_can_run(options["web_processes"])
        except NeedsSharedLayer as exc:
            raise CommandError(f"--web-processes: {exc}") from exc
        # Bound first, so that a port in use is said before anything starts, and once,
        # for every web process to accept on.
        try:
            sock = bound_socket(options["host"], options["port"])
        except OSError as exc:
            raise CommandError(f"cannot listen on port {options['port']}: {exc.strerror}") from exc
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        settings.PACSWEB_STORAGE.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_admin")
        say_reconciled(self.stdout, reconcile())
        # The DICOM side listens where the web side does unless PACSWEB_DICOM_HOST says.
        dicom_host = listening_host(options["host"])
        scp = None if options["no_scp"] else self._start_scp(dicom_host, options["dicom_port"])
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"PACSweb is running at {url}  (Ctrl+C stops it)"))
        application_activity("serve", started=True, detail=url)
        # The demo fills in behind the running server: it answers at once.
        demo = None if options["no_demo"] else self._start_demo()
        config = uvicorn.Config("pacsweb.asgi:application", log_level="warning", lifespan="off")
        listen(sock)
        others = web_processes(sock, options["web_processes"] - 1)
        # SIGTERM (systemd, docker stop) stops as Ctrl+C does: uvicorn re-raises the
        # signal it handled once it has stopped, and by default SIGTERM would end the
        # process there, before the worker hands its job back.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            # Started inside: a Ctrl+C while they start stops those started, quietly.
            others.start()
            others.keep_running()
            asyncio.run(self._serve(uvicorn.Server(config), sock))
        except KeyboardInterrupt:
            pass  # while starting, or a second Ctrl+C while shutting down: stop quietly
        finally:
            others.stop()
            if demo is not None:
                demo.stop()
            if scp is not None:
                scp.shutdown()
            application_activity("serve", started=False, detail=url)
        self.stdout.write("PACSweb stopped.")

    async def _serve(self, server: uvicorn.Server, sock) -> None:
        """Run the ASGI server; the worker shares its event loop for live messages."""
        stop = threading.Event()
        worker_thread = None
        if settings.PACSWEB_EMBEDDED_WORKER:
            worker = build_worker(
                stop, jobs=settings.PACSWEB_WORKER_JOBS, loop=asyncio.get_running_loop()
            )
            worker_thread = threading.Thread(
                target=worker.run_forever, name="retrieve-worker", daemon=True
            )
            worker_thread.start()
        try:
            await server.serve(sockets=[sock])
        finally:
            stop.set()
            if worker_thread is not None:
                # The worker hands its job back to the queue; part files stay for resume.
                await _outlast_one_cancel(asyncio.to_thread(worker_thread.join, 15))

    def _start_demo(self) -> DemoSetup:
        demo = DemoSetup(
            settings.DATA_DIR,
            self.stdout.write,
            megabytes_per_second=settings.PACSWEB_DEMO_NODE_MEGABYTES_PER_SECOND,
            latency_ms=settings.PACSWEB_DEMO_NODE_LATENCY_MS,
            port=settings.PACSWEB_DEMO_NODE_PORT,
        )
        demo.start()
        return demo

    def _start_scp(self, host: str, port: int):
        try:
            server = start_server(host, port)
        except OSError as exc:
            # The viewer is still useful without it; say so and carry on.
            self.stderr.write(f"DICOM SCP not started: port {port}: {exc.strerror}")
            return None
        self.stdout.write(f"DICOM SCP {settings.PACSWEB_AE_TITLE} listening on {host}:{port}")
        return server


async def _outlast_one_cancel(awaitable) -> None:
    """Await ``awaitable`` to its end through one cancellation.

    uvicorn raises the Ctrl+C it has already handled once more after it stops, which
    would cancel the worker's hand-back mid-way; a second Ctrl+C still ends it at once.
    """
    task = asyncio.ensure_future(awaitable)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()
