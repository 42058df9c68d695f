"""Pages and JSON API of the viewer app."""

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from viewer.archive.storage import InvalidUID, check_uid

from . import (
    document_views,
    export_report_views,
    film_views,
    imaging_views,
    key_image_views,
    launch_views,
    node_views,
    presentation_views,
    priors_views,
    reading_views,
    views,
)


class UIDConverter:
    """A DICOM UID in a path: digits and dots, no empty component, at most 64."""

    regex = r"[0-9][0-9.]{0,63}"

    def to_python(self, value: str) -> str:
        # "1..2" or "1." pass the regex; refused here, the URL does not match (404),
        # and nothing malformed is sent on to a remote node.
        try:
            return check_uid(value, "UID")
        except InvalidUID as exc:
            raise ValueError(str(exc)) from exc

    def to_url(self, value: str) -> str:
        return value


register_converter(UIDConverter, "uid")

urlpatterns = [
    path("", views.study_list, name="study_list"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # A RIS or HIS opens the viewer on a study (README: "Opening from a RIS or HIS").
    path("launch", launch_views.launch, name="launch"),
    path("launch/", launch_views.launch),
    path("studies/<uid:study_uid>/", views.study_detail, name="study_detail"),
    path("studies/<uid:study_uid>/view/", views.study_viewer, name="study_viewer"),
    path(
        "studies/<uid:study_uid>/series/<uid:series_uid>/thumbnail.png",
        views.series_thumbnail,
        name="series_thumbnail",
    ),
    path(
        "studies/<uid:study_uid>/documents/<uid:sop_instance_uid>/",
        document_views.document,
        name="document",
    ),
    path(
        "studies/<uid:study_uid>/documents/<uid:sop_instance_uid>/panel/",
        document_views.document,
        {"fragment": True},
        name="document_panel",
    ),
    path(
        "studies/<uid:study_uid>/documents/<uid:sop_instance_uid>/document.pdf",
        document_views.document_pdf,
        name="document_pdf",
    ),
    path(
        "remote/<int:node_id>/studies/<uid:study_uid>/",
        views.remote_study,
        name="remote_study",
    ),
    path(
        "remote/<int:node_id>/studies/<uid:study_uid>/series/<uid:series_uid>/",
        views.remote_series,
        name="remote_series",
    ),
    path(
        "remote/<int:node_id>/studies/<uid:study_uid>/retrieve/",
        views.retrieve_study,
        name="retrieve_study",
    ),
    path(
        "retrieve/jobs/<int:job_id>/cancel/", views.retrieve_job_cancel, name="retrieve_job_cancel"
    ),
    path("retrieve/jobs/<int:job_id>/retry/", views.retrieve_job_retry, name="retrieve_job_retry"),
    path("api/studies/", views.api_study_list, name="api_study_list"),
    path("api/nodes/receiving/", node_views.nodes_receiving, name="nodes_receiving"),
    path(
        "api/studies/<uid:study_uid>/hangings/",
        views.study_hangings,
        name="study_hangings",
    ),
    path(
        "api/studies/<uid:study_uid>/priors/",
        priors_views.study_priors,
        name="study_priors",
    ),
    path(
        "api/studies/<uid:study_uid>/measurements/",
        reading_views.study_measurements,
        name="study_measurements",
    ),
    path(
        "api/studies/<uid:study_uid>/measurements/export.json",
        reading_views.export_measurements_json,
        name="export_measurements_json",
    ),
    path(
        "api/studies/<uid:study_uid>/measurements/export.dcm",
        reading_views.export_measurements_sr,
        name="export_measurements_sr",
    ),
    path(
        "api/studies/<uid:study_uid>/presentation-states/",
        presentation_views.study_presentation_states_json,
        name="study_presentation_states",
    ),
    path(
        "api/studies/<uid:study_uid>/key-images/",
        key_image_views.study_key_images,
        name="study_key_images",
    ),
    path(
        "api/studies/<uid:study_uid>/key-images/send/",
        key_image_views.send_key_images,
        name="send_key_images",
    ),
    path(
        "api/measurements/<int:measurement_id>/",
        reading_views.measurement_detail,
        name="measurement_detail",
    ),
    path(
        "api/studies/<uid:study_uid>/series/<uid:series_uid>/metadata/",
        imaging_views.series_metadata,
        name="series_metadata",
    ),
    path(
        "api/studies/<uid:study_uid>/series/<uid:series_uid>/frames/raw",
        imaging_views.series_frames_raw,
        name="series_frames_raw",
    ),
    path(
        "api/studies/<uid:study_uid>/instances/<uid:sop_instance_uid>/tags/",
        imaging_views.instance_tags,
        name="instance_tags",
    ),
    path(
        "api/studies/<uid:study_uid>/instances/<uid:sop_instance_uid>/frames/<int:frame>/raw",
        imaging_views.frame_raw,
        name="frame_raw",
    ),
    path(
        "api/studies/<uid:study_uid>/instances/<uid:sop_instance_uid>/frames/<int:frame>/rendered",
        imaging_views.frame_rendered,
        name="frame_rendered",
    ),
    path("api/studies/<uid:study_uid>/film.pdf", film_views.study_film, name="study_film"),
    path(
        "api/studies/<uid:study_uid>/exports/",
        export_report_views.study_export_report,
        name="study_export_report",
    ),
]
