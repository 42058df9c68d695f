"""The background prefetch of a retrieved study's priors, started once the study is here."""

import logging
import threading
import time

from django.db import connection

from .models import RetrieveJob
from .priors import prefetch_after_retrieve

logger = logging.getLogger(__name__)

# The prefetch's whole look at the nodes (every node's C-FIND, each with its own
# timeouts): a node that has not answered by then is left out.
PRIOR_PREFETCH_DEADLINE_SECONDS = 60.0


def start_prior_prefetch(job: RetrieveJob) -> threading.Thread:
    """Start the background prefetch of the arrived study's priors in a daemon thread,
    not waited for: asking every node would hold the worker's job slot. A failure is
    logged (the job's number and the error's kind, no patient data) and never fails the
    job."""
    deadline = time.monotonic() + PRIOR_PREFETCH_DEADLINE_SECONDS

    def prefetch() -> None:
        try:
            prefetch_after_retrieve(job, deadline=deadline)
        except Exception as exc:
            logger.warning(
                "retrieve job %s: prefetching its priors failed (%s)", job.pk, type(exc).__name__
            )
        finally:
            connection.close()  # this thread's own; nothing else will close it

    thread = threading.Thread(target=prefetch, name=f"priors-of-job-{job.pk}", daemon=True)
    thread.start()
    return thread
