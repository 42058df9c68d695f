"""``manage.py echo NODE``: verify a configured node; exit status 1 on a failed step."""

from django.core.management.base import BaseCommand, CommandError

from viewer.nodes.verification import verify_and_record

from ._nodes import node_named


class Command(BaseCommand):
    help = "Verify a remote node by name: connect, C-ECHO, C-FIND and (for C-MOVE nodes) C-MOVE."

    def add_arguments(self, parser):
        parser.add_argument("node", help="the node's name as configured in the admin")

    def handle(self, **options):
        node = node_named(options["node"])
        result = verify_and_record(node)
        self.stdout.write(result.summary())
        if not result.ok:
            raise CommandError(f"{node.name}: verification failed")
        untold = f" ({len(result.untold)} step(s) could not tell)" if result.untold else ""
        self.stdout.write(self.style.SUCCESS(f"{node.name}: verification passed{untold}"))
