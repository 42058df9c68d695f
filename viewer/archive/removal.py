"""Take an instance out of the archive: its row, its file, and its series once empty.

Used where the product itself replaces an instance it made (a person's key images
document); nothing received from a modality or a node is removed this way.
"""

import logging
from pathlib import Path

from django.db import transaction

from . import storage
from .models import Instance, Study

logger = logging.getLogger(__name__)


def remove_instance(sop_instance_uid: str, root: Path | None = None) -> bool:
    """Delete the instance's row, then its file once that commits; False when it is not
    in the archive.

    Called inside a caller's transaction (a savepoint), the file is unlinked only when
    the outermost transaction commits: a rollback leaves both the row and the file. If
    the unlink fails after the commit, the file without a row is indexed again by the
    next reconciliation (nothing is lost, at worst the instance comes back). The series
    row goes with its last instance, and the study's counts are brought up to date.
    """
    with transaction.atomic():
        instance = (
            Instance.objects.select_related("series")
            .filter(sop_instance_uid=sop_instance_uid)
            .first()
        )
        if instance is None:
            return False
        series = instance.series
        # Locked as the importer locks it to count, so counts are never written stale.
        study = Study.objects.select_for_update(no_key=True).get(pk=series.study_id)
        instance.delete()
        if not series.instances.exists():
            series.delete()
        study.refresh_counts()
        path = storage.absolute_path(instance.file_path, root)
        transaction.on_commit(lambda: _unlink(path))
    return True


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # the row is gone: reconciliation indexes the file again
        logger.warning("removed instance's file not deleted: %s", type(exc).__name__)
        return
    try:
        storage.fsync_dir(path.parent)
    except OSError:
        pass  # the folder went with its last file, or cannot be synced: the row is gone
