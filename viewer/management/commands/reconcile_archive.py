"""``manage.py reconcile_archive``: index stored files without a row, clear crash residue."""

from django.core.management.base import BaseCommand

from viewer.archive.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Index every archive file that has no row (left by a crash between writing and "
        "indexing) and remove temporaries of processes that are gone. Safe while others run."
    )

    def handle(self, **options):
        outcome = reconcile()
        self.stdout.write(
            f"indexed {outcome.indexed} files, removed {outcome.parts_removed} temporaries, "
            f"{len(outcome.rejected)} unreadable"
        )
        for name, reason in outcome.rejected:
            self.stdout.write(f"unreadable {name}: {reason}")
