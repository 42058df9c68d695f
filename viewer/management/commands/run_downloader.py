"""``manage.py run_downloader``: a download worker; several may run against one database."""

import signal
import threading

from django.core.management.base import BaseCommand

from viewer.live.worker_link import WorkerLink
from viewer.retrieve.worker import Worker


class Command(BaseCommand):
    help = "Run retrieve jobs from the shared queue until SIGTERM or Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="run the jobs waiting now, then exit"
        )

    def handle(self, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Finish the transfers in flight, hand the job back, then exit.
            signal.signal(signum, lambda *_: stop.set())
        link = WorkerLink.in_own_thread()
        worker = Worker(publish=link.publish, watch=link.watch, unwatch=link.unwatch, stop=stop)
        self.stdout.write(f"Download worker {worker.holder} waiting for jobs.")
        if options["once"]:
            while not stop.is_set() and worker.run_once():
                pass
        else:
            worker.run_forever()
        self.stdout.write("Download worker stopped.")
