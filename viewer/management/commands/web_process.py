"""``manage.py web_process``: one more web process on the socket ``serve`` hands it."""

import uvicorn
from django.core.management.base import BaseCommand

from viewer.shared_socket import add_child_arguments, inherited_socket, say_ready


class Command(BaseCommand):
    help = (
        "Serve ASGI on an inherited listening socket, without the worker or the SCP "
        "(started by `serve --web-processes N`, not by hand)."
    )

    def add_arguments(self, parser):
        add_child_arguments(parser)

    def handle(self, **options):
        sock = inherited_socket(options["fd"], options["parent"])
        config = uvicorn.Config("pacsweb.asgi:application", log_level="warning", lifespan="off")
        _SaysReady(config, options["ready_fd"]).run(sockets=[sock])


class _SaysReady(uvicorn.Server):
    """uvicorn's server, telling ``serve`` once it accepts."""

    def __init__(self, config: uvicorn.Config, ready_fd: int | None) -> None:
        super().__init__(config)
        self.ready_fd = ready_fd

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        say_ready(self.ready_fd)
