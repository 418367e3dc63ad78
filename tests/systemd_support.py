"""systemd's side of the notify protocol in tests: a datagram socket the daemon reports to
(`NOTIFY_SOCKET`), and reading its messages."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    # A short directory: AF_UNIX paths are limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="crw") as folder:
        path = f"{folder}/notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.setblocking(False)
        try:
            yield sock, path
        finally:
            sock.close()


async def collect(sock: socket.socket, until: str, timeout: float = 20.0) -> list[str]:
    """Datagrams until one equals `until`."""
    loop = asyncio.get_running_loop()
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while until not in out:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {until} in {out}")
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=remaining)
        out.extend(data.decode().split("\n"))
    return out
