"""DICOMweb routes: QIDO-RS, WADO-RS and STOW-RS under /dicom-web/ (PS3.18)."""

from .urls import UIDConverter  # noqa: F401  # isort: skip  (registers ``uid`` first)
from . import (
    dicomweb_frames_views,
    dicomweb_qido_views,
    dicomweb_stow_views,
    dicomweb_wado_views,
)

# STOW-RS posts to the paths QIDO-RS and WADO-RS answer GETs on: with_store sends
# each method to its own view.
urlpatterns = dicomweb_stow_views.with_store(
    [
        *dicomweb_qido_views.urlpatterns,
        *dicomweb_wado_views.urlpatterns,
        *dicomweb_frames_views.urlpatterns,
    ]
)
