"""``manage.py import_dicom PATH [PATH ...]``: import files, folders and DICOMDIRs."""

import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from viewer.archive.importer import Importer, iter_source_files
from viewer.audit.models import AuditEvent, record


class Command(BaseCommand):
    help = "Import DICOM files, folders (recursively) and DICOMDIRs into the archive."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files, folders or DICOMDIR files")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, **options):
        paths = options["paths"]
        missing = [path for path in paths if not os.path.exists(path)]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        total = sum(1 for _ in iter_source_files(paths))
        importer = Importer()
        with tqdm(
            total=total,
            unit="file",
            file=self.stderr._out,
            disable=options["no_progress"],
            dynamic_ncols=True,
        ) as bar:
            report = importer.run(paths, progress=lambda _path: bar.update())
        for study_uid in sorted(report.study_uids):
            record(AuditEvent.IMPORTED, study_uid=study_uid, detail="import_dicom")
        self.stdout.write(
            f"imported: {report.imported}, already present: {report.present}, "
            f"rejected: {len(report.rejected)}"
        )
        for source, reason in report.rejected:
            self.stdout.write(f"rejected {source}: {reason}")
        if report.rejected:
            # A script (or a person scrolling past) must not take a part for the whole.
            raise CommandError(f"{len(report.rejected)} of {total} files were not imported")
