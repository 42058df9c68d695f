"""Access audit trail after DICOM PS3.15's audit message events."""
