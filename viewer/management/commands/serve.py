"""``manage.py serve``: the embedded default, everything in one process."""

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from viewer.archive.storage import remove_stale_parts
from viewer.nodes.scp import start_server


class Command(BaseCommand):
    help = "Migrate, create an administrator if needed, load the demo and serve ASGI."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
        parser.add_argument("--no-scp", action="store_true", help="do not run our DICOM SCP")
        parser.add_argument("--dicom-port", type=int, default=settings.PACSWEB_DICOM_PORT)

    def handle(self, **options):
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        settings.PACSWEB_STORAGE.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_admin")
        removed = remove_stale_parts()
        if removed:
            self.stdout.write(f"Removed {removed} temporary files left by an earlier crash.")
        if not options["no_demo"]:
            call_command("load_demo")
        scp = None if options["no_scp"] else self._start_scp(options["dicom_port"])
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"PACSweb is running at {url}  (Ctrl+C stops it)"))
        uvicorn.run(
            "pacsweb.asgi:application",
            host=options["host"],
            port=options["port"],
            log_level="warning",
            lifespan="off",
        )
        if scp is not None:
            scp.shutdown()

    def _start_scp(self, port: int):
        try:
            server = start_server(port=port)
        except OSError as exc:
            # The viewer is still useful without it; say so and carry on.
            self.stderr.write(f"DICOM SCP not started: port {port}: {exc.strerror}")
            return None
        self.stdout.write(f"DICOM SCP {settings.PACSWEB_AE_TITLE} listening on port {port}")
        return server
