"""``manage.py retrieve NODE STUDY_UID``: queue a study's retrieval, or run it here (--wait)."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from viewer.live.worker_link import build_worker
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob
from viewer.retrieve.progress import SeriesProgress
from viewer.retrieve.queue import enqueue

from ._nodes import node_named

PRIORITIES = {
    "viewing": RetrieveJob.VIEWING,
    "requested": RetrieveJob.REQUESTED,
    "background": RetrieveJob.BACKGROUND,
}


class _BarsEngine(Engine):
    """The engine, drawing one progress bar per series on the terminal."""

    def run(self) -> str | None:
        try:
            return super().run()
        finally:
            self.close_bars()

    def started(self, progress) -> None:
        self.bars = {}
        for position, (uid, series) in enumerate(progress.series.items()):
            number = f"#{series.number} " if series.number is not None else ""
            label = f"{number}{series.description or uid[-12:]}"[:30]
            self.bars[uid] = tqdm(
                total=series.total,
                initial=series.done,
                desc=label,
                unit="img",
                position=position,
            )
        progress.listeners.append(self._update)

    def _update(self, series: SeriesProgress) -> None:
        bar = self.bars[series.uid]
        bar.update(series.done + series.failed - bar.n)

    def close_bars(self) -> None:
        for bar in getattr(self, "bars", {}).values():
            bar.close()


class Command(BaseCommand):
    help = "Retrieve a study from a configured node: queue it, or run it now with --wait."

    def add_arguments(self, parser):
        parser.add_argument("node", help="the node's name as configured in the admin")
        parser.add_argument("study_uid", help="Study Instance UID")
        parser.add_argument(
            "--policy",
            choices=["hybrid", "breadth", "depth"],
            default="hybrid",
            help="how series share the node's slots (default: hybrid)",
        )
        parser.add_argument(
            "--order",
            choices=["sequential", "interleaved"],
            default="sequential",
            help="order inside a series; interleaved: middle, ends, every 4th, then the gaps",
        )
        parser.add_argument(
            "--priority",
            choices=list(PRIORITIES),
            default="requested",
            help="its share of the node's slots beside other jobs: viewing > requested > "
            "background (prefetch); default requested",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="run it here with progress bars; exit 1 unless complete",
        )

    def handle(self, **options):
        node = node_named(options["node"])
        job, created = request_retrieve(
            options["study_uid"],
            node,
            policy=options["policy"],
            order=options["order"],
            priority=PRIORITIES[options["priority"]],
        )
        if not created:
            self.stdout.write(f"Job {job.pk} for this study is already {job.state}.")
        elif not options["wait"]:
            self.stdout.write(f"Queued job {job.pk}; a download worker will run it.")
        if not options["wait"]:
            return
        # The worker ``serve`` and ``run_downloader`` run: viewers with the study open
        # see it arrive and steer it, and a job whose worker died is taken over.
        stop = threading.Event()
        worker = build_worker(stop)
        worker.engine_class = _BarsEngine
        job.refresh_from_db()
        if job.state == RetrieveJob.RUNNING:
            self.stdout.write("Another worker holds the job; waiting for it to end.")
        # Ctrl+C or SIGTERM: the transfers in flight finish and the job goes back to the
        # queue (not left leased to a process that is gone).
        # Only the main thread may set them (a command called from another thread keeps
        # the process's own).
        on_main = threading.current_thread() is threading.main_thread()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
            if on_main
        }
        try:
            state = worker.run_job(job.pk, wait_for_lease=True, alone=True)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            worker.flush()  # the job's last message reaches viewers before we exit
        job.refresh_from_db()
        if state == "stopped":
            if job.is_active:
                enqueue(job)
            raise CommandError(
                f"stopped: job {job.pk} is back in the queue; a download worker will finish it"
            )
        if state != RetrieveJob.DONE:
            raise CommandError(f"job {job.pk} ended {job.get_state_display()}: {job.error}")
        self.stdout.write(self.style.SUCCESS(f"Job {job.pk}: every instance is in the archive."))
