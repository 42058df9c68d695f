"""``manage.py load_demo``: generate the synthetic CT study and import the demo files."""

from django.conf import settings
from django.core.management.base import BaseCommand

from viewer.demo.load import load_demo


class Command(BaseCommand):
    help = "Generate (once) and import the demo CT study and pydicom's sample files."

    def handle(self, **options):
        self.stdout.write("Preparing demo data (the first run writes about 200 MB)...")
        report = load_demo(settings.DATA_DIR / "demo")
        self.stdout.write(
            f"demo data: imported {report.imported}, already present {report.present}, "
            f"rejected {len(report.rejected)}"
        )
        for source, reason in report.rejected:
            self.stdout.write(f"rejected {source}: {reason}")
