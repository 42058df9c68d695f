"""``manage.py echo NODE``: verify a configured node; exit status 1 on failure."""

from django.core.management.base import BaseCommand, CommandError

from viewer.nodes.models import RemoteNode
from viewer.nodes.verification import verify_and_record


class Command(BaseCommand):
    help = "Verify a remote node by name: connect, C-ECHO, C-FIND and (for C-MOVE nodes) C-MOVE."

    def add_arguments(self, parser):
        parser.add_argument("node", help="the node's name as configured in the admin")

    def handle(self, **options):
        try:
            node = RemoteNode.objects.get(name=options["node"])
        except RemoteNode.DoesNotExist as exc:
            names = ", ".join(RemoteNode.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no node named {options['node']!r} (configured: {names})") from exc
        result = verify_and_record(node)
        self.stdout.write(result.summary())
        if not result.ok:
            raise CommandError(f"{node.name}: verification failed")
        self.stdout.write(self.style.SUCCESS(f"{node.name}: verification passed"))
