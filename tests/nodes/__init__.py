"""Tests of the DICOM nodes."""
