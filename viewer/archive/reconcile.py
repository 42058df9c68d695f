"""Bring the archive's files and its index together after a crash: index every stored
file that has no row, and remove the temporaries of writers that are gone."""

import logging
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .importer import Importer
from .models import Instance
from .storage import archive_files, remove_stale_parts, storage_root

logger = logging.getLogger(__name__)
_CHUNK = 500


@dataclass
class Reconciled:
    """What a reconciliation found and did."""

    indexed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    parts_removed: int = 0


def reconcile(root: Path | None = None) -> Reconciled:
    """Index the archive's files that have no row (a crash between rename and commit)
    and remove dead writers' temporaries. Safe beside live writers: an instance they
    index meanwhile is simply present."""
    root = root or storage_root()
    outcome = Reconciled(parts_removed=remove_stale_parts(root))
    if not root.is_dir():
        return outcome
    files = archive_files(root)
    while chunk := list(islice(files, _CHUNK)):
        by_uid = {path.stem: path for path in chunk}
        indexed = set(
            Instance.objects.filter(sop_instance_uid__in=by_uid).values_list(
                "sop_instance_uid", flat=True
            )
        )
        orphans = [path for uid, path in by_uid.items() if uid not in indexed]
        if orphans:
            report = Importer(root=root, source_label="reconcile").run(orphans)
            outcome.indexed += report.imported
            outcome.rejected += [(Path(source).name, reason) for source, reason in report.rejected]
    if outcome.indexed or outcome.rejected:
        logger.info(
            "reconciled the archive: %d files indexed, %d unreadable",
            outcome.indexed,
            len(outcome.rejected),
        )
    return outcome


def say_reconciled(out, outcome: Reconciled) -> None:
    """One line for a command's output, when a crash had left something behind."""
    if outcome.indexed or outcome.parts_removed or outcome.rejected:
        out.write(
            f"Reconciled the archive after a crash: {outcome.indexed} files indexed, "
            f"{outcome.parts_removed} temporaries removed, {len(outcome.rejected)} unreadable."
        )
