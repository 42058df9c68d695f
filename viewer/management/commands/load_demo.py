"""``manage.py load_demo``: make the synthetic CT study in the archive and import the samples."""

from django.core.management.base import BaseCommand

from viewer.demo.load import load_demo


class Command(BaseCommand):
    help = "Make the demo CT study in the archive (once) and import pydicom's sample files."

    def handle(self, **options):
        report = load_demo()
        self.stdout.write(
            f"demo data: imported {report.imported}, already present {report.present}, "
            f"rejected {len(report.rejected)}"
        )
        for source, reason in report.rejected:
            self.stdout.write(f"rejected {source}: {reason}")
