"""The presentation states (GSPS) of a study as JSON, for the viewer's Presentation choice."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from viewer.reading.presentation import study_presentation_states

from .views import _get_study_for_user


@require_GET
def study_presentation_states_json(request: HttpRequest, study_uid: str) -> JsonResponse:
    """``{"states": [...]}``: each GSPS of the study as viewer/reading/presentation.py
    describes it, applying only to images of this study in the archive.

    Not audited on its own: the viewer asks for it for a study whose opening was audited
    (STUDY_OPENED), and it holds no more of the patient than the images it applies to.
    """
    study = _get_study_for_user(request, study_uid)
    response = JsonResponse({"states": study_presentation_states(study)})
    response["Cache-Control"] = "private, no-store"  # states arrive with the study
    return response
