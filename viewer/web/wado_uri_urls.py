"""WADO-URI (PS3.18 chapter 9) for older clients, at /wado."""

from .dicomweb_wado_views import wado_uri_urlpatterns

urlpatterns = [*wado_uri_urlpatterns]
