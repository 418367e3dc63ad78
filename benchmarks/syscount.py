"""An LD_PRELOAD shim that counts a process's fsync/fdatasync calls and the bytes it writes to
SQLite write-ahead logs (files whose name ends in "-wal"), and can make every fsync slow.

Compiled with gcc at run time into a temporary directory (`build_shim`). The shim wraps open,
open64, openat, openat64 and close to know which descriptors are WAL files, and write, pwrite,
pwrite64 and writev to add up what goes to them; fsync and fdatasync are counted, and sleep
`SYSCOUNT_FSYNC_DELAY_US` microseconds first when that is set (a slow disk, without one). At
exit each process appends one line "pid fsyncs wal_bytes peak_rss_kb" to the file
`SYSCOUNT_OUT` names, so a child's own children are counted too (those that exit normally).

Why the peak RSS comes from here (the process's own VmHWM) and not from `wait4`: a child's
`ru_maxrss` starts from the RSS of the process it was forked from (Linux records the old
memory's high-water mark at exec), so every child of a benchmark holding 75 MB of pages
would report at least that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
static unsigned char wal_fd[MAX_FDS];
static unsigned long fsyncs, wal_bytes;
static long delay_us = -1;

static void *next(const char *name) { return dlsym(RTLD_NEXT, name); }

static void track(int fd, const char *path) {
    if (fd < 0 || fd >= MAX_FDS) return;
    size_t n = path ? strlen(path) : 0;
    wal_fd[fd] = n >= 4 && strcmp(path + n - 4, "-wal") == 0;
}

static void count_write(int fd, ssize_t written) {
    if (written > 0 && fd >= 0 && fd < MAX_FDS && wal_fd[fd])
        __atomic_fetch_add(&wal_bytes, (unsigned long)written, __ATOMIC_RELAXED);
}

static void before_sync(void) {
    __atomic_fetch_add(&fsyncs, 1, __ATOMIC_RELAXED);
    if (delay_us < 0) {
        const char *v = getenv("SYSCOUNT_FSYNC_DELAY_US");
        delay_us = v ? atol(v) : 0;
    }
    if (delay_us > 0) {
        struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

#define OPEN_MODE(flags) \
    mode_t mode = 0; \
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); \
        mode = va_arg(ap, mode_t); va_end(ap); }

int open(const char *path, int flags, ...) {
    OPEN_MODE(flags)
    static int (*real)(const char *, int, ...);
    if (!real) real = next("open");
    int fd = real(path, flags, mode); track(fd, path); return fd;
}
int open64(const char *path, int flags, ...) {
    OPEN_MODE(flags)
    static int (*real)(const char *, int, ...);
    if (!real) real = next("open64");
    int fd = real(path, flags, mode); track(fd, path); return fd;
}
int openat(int dir, const char *path, int flags, ...) {
    OPEN_MODE(flags)
    static int (*real)(int, const char *, int, ...);
    if (!real) real = next("openat");
    int fd = real(dir, path, flags, mode); track(fd, path); return fd;
}
int openat64(int dir, const char *path, int flags, ...) {
    OPEN_MODE(flags)
    static int (*real)(int, const char *, int, ...);
    if (!real) real = next("openat64");
    int fd = real(dir, path, flags, mode); track(fd, path); return fd;
}
int close(int fd) {
    static int (*real)(int);
    if (!real) real = next("close");
    if (fd >= 0 && fd < MAX_FDS) wal_fd[fd] = 0;
    return real(fd);
}
ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = next("write");
    ssize_t r = real(fd, buf, n); count_write(fd, r); return r;
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = next("pwrite");
    ssize_t r = real(fd, buf, n, off); count_write(fd, r); return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    if (!real) real = next("pwrite64");
    ssize_t r = real(fd, buf, n, off); count_write(fd, r); return r;
}
ssize_t writev(int fd, const struct iovec *iov, int count) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) real = next("writev");
    ssize_t r = real(fd, iov, count); count_write(fd, r); return r;
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = next("fsync");
    before_sync(); return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = next("fdatasync");
    before_sync(); return real(fd);
}

static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) { kb = atol(line + 6); break; }
    fclose(f);
    return kb;
}

__attribute__((destructor)) static void report(void) {
    const char *out = getenv("SYSCOUNT_OUT");
    if (!out) return;
    long kb = peak_rss_kb();
    FILE *f = fopen(out, "a");
    if (!f) return;
    fprintf(f, "%d %lu %lu %ld\n", (int)getpid(), fsyncs, wal_bytes, kb);
    fclose(f);
}
"""


def missing_compiler() -> str | None:
    """Why the shim cannot be built here, or None."""
    return None if shutil.which("gcc") else "gcc is missing (the fsync-counting shim needs it)"


def build_shim(directory: Path) -> Path:
    """Compile the shim into `directory`; returns the shared object's path."""
    source = directory / "syscount.c"
    source.write_text(SHIM_SOURCE, encoding="utf-8")
    target = directory / "syscount.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(target), str(source), "-ldl"],
                   check=True, capture_output=True)
    return target


@dataclass(frozen=True, slots=True)
class SyscallCounts:
    fsyncs: int
    """fsync and fdatasync calls, every process that reported."""
    wal_bytes: int
    processes: int
    peak_rss_kb: int
    """The largest peak RSS (VmHWM) of the processes that reported."""


def shim_env(shim: Path, out: Path, fsync_delay_ms: float = 0.0) -> dict[str, str]:
    """The environment variables that put the shim into a child, reporting to `out`."""
    env = {"LD_PRELOAD": str(shim), "SYSCOUNT_OUT": str(out)}
    if fsync_delay_ms:
        env["SYSCOUNT_FSYNC_DELAY_US"] = str(int(fsync_delay_ms * 1000))
    return env


def read_counts(out: Path) -> SyscallCounts:
    """What the processes that ran with the shim reported to `out` (zeros if none did)."""
    rows = [line.split() for line in out.read_text().splitlines()] if out.exists() else []
    return SyscallCounts(sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows), len(rows),
                         max((int(r[3]) for r in rows), default=0))


def preload_works(shim: Path, directory: Path) -> bool:
    """The shim loads and reports in a child (a sanity check for the tests)."""
    out = directory / "probe.counts"
    env = dict(os.environ, **shim_env(shim, out))
    subprocess.run(["true"], env=env, check=True)
    return read_counts(out).processes >= 1
