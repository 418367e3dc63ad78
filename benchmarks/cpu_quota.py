"""A CPU budget for one benchmarked process: a control group of its own whose CPU time is
capped at a fraction of one core (the kernel's CFS bandwidth control).

Why: a fleet benchmark compares one daemon with two, each on a machine of its own. On a
2-core machine that also runs the database server and the simulated sites, pinning each daemon
to a core (`taskset`) leaves nothing for them, and the figure measures the machine instead of
the fleet. Capping each daemon at, say, 0.4 of a core gives every daemon the same small
machine while leaving the rest to the server and the sites, so two daemons can show whether
the design lets them do twice the work.

cgroup v1 (`/sys/fs/cgroup/cpu/`) and v2 (`/sys/fs/cgroup/` with the `cpu` controller) are
both handled; `available()` says why not when neither can be written (not root, a read-only
mount).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 100_000
V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")


def _v2_usable() -> bool:
    controllers = V2_ROOT / "cgroup.controllers"
    return controllers.exists() and "cpu" in controllers.read_text().split()


def available() -> str | None:
    """None when CPU quotas can be set here, else why not."""
    root = V1_ROOT if (V1_ROOT / "cpu.cfs_quota_us").exists() else V2_ROOT
    if root is V2_ROOT and not _v2_usable():
        return "no cgroup cpu controller (neither v1 /sys/fs/cgroup/cpu nor v2 with cpu)"
    probe = root / f"crawler-bench-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a control group under {root}: {exc.strerror}"
    probe.rmdir()
    return None


class CpuQuota:
    """A control group capped at `cores` of one core; `add(pid)` moves a process (and the
    threads it starts afterwards) into it; `close()` removes the group once it is empty."""

    def __init__(self, name: str, cores: float) -> None:
        if not 0 < cores <= 64:
            raise ValueError(f"a CPU quota of {cores} cores")
        self._v1 = (V1_ROOT / "cpu.cfs_quota_us").exists()
        root = V1_ROOT if self._v1 else V2_ROOT
        self.path = root / f"crawler-bench-{os.getpid()}-{name}"
        self.path.mkdir()
        quota = int(cores * PERIOD_US)
        if self._v1:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_seconds(self) -> float:
        """How long the group's processes waited for their budget: near zero means the cap
        was not what limited them."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        if self._v1:
            return int(stat.get("throttled_time", 0)) / 1e9
        return int(stat.get("throttled_usec", 0)) / 1e6

    def close(self) -> None:
        # The processes have exited by now; a group still holding one cannot be removed, and
        # an empty leftover group costs nothing.
        with contextlib.suppress(OSError):
            self.path.rmdir()
