"""DICOM nodes: RemoteNode configuration, our SCU calls and our SCP."""
