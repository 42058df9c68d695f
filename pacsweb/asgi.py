"""ASGI entry point: HTTP to Django, WebSockets through origin and auth checks."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
# Django must be set up before anything imports models (the consumers do); as
# get_asgi_application does, with the handler that runs the middleware as one chain.
django.setup(set_prefix=False)

from viewer.web.frame_fast_path import frame_fast_path  # noqa: E402
from viewer.web.sync_chain import SyncChainASGIHandler  # noqa: E402

django_handler = SyncChainASGIHandler()
# Cached raw frames of signed-in readers skip most of the chain (issue 17); the rest,
# and anything it cannot answer as Django would, goes to Django unchanged.
django_asgi_app = frame_fast_path(django_handler, django_handler.threads)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from viewer.live.origin import SameOriginValidator  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
