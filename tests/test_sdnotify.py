"""sd_notify over a real AF_UNIX datagram socket standing in for systemd (RELIABILITY case 19)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.sdnotify import Notifier, watchdog_interval, watchdog_loop


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    # AF_UNIX paths are limited to 108 bytes; a deep tmp_path may exceed that.
    path = str(tmp_path / "notify.sock")
    if len(path) > 100:
        pytest.skip("tmp_path too long for an AF_UNIX socket path")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    try:
        yield sock, path
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on the socket, decoded."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return out


def test_messages_reach_the_socket(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready()
    assert sock.recv(4096) == b"READY=1"
    notifier.status("polling 3 feeds\nsecond line")
    assert sock.recv(4096) == b"STATUS=polling 3 feeds second line"
    notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_reloading_carries_monotonic_usec(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier(path).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    lines = sock.recv(4096).decode().split("\n")
    assert lines[0] == "RELOADING=1"
    key, _, value = lines[1].partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_abstract_socket() -> None:
    name = f"crawler-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_unset_socket_is_a_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready()
    assert notifier.watchdog()
    assert notifier.stopping()
    assert not Notifier.from_env({"NOTIFY_SOCKET": ""}).enabled


def test_send_failure_does_not_raise(tmp_path: Path) -> None:
    assert Notifier(str(tmp_path / "nobody-listens")).ready() is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "x"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env) == expected


async def test_watchdog_pings_only_while_healthy(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    sock, path = systemd_socket
    state = {"healthy": True}

    async def healthy() -> bool:
        return state["healthy"]

    stop = asyncio.Event()
    task = asyncio.create_task(watchdog_loop(Notifier(path), 0.05, healthy, stop))
    await asyncio.sleep(0.3)
    pings = received(sock)
    assert len(pings) >= 2
    assert set(pings) == {"WATCHDOG=1"}

    state["healthy"] = False
    await asyncio.sleep(0.1)  # let a ping already under way land
    received(sock)
    await asyncio.sleep(0.3)
    assert received(sock) == []

    state["healthy"] = True  # recovers: pings resume
    await asyncio.sleep(0.3)
    assert received(sock)

    stop.set()
    await asyncio.wait_for(task, 1.0)


async def test_watchdog_stops_pinging_when_the_check_hangs(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    sock, path = systemd_socket

    async def stuck() -> bool:
        await asyncio.sleep(3600)  # a database call that never returns
        return True

    async def broken() -> bool:
        raise RuntimeError("database is gone")

    for check in (stuck, broken):
        stop = asyncio.Event()
        task = asyncio.create_task(
            watchdog_loop(Notifier(path), 0.05, check, stop, health_timeout=0.02)
        )
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, 1.0)
        assert received(sock) == []


async def test_watchdog_loop_ends_promptly_on_stop(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    _, path = systemd_socket

    async def healthy() -> bool:
        return True

    stop = asyncio.Event()
    task = asyncio.create_task(watchdog_loop(Notifier(path), 3600.0, healthy, stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 1.0)  # not an hour
