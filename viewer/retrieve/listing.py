"""A job's contract: the instances the node lists for the study, written as tasks."""

from concurrent.futures import ThreadPoolExecutor

from django.db import transaction

from viewer.archive.models import Instance
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import (
    RemoteInstance,
    RemoteQueryError,
    RemoteSeries,
    find_instances,
    find_series,
    query_session,
)

from .models import RetrieveJob, TransferTask

# The per-series queries run side by side, at most this many and no more than the
# node's slots: each mostly waits for the node, one after another they add up.
MAX_QUERIES = 4


class ListingError(Exception):
    """The node could not list the study; the message says why."""


def list_tasks(job: RetrieveJob, queries: int | None = None) -> int:
    """Ask the node for every series and instance of the study and record them as tasks,
    with at most ``queries`` at once (the node slots the job holds; default its limit).

    Instances the archive already holds are recorded as present and never fetched.
    Returns the number of tasks.
    """
    listed = list_study(job.node, job.study_uid, queries)
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


def list_study(
    node: RemoteNode, study_uid: str, queries: int | None = None
) -> list[tuple[RemoteSeries, list[RemoteInstance]]]:
    """Every series of the study with its instances, in the node's order; one session,
    at most ``queries`` (default the node's limit, 4 at most) at once."""
    with query_session(node) as session:
        try:
            series_list = find_series(node, study_uid, session=session)
        except RemoteQueryError as exc:
            raise ListingError(f"the node could not list the study: {exc}") from exc
        if not series_list:
            return []

        def instances(series: RemoteSeries) -> list[RemoteInstance]:
            try:
                return find_instances(node, study_uid, series.series_uid, session=session)
            except RemoteQueryError as exc:
                name = series.series_number if series.series_number is not None else "?"
                raise ListingError(
                    f"the node could not list the images of series {name} "
                    f"({series.series_uid}): {exc}"
                ) from exc

        workers = max(1, min(MAX_QUERIES, queries or node.max_transfers, len(series_list)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listing")
        try:
            # map keeps the series order and raises the first failure in that order.
            return list(zip(series_list, pool.map(instances, series_list), strict=True))
        finally:
            pool.shutdown(cancel_futures=True)  # after a failure, ask no further
