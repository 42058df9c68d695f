"""The DICOMweb (PS3.18) server's protocol over the archive: query parameters to
identifiers, DICOM JSON, multipart bodies, transfer syntax negotiation."""
