"""Put the demo into the archive: the synthetic CT made straight into it, and the samples."""

import io
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from viewer.archive.importer import Importer, ImportReport
from viewer.archive.models import Instance

from .ct_study import DEFAULT_SPEC, DemoCTSpec, demo_ct_datasets, demo_ct_size, study_uid
from .samples import charset_sample_datasets, image_sample_files


def demo_in_archive(spec: DemoCTSpec = DEFAULT_SPEC) -> bool:
    """Whether every instance of the demo study is indexed already."""
    indexed = Instance.objects.filter(series__study__study_uid=study_uid(spec)).count()
    return indexed >= demo_ct_size(spec)


def load_demo(
    spec: DemoCTSpec = DEFAULT_SPEC,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> ImportReport:
    """Import the samples, then make the demo study straight into the archive unless it
    is there already (no copy of it is written anywhere else); ``stop`` ends it early."""
    importer = Importer(source_label="demo")
    samples = _file_bytes(image_sample_files())
    importer.run_contents(_until(stop, [*_encoded(charset_sample_datasets()), *samples]))
    if not demo_in_archive(spec):
        importer.run_contents(_until(stop, _encoded(demo_ct_datasets(spec))), progress)
    return importer.report


def _encoded(datasets: Iterable[tuple[str, Dataset]]) -> Iterator[tuple[str, bytes]]:
    for name, dataset in datasets:
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
        yield f"demo:{name}", buffer.getvalue()


def _file_bytes(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        yield f"demo:{path.name}", path.read_bytes()


def _until(stop: threading.Event | None, contents: Iterable[tuple[str, bytes]]):
    for content in contents:
        if stop is not None and stop.is_set():
            return
        yield content
