"""`python -m tests.lease_daemon LEASE RENEW ARGS...`: the crawler's command line with leases of
LEASE seconds renewed every RENEW, for tests that watch a killed daemon's leases expire."""

from __future__ import annotations

import sys

from crawler import leases
from crawler.cli import main

if __name__ == "__main__":
    leases.DEFAULT_TIMING = leases.LeaseTiming(float(sys.argv[1]), float(sys.argv[2]))
    raise SystemExit(main(sys.argv[3:]))
