"""Put the demo into the archive: the synthetic CT made straight into it, and the samples."""

import io
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from viewer.archive.importer import Importer, ImportReport
from viewer.archive.models import Instance

from .ct_study import (
    DEFAULT_SPEC,
    DemoCTSpec,
    demo_ct_datasets,
    demo_ct_size,
    prior_spec,
    study_uid,
)
from .samples import charset_sample_datasets, image_sample_files


def demo_in_archive(spec: DemoCTSpec = DEFAULT_SPEC) -> bool:
    """Whether every instance of the demo study and of its prior is indexed already."""
    return all(_indexed(made) for made in (spec, prior_spec(spec)))


def demo_studies_size(spec: DemoCTSpec = DEFAULT_SPEC) -> int:
    """How many instances the demo study and its prior have together."""
    return demo_ct_size(spec) + demo_ct_size(prior_spec(spec))


def _indexed(spec: DemoCTSpec) -> bool:
    indexed = Instance.objects.filter(series__study__study_uid=study_uid(spec)).count()
    return indexed >= demo_ct_size(spec)


def load_demo(
    spec: DemoCTSpec = DEFAULT_SPEC,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> ImportReport:
    """Import the samples, then make the demo study and its prior (the same patient's
    earlier CT) straight into the archive unless there already (no copy of them is
    written anywhere else); ``stop`` ends it early."""
    importer = Importer(source_label="demo")
    samples = _file_bytes(image_sample_files())
    importer.run_contents(_until(stop, [*_encoded(charset_sample_datasets()), *samples]))
    for made in (spec, prior_spec(spec)):  # the study opened first, first
        if not _indexed(made):
            importer.run_contents(_until(stop, _encoded(demo_ct_datasets(made))), progress)
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
