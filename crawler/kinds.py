"""The package's shared vocabulary: the `Literal` types and small records that modules on both
sides of a seam use (config and metrics, the store and the deliverer). It imports nothing of
the package, so that no seam has to import the other side to name what crosses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

EventType = Literal["article.new", "article.edited", "article.deleted", "article.restored"]
NEW: Final = "article.new"
EDITED: Final = "article.edited"
DELETED: Final = "article.deleted"
RESTORED: Final = "article.restored"
# Every type an endpoint may list.
EVENT_TYPES: tuple[EventType, ...] = (NEW, EDITED, DELETED, RESTORED)
# What an endpoint gets when it lists none: the types receivers have always been sent.
# `article.restored` came later, so only endpoints that ask for it get it.
DEFAULT_EVENT_TYPES: tuple[EventType, ...] = (NEW, EDITED, DELETED)

DeliveryOutcome = Literal["delivered", "retry", "failed", "disabled"]
"""What one delivery attempt came to: a 2xx; a failure with attempts left; a failure that
exhausted the schedule; a 410 Gone from the endpoint."""


@dataclass(frozen=True, slots=True)
class EndpointState:
    """The persisted health of one delivery endpoint (a webhook URL or an "apprise:" key).
    All None: healthy (also what an endpoint without a stored row is)."""

    url: str
    failing_since: datetime | None = None
    """The first failed attempt after the last success."""
    paused_at: datetime | None = None
    disabled_at: datetime | None = None
    """When it answered 410 Gone."""
    next_probe_at: datetime | None = None
    """While paused: when the next probe may be sent."""
    reason: str | None = None
    """The last failed attempt's error."""

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def sending(self) -> bool:
        """Deliveries flow normally (neither paused nor disabled)."""
        return self.paused_at is None and self.disabled_at is None


@dataclass(frozen=True, slots=True)
class Transition:
    """What an attempt did to an endpoint's health, for the log."""

    before: EndpointState
    after: EndpointState

    @property
    def paused(self) -> bool:
        return not self.before.paused and self.after.paused

    @property
    def resumed(self) -> bool:
        return self.before.paused and not self.after.paused

    @property
    def disabled(self) -> bool:
        return not self.before.disabled and self.after.disabled
