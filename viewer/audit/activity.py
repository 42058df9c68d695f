"""Application Activity (PS3.15 A.5.3.1): our processes starting and stopping."""

import logging

from . import access
from .actors import machine_name, os_account
from .models import AuditEvent, record

logger = logging.getLogger(__name__)


def application_activity(application: str, started: bool, detail: str = "") -> None:
    """One row: ``application`` (``serve``, ``run_scp``) started or stopped on this
    machine, by the OS account running it. Before a stop, reads still counted in memory
    are written, so the trail has them all."""
    if not started:
        access.flush_pending()
    what = f"{application} {'started' if started else 'stopped'} on {machine_name()}"
    try:
        record(
            AuditEvent.APPLICATION_ACTIVITY,
            username=os_account(),
            address="127.0.0.1",
            detail=f"{what}: {detail}" if detail else what,
        )
    except Exception:
        # Starting or stopping goes on: a trail that cannot be written is logged.
        logger.exception("%s could not audit its application activity", application)
