"""Handing jobs to workers: the job library's queue on PostgreSQL, the table itself elsewhere."""

from .models import RetrieveJob


def enqueue(job: RetrieveJob) -> None:
    """Make the job visible to workers (polling workers see the row itself)."""
