"""`hark serve`: one Engine behind an HTTP + WebSocket API (app.py) and, optionally, a Wyoming server for Home
Assistant (wyoming.py), both in one asyncio loop. Binding anything but loopback needs a token."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import threading
from typing import Any, Callable

from ..errors import ConfigError
from ..reload import Reloader
from ..wyoming import tcp_address
from .app import create_app
from .sessions import Hub
from .wyoming import serve_connection

__all__ = ["serve", "check_bind", "parse_tcp_uri", "Hub", "create_app", "start_wyoming"]

log = logging.getLogger("hark.serve")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, what: str = "--host") -> None:
    """Refuse to listen beyond this machine without a token: anyone on the network could unlock the door."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"{what} {host} is reachable from other machines: give a token (--token or HARK_TOKEN) "
                          f"so only your clients can use it, or bind 127.0.0.1")


def parse_tcp_uri(uri: str) -> tuple[str, int]:
    """``--wyoming tcp://HOST:PORT`` → (host, port), with an error naming the option."""
    try:
        return tcp_address(uri)
    except ValueError as exc:
        raise ConfigError(f"--wyoming: {exc}") from None


async def start_wyoming(hub: Hub, host: str, port: int) -> asyncio.base_events.Server:
    """The Wyoming TCP server (each connection: ``wyoming.serve_connection``)."""
    limit = hub.engine.config.serve.max_body_bytes

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(hub, reader, writer)

    return await asyncio.start_server(on_connect, host, port, limit=limit, reuse_address=True)


def serve(engine: Any, *, host: str, port: int, token: str | None = None, wyoming: str | None = None,
          version: str = "0", ready: Callable[[Hub, int, Any], None] | None = None, reload: Callable[[], Any] | None = None,
          say: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then finish the requests in flight (``serve.shutdown_timeout_s``).

    ``reload`` builds a fresh Engine: given one, the skill folders are watched and a changed skill is served
    from the next request on (``hark.reload``); ``say`` reports reloads (default: the log)."""
    import uvicorn

    check_bind(host, token)
    wy = parse_tcp_uri(wyoming) if wyoming else None
    if wy:
        check_bind(wy[0], token, "--wyoming host")
        if not is_loopback(wy[0]):  # Wyoming has no authentication of its own
            log.warning("the Wyoming server on %s is open to the network: Wyoming has no tokens, so anyone who "
                        "reaches %s:%d can use it", wy[0], *wy)
    hub = Hub(engine, version)
    settings = engine.config.serve
    config = uvicorn.Config(create_app(hub, token), host=host, port=port, ws="websockets-sansio",
                            ws_max_size=settings.max_body_bytes, log_config=None, access_log=False,
                            timeout_graceful_shutdown=int(settings.shutdown_timeout_s) or None,
                            limit_concurrency=settings.max_connections * 4, lifespan="off")
    server = uvicorn.Server(config)

    async def watch_skills() -> None:
        reloader = Reloader(engine, reload, say)
        while True:
            await asyncio.sleep(0.5)
            fresh = reloader.poll()
            if fresh is not None:
                hub.swap(fresh)
            elif hub.retired:
                hub.release_retired()

    async def started(wy_server: Any) -> None:
        """Tell ``ready`` the bound port once uvicorn listens (``--port 0`` picks one)."""
        while not server.started:
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        ready(hub, bound, wy_server)

    async def main() -> None:
        wy_server = await start_wyoming(hub, *wy) if wy else None
        watcher = asyncio.create_task(watch_skills()) if reload is not None else None
        try:
            _free(host, port)
            announce = asyncio.create_task(started(wy_server)) if ready is not None else None
            await server.serve()
            if announce is not None:
                announce.cancel()
        finally:
            if watcher is not None:
                watcher.cancel()
            if wy_server is not None:
                wy_server.close()
                await wy_server.wait_closed()

    def stop(sig: int, frame: Any) -> None:  # uvicorn replaces this while serving and calls it again after
        server.should_exit = True

    previous = {}
    if threading.current_thread() is threading.main_thread():  # SIGTERM ends in a clean exit (status 0)
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(main())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        hub.close()


def _free(host: str, port: int) -> None:
    """Fail with one clear line when the port is taken (uvicorn would log a traceback-like error and exit)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror} (another hark serve? pick --port)") \
                from None
