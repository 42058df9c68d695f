"""Write the demo files once and import them with the archive's importer."""

from pathlib import Path

from viewer.archive.importer import Importer, ImportReport

from .ct_study import DEFAULT_SPEC, DemoCTSpec, write_demo_ct
from .samples import image_sample_files, write_charset_samples

_MARKER = ".complete-v1"


def demo_files(folder: Path, spec: DemoCTSpec = DEFAULT_SPEC) -> list[Path]:
    """The demo's source files, generated on first use (about 200 MB, 20 s)."""
    marker = folder / _MARKER
    if not marker.exists():
        write_demo_ct(folder / "ct", spec)
        write_charset_samples(folder / "charsets")
        marker.touch()
    return [folder / "ct", folder / "charsets", *image_sample_files()]


def load_demo(folder: Path, spec: DemoCTSpec = DEFAULT_SPEC, progress=None) -> ImportReport:
    """Generate (once) and import the demo study and the sample files."""
    return Importer(source_label="demo").run(demo_files(folder, spec), progress=progress)
