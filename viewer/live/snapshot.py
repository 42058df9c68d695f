"""What a viewer sees on connect: the study's series, each with its retrieve progress."""

from viewer.archive.models import Study
from viewer.retrieve.jobs import series_progress
from viewer.retrieve.models import RetrieveJob

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
    job = (
        RetrieveJob.objects.select_related("node")
        .filter(study_uid=study_uid)
        .order_by("-created_at")
        .first()
    )
    study = Study.objects.filter(study_uid=study_uid).first()
    if study is None and job is None:
        return None
    series: dict[str, dict] = {}
    if job is not None:
        progress = series_progress(job)
        described = (
            job.tasks.order_by("series_index")
            .values_list("series_uid", "series_number", "series_description")
            .distinct()
        )
        for uid, number, description in described:
            row = progress[uid]
            series[uid] = {
                "uid": uid,
                "number": number,
                "description": description,
                "total": row["total"],
                "done": row["done"],
                "failed": row["failed"],
                "bytes": row["bytes"] or 0,
                "state": series_state(row["done"], row["total"], job.is_active),
            }
    for local in study.series.all() if study else []:
        if local.series_uid not in series:
            series[local.series_uid] = {
                "uid": local.series_uid,
                "number": local.series_number,
                "description": local.description,
                "total": local.num_instances,
                "done": local.num_instances,
                "failed": 0,
                "bytes": None,
                "state": COMPLETE,
            }
        else:
            # The listing is the contract, but the archive may know a better label.
            entry = series[local.series_uid]
            entry["description"] = entry["description"] or local.description
    return job_summary(job), list(series.values())
