"""Demo data: a synthetic CT study and pydicom's bundled samples."""
