"""What happens to a config file's tables before they are validated: every `${NAME}` is
replaced from the environment (a reading command may drop the entries it can do without),
and how a validation error names the key it is about. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute_env(value: Any, path: str, env: Mapping[str, str], errors: list[str]) -> Any:
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                errors.append(f"{path}: environment variable {name} is not set")
                return ""
            return env[name]
        return _ENV_REF.sub(replace, value)
    if isinstance(value, list):
        return [_substitute_env(v, f"{path}[{i}]", env, errors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, env, errors)
                for k, v in value.items()}
    return value


def key_path(loc: tuple[int | str, ...]) -> str:
    """The config key a validation error's location names ("feeds[0].interval"), without
    the validator's own steps."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "literal[")) or part in ("tuple", "list"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# The tables a reading command can do without: an entry naming an unset variable is left out
# of its settings instead of stopping it (CONTRACT.md: reading commands need only [storage]).
_SKIPPABLE_WHEN_READING = ("webhooks", "notify", "feeds")


def substitute_all(raw: dict[str, Any], env: Mapping[str, str], errors: list[str], *,
                    reading: bool) -> dict[str, Any]:
    """`raw` with every `${NAME}` replaced. Reading, an entry of a skippable array that names
    an unset variable is dropped rather than reported."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if reading and key == "http" and isinstance(value, dict) and "token" in value:
            # The pages' token is the daemon's secret: reading commands never serve pages.
            token_errors: list[str] = []
            _substitute_env(value["token"], "http.token", env, token_errors)
            if token_errors:
                value = {k: v for k, v in value.items() if k != "token"}
        if not (reading and key in _SKIPPABLE_WHEN_READING and isinstance(value, list)):
            out[key] = _substitute_env(value, key, env, errors)
            continue
        kept = []
        for i, item in enumerate(value):
            item_errors: list[str] = []
            substituted = _substitute_env(item, f"{key}[{i}]", env, item_errors)
            if not item_errors:
                kept.append(substituted)
        out[key] = kept
    return out
