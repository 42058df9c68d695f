"""What a viewer sees on connect: the study's series, each with its retrieve progress."""

from viewer.archive.models import Study
from viewer.retrieve.jobs import latest_job, study_series
from viewer.retrieve.models import RetrieveJob
from viewer.retrieve.progress import SeriesProgress

from .schema import series_entry

COMPLETE, LOADING, QUEUED, INCOMPLETE = "complete", "loading", "queued", "incomplete"


def series_state(done: int, total: int, job_active: bool) -> str:
    """One word for a series: complete, loading, queued (nothing yet) or incomplete."""
    if done >= total:
        return COMPLETE
    if job_active:
        return LOADING if done else QUEUED
    return INCOMPLETE


def job_summary(job: RetrieveJob | None) -> dict | None:
    """The job part of a snapshot."""
    if job is None:
        return None
    return {
        "id": job.pk,
        "state": job.state,
        "error": job.error,
        "policy": job.policy,
        "node": job.node.name,
    }


def study_snapshot(study_uid: str) -> tuple[dict | None, list[dict]] | None:
    """(job, series) for the study, or None if it is neither here nor being retrieved."""
    job = latest_job(study_uid, listed=False)
    study = Study.objects.filter(study_uid=study_uid).first()
    if study is None and job is None:
        return None
    active = job is not None and job.is_active
    series = [
        series_entry(
            SeriesProgress(
                entry["series_uid"],
                entry["series_number"],
                entry["description"],
                entry["total"],
                entry["done"],
                entry["failed"],
                entry["bytes"],
            ),
            series_state(entry["done"], entry["total"], active) if entry["listed"] else COMPLETE,
        )
        for entry in study_series(study, job)
    ]
    return job_summary(job), series
