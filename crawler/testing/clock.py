"""A wall clock a test or a benchmark moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A wall clock the test moves by hand (monotonic politeness timers still use real time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def to(self, when: datetime | None) -> None:
        """Move to `when`, never back (a scheduled time already passed leaves it where it is)."""
        assert when is not None
        self.now = max(self.now, when)

    def monotonic(self) -> float:
        """The same time as a monotonic clock: it only moves as the test moves it."""
        return self.now.timestamp()
