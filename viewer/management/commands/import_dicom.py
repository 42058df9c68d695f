"""``manage.py import_dicom PATH [PATH ...]``: import files, folders and DICOMDIRs."""

import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from viewer.archive.importer import Importer, iter_source_files
from viewer.audit.actors import machine_name, os_account
from viewer.audit.details import patient_id_of
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
            # Who: the OS account that ran it; where: this machine.
            record(
                AuditEvent.IMPORTED,
                username=os_account(),
                study_uid=study_uid,
                patient_id=patient_id_of(study_uid),
                address="127.0.0.1",
                detail=f"import_dicom on {machine_name()}",
            )
        self.stdout.write(
            f"imported: {report.imported}, already present: {report.present}, "
            f"rejected: {len(report.rejected)}"
        )
        for source, reason in report.rejected:
            self.stdout.write(f"rejected {source}: {reason}")
        if report.rejected:
            # A script (or a person scrolling past) must not take a part for the whole.
            raise CommandError(f"{len(report.rejected)} of {total} files were not imported")
