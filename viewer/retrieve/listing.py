"""A job's contract: the instances the node lists for the study, written as tasks."""

from django.db import transaction

from viewer.archive.models import Instance
from viewer.nodes.remote_query import RemoteQueryError, find_instances, find_series

from .models import RetrieveJob, TransferTask


class ListingError(Exception):
    """The node could not list the study; the message says why."""


def list_tasks(job: RetrieveJob) -> int:
    """Ask the node for every series and instance of the study and record them as tasks.

    Instances the archive already holds are recorded as present and never fetched.
    Returns the number of tasks.
    """
    try:
        series_list = find_series(job.node, job.study_uid)
        listed = [
            (series, find_instances(job.node, job.study_uid, series.series_uid))
            for series in series_list
        ]
    except RemoteQueryError as exc:
        raise ListingError(f"the node could not list the study: {exc}") from exc
    tasks: list[TransferTask] = []
    seen: set[str] = set()
    for series_index, (series, instances) in enumerate(listed):
        for position, instance in enumerate(instances):
            if not instance.sop_instance_uid or instance.sop_instance_uid in seen:
                continue
            seen.add(instance.sop_instance_uid)
            tasks.append(
                TransferTask(
                    job=job,
                    series_uid=series.series_uid,
                    series_number=series.series_number,
                    series_description=series.description[:64],
                    series_index=series_index,
                    position=position,
                    sop_instance_uid=instance.sop_instance_uid,
                )
            )
    if not tasks:
        raise ListingError("the node lists no images for this study")
    present = set(
        Instance.objects.filter(sop_instance_uid__in=seen).values_list(
            "sop_instance_uid", flat=True
        )
    )
    for task in tasks:
        if task.sop_instance_uid in present:
            task.state = TransferTask.PRESENT
    with transaction.atomic():
        TransferTask.objects.bulk_create(tasks, batch_size=500)
    return len(tasks)
