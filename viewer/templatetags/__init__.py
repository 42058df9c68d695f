"""Template filters for DICOM values."""
