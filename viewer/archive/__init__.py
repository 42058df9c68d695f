"""The local archive: patients, studies, series, instances and their files on disk."""
