"""Run the app under uvicorn on a socket we bind ourselves (so a busy port is a one-line error)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from brushwork.errors import UserInputError
from brushwork.server import discovery
from brushwork.server.app import Server, create_app
from brushwork.server.config import ServerConfig, is_loopback

if TYPE_CHECKING:
    import uvicorn

GRACEFUL_SHUTDOWN_SECONDS = 5


def listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise UserInputError(f"cannot listen on {host}:{port}: {error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise UserInputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    config: ServerConfig,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    announce: Callable[[str], None] = lambda _: None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it gracefully: a running job goes back to the
    queue). While serving, ``server.json`` in the data directory says where (see :mod:`discovery`)."""
    import uvicorn

    if config.token is None and not is_loopback(host):
        raise UserInputError(
            f"listening on {host} lets other machines in: give a token with --token or BRUSHWORK_TOKEN"
        )
    server = Server(config)
    server.open()
    try:
        sock = listen(host, port)
        app = create_app(config, server)
        uv_config = uvicorn.Config(
            app,
            log_level="info" if access_log else "warning",
            access_log=access_log,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        discovery.write(config.data_dir, discovery.server_url(sock), config.token)
        announce(url_of(sock))
        _uvicorn_server(uv_config, lambda: discovery.remove(config.data_dir)).run(sockets=[sock])
    finally:
        discovery.remove(config.data_dir)
        server.close()


def _uvicorn_server(config: uvicorn.Config, on_stop: Callable[[], None]) -> uvicorn.Server:
    """A uvicorn server that calls ``on_stop`` after its graceful shutdown: on SIGTERM uvicorn raises
    the signal again once stopped, which ends the process without running ``finally`` blocks."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().shutdown(sockets)
            finally:
                on_stop()

    return Server(config)
