"""Parsing of the human-written quantities used in the config: durations and byte sizes."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$", re.IGNORECASE)
# Binary multiples for both spellings: "10MB" is what operators write and 10 MiB what they mean
# for a body cap; the difference never matters for a safety limit.
_SIZE_FACTORS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3,
                 "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(text: str) -> float:
    """Seconds in a duration like "30s", "10m", "2h", "1d".

    Raises ValueError naming the accepted form when the text is not one.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a whole number and a unit s/m/h/d, like \"10m\""
        )
    return float(int(match.group(1)) * _DURATION_SECONDS[match.group(2)])


def parse_size(text: str | int) -> int:
    """Bytes in a size like "10MB", "256KB", "512" (bytes). Raises ValueError otherwise."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"invalid size {text}: must not be negative")
        return text
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: expected a whole number and B/KB/MB/GB, like \"10MB\""
        )
    unit = (match.group(2) or "b").lower()
    return int(match.group(1)) * _SIZE_FACTORS[unit]


def format_duration(seconds: float) -> str:
    """The shortest exact duration string for a number of seconds (for `check-config`)."""
    whole = int(seconds)
    for unit, factor in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % factor == 0:
            return f"{whole // factor}{unit}"
    return f"{whole}s"
