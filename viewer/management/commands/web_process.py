"""``manage.py web_process``: one more web process on the socket ``serve`` hands it."""

import socket

import uvicorn
from django.core.management.base import BaseCommand

from viewer.web.web_processes import end_with_parent


class Command(BaseCommand):
    help = (
        "Serve ASGI on an inherited listening socket, without the worker or the SCP "
        "(started by `serve --web-processes N`, not by hand)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fd", type=int, required=True, help="the listening socket's fd")
        parser.add_argument(
            "--parent", type=int, required=True, help="the serve process; this one ends with it"
        )

    def handle(self, **options):
        end_with_parent(options["parent"])
        sock = socket.socket(fileno=options["fd"])
        config = uvicorn.Config("pacsweb.asgi:application", log_level="warning", lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
