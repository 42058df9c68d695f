"""``manage.py run_downloader``: a download worker; several may share one database.

On PostgreSQL jobs come from Procrastinate's queue (locks, heartbeats, requeueing a
dead worker's job); on SQLite the worker polls the job table. The engine is the same.
"""

import asyncio
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from viewer.archive.reconcile import reconcile, say_reconciled
from viewer.live.worker_link import build_worker
from viewer.retrieve.worker import Worker


class Command(BaseCommand):
    help = "Run retrieve jobs from the shared queue until SIGTERM or Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="run the jobs waiting now, then exit"
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=settings.PACSWEB_WORKER_JOBS,
            help="jobs run at once (sharing their nodes' slots)",
        )

    def handle(self, **options):
        say_reconciled(self.stdout, reconcile())
        stop = threading.Event()
        worker = build_worker(stop, jobs=options["jobs"])
        self.stdout.write(f"Download worker {worker.holder} waiting for jobs.")
        self.stdout.flush()
        if settings.USE_JOB_QUEUE:
            asyncio.run(self._run_queue(worker, stop, options))
        else:
            self._run_polling(worker, stop, options)
        worker.flush()  # "waiting for a download worker" reaches the jobs' viewers
        self.stdout.write("Download worker stopped.")

    def _run_polling(self, worker: Worker, stop: threading.Event, options) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Finish the transfers in flight, hand the job back, then exit.
            signal.signal(signum, lambda *_: stop.set())
        if options["once"]:
            while not stop.is_set() and worker.run_once():
                pass
        else:
            worker.run_forever()

    async def _run_queue(self, worker: Worker, stop: threading.Event, options) -> None:
        from procrastinate.contrib.django import app

        from viewer.retrieve import tasks

        tasks.current_worker = worker
        loop = asyncio.get_running_loop()
        with app.replace_connector(app.connector.get_worker_connector()):
            async with app.open_async():
                runner = asyncio.create_task(
                    app.run_worker_async(
                        queues=["retrieve"],
                        concurrency=options["jobs"],
                        wait=not options["once"],
                        install_signal_handlers=False,
                        name=worker.holder,
                    )
                )

                def on_signal() -> None:
                    # The engine hands its job back (requeued by the task), then we stop.
                    stop.set()
                    runner.cancel()

                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, on_signal)
                try:
                    await runner
                except asyncio.CancelledError:
                    pass
