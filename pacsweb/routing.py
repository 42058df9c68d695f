"""WebSocket routes; each consumer refuses anonymous users itself."""

from django.urls import re_path

from viewer.live.consumers import StudyConsumer

websocket_urlpatterns = [
    re_path(r"^ws/studies/(?P<study_uid>[0-9.]{1,64})/$", StudyConsumer.as_asgi()),
]
