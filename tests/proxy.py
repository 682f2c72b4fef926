"""A TCP proxy in an OS process of its own, to cut a client off from its server: killing it
closes every connection through it and leaves its port refusing new ones, as a server that
went away does, and starting it again on the same port brings the server back.

    python -m tests.proxy LISTEN_PORT TARGET_HOST TARGET_PORT

It prints `ready` once it listens (LISTEN_PORT 0: `ready <port>`, the port it chose).
`Proxy` drives it from a test; `proxied` rewrites a PostgreSQL URL to go through it.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536
GUARD_S = 30.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _serve(listen: int, host: str, port: int) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    chosen = server.sockets[0].getsockname()[1]
    print(f"ready {chosen}", flush=True)
    async with server:
        await server.serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    """The proxy process on one port, started, killed and started again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "tests.proxy", str(self.port), *map(str, self.target)]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready"), f"the proxy did not start: {line!r}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(GUARD_S)
        self.process = None


def proxied(url: str, proxy: Proxy) -> str:
    """`url` (postgresql://user@host:port/db?...) through `proxy` instead."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    if parts.password:
        user = f"{parts.username}:{parts.password}@"
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


def target_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


if __name__ == "__main__":
    listen_port, target_host, target_port = sys.argv[1:4]
    asyncio.run(_serve(int(listen_port), target_host, int(target_port)))
