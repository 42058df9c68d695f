"""WebSocket routes; each consumer refuses anonymous users itself."""

from django.urls import re_path

from viewer.live.consumers import NoSuchSocket, StudyConsumer

websocket_urlpatterns = [
    # Any segment: the consumer checks the UID and refuses a bad one with a close code,
    # where an unmatched path made the handshake a 500 ("No route found").
    re_path(r"^ws/studies/(?P<study_uid>[^/]{1,200})/$", StudyConsumer.as_asgi()),
    re_path(r"", NoSuchSocket.as_asgi()),
]
