import os
import socket

import uvicorn
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
django_application = get_asgi_application()

from port2port.access.gate_asgi import GateFastLane  # noqa: E402 - needs Django set up

application = GateFastLane(django_application)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, with Nagle off on the socket shared by several workers.

    uvicorn creates that socket without the TCP protocol number, so asyncio leaves Nagle on and a
    keep-alive client waits for the 40 ms delayed ACK on every response. Accepted sockets inherit
    TCP_NODELAY from the listening one on Linux."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
