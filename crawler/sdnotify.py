"""systemd's sd_notify protocol over `$NOTIFY_SOCKET`, without libsystemd.

The protocol is one datagram of newline-separated `KEY=value` lines sent to an AF_UNIX socket
whose path systemd puts in `$NOTIFY_SOCKET` (a leading "@" means the Linux abstract namespace).
Outside systemd the variable is unset and every call is a no-op, so the daemon can call the
notifier unconditionally.

Sending never raises: a lost notification must not take the daemon down (systemd's own
`sd_notify()` also just returns an error code that most callers ignore). Failures are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

log = structlog.get_logger(__name__)

# How long one health probe may take before it counts as unhealthy. Short: a probe that needs
# longer than this means the loop or the database is stuck, which is exactly what the watchdog
# exists to catch.
DEFAULT_HEALTH_TIMEOUT = 5.0


class Notifier:
    """Sends sd_notify messages; a no-op when `address` is None (not run by systemd)."""

    def __init__(self, address: str | None) -> None:
        # Abstract socket names start with a NUL byte on the wire; systemd writes them with "@".
        if address and address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address or None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        """The notifier for `$NOTIFY_SOCKET`; a no-op one when the variable is unset or empty."""
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram of `KEY=value` lines. True if sent (or nothing to do), else False."""
        if self.address is None:
            return True
        message = "\n".join(lines).encode("utf-8")
        try:
            # A fresh socket per message, as libsystemd does: cheap (a few per minute at most)
            # and nothing to keep open across forks or to close on exit.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Bounded: systemd reads its queue promptly; if it is wedged, losing one
                # message beats blocking the event loop.
                sock.settimeout(1.0)
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("sd_notify_failed", error=str(exc))
            return False
        return True

    def ready(self) -> bool:
        """Startup finished: the database is open and the scheduler is running."""
        return self.notify("READY=1")

    def reloading(self) -> bool:
        """A reload (SIGHUP) began; send `ready()` when it is done.

        Type=notify-reload requires MONOTONIC_USEC alongside RELOADING=1 so systemd can tell
        this reload's notification from a stale one.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        """Shutdown began (draining); systemd stops expecting watchdog pings."""
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        # A newline would start a new (bogus) assignment in the datagram.
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> bool:
        """Keep-alive: the service is healthy."""
        return self.notify("WATCHDOG=1")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises.

    None when the watchdog is off: WATCHDOG_USEC unset, invalid or zero, or WATCHDOG_PID set to
    another process (the variables were inherited by a child, which must not ping for us).
    """
    env = os.environ if env is None else env
    pid = env.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000 / 2


async def _probe(healthy: Callable[[], Awaitable[bool]], limit: float) -> bool:
    try:
        async with asyncio.timeout(limit):
            return bool(await healthy())
    except TimeoutError:
        log.warning("watchdog_health_timeout", timeout=limit)
        return False
    except Exception:
        log.exception("watchdog_health_error")
        return False


async def watchdog_loop(
    notifier: Notifier,
    interval: float,
    healthy: Callable[[], Awaitable[bool]],
    stop: asyncio.Event,
    *,
    health_timeout: float | None = None,
) -> None:
    """Send WATCHDOG=1 every `interval` seconds while `healthy()` answers True, until `stop` is set.

    An unhealthy or slow answer skips the ping rather than ending the loop: if the problem
    lasts a whole WatchdogSec, systemd kills and restarts us; if it clears, pinging resumes.
    `health_timeout` defaults to the smaller of DEFAULT_HEALTH_TIMEOUT and half the interval, so
    a probe can never delay pings past the watchdog deadline on its own.
    """
    timeout = health_timeout if health_timeout is not None else min(
        DEFAULT_HEALTH_TIMEOUT, interval / 2
    )
    while not stop.is_set():
        if await _probe(healthy, timeout):
            notifier.watchdog()
        else:
            log.warning("watchdog_ping_skipped")
        # Wait for the next tick, waking early when asked to stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()
