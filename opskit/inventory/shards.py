"""Shards: which poller owns a device, and the cluster settings that go with them.

A device's shard is, first match wins: its own `shard:`, its site's `shard:` (or the
site's `defaults.shard`), `defaults.shard`, and, when `settings.shards: {count: N}` is set,
the bucket of a stable hash of its name (`"0"` .. `"N-1"`). The hash is Prometheus'
`hashmod` relabelling (md5, last 8 bytes big-endian, modulo N), so a central Prometheus
that relabels on the device name keeps the same devices a poller owns.

Also here, parsed once when the inventory loads so errors name file:line:
`settings.backup_remote`, `settings.coordinator` and `settings.schedule`
(`parse_duration` reads their `1h`, `1m`, `30s`, `500ms`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SHARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
# Jobs a worker can run on a schedule (`settings.schedule`), and the loop's own tick.
SCHEDULE_JOBS = ("backup", "monitor")
SCHEDULE_KEYS = (*SCHEDULE_JOBS, "tick")
REMOTE_KEYS = ("url", "credentials", "ssh_key_file", "attempts")
COORDINATOR_KEYS = ("url", "credentials", "ttl")
SHARDS_KEYS = ("count",)
DEFAULT_TICK = 5.0
DEFAULT_TTL = 30.0
DEFAULT_PUSH_ATTEMPTS = 8


def hash_bucket(name: str, count: int) -> int:
    """The bucket of `name` among `count`, as Prometheus' `hashmod` computes it.

    >>> [hash_bucket(n, 3) for n in ("sw1", "sw2", "sw3", "core-r1")]
    [0, 1, 1, 1]
    """
    digest = hashlib.md5(name.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % count


def parse_duration(value: object) -> float:
    """Seconds from `1h`, `15m`, `30s`, `500ms`, `2d` or a plain number of seconds.

    >>> parse_duration("1h"), parse_duration("1m"), parse_duration(2.5), parse_duration("500ms")
    (3600.0, 60.0, 2.5, 0.5)

    Raises:
        ValueError: not a positive duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"'{value}' is not a duration (e.g. 1h, 15m, 30s, 500ms)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not seconds > 0:
        raise ValueError(f"'{value}' is not a positive duration")
    return seconds


def url_has_password(url: str) -> bool:
    """True when `url` carries a password (`scheme://user:secret@host`).

    >>> url_has_password("https://bot:tok3n@git.example/c.git"), url_has_password("git@h:c.git")
    (True, False)
    """
    if "://" not in url:
        return False
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """`settings.backup_remote`: where every backup run pushes its commits.

    Attributes:
        url: any git URL, or a path (relative to the inventory's directory).
        credentials: a credential set whose `username`/`password` (a token) answer an
            HTTPS remote's prompt.
        ssh_key_file: the private key for an SSH remote.
        attempts: pushes tried (each after fetch + rebase) before the run gives up.
    """

    url: str
    credentials: str | None = None
    ssh_key_file: str | None = None
    attempts: int = DEFAULT_PUSH_ATTEMPTS


@dataclass(frozen=True, slots=True)
class CoordinatorSpec:
    """`settings.coordinator`: the Redis that holds one lease per shard."""

    url: str
    credentials: str | None = None
    ttl: float = DEFAULT_TTL


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """`settings.schedule`: seconds between runs of each job, and the loop's tick."""

    jobs: Mapping[str, float] = field(default_factory=dict)
    tick: float = DEFAULT_TICK


@dataclass(frozen=True, slots=True)
class ShardSummary:
    """One shard as `opskit inventory shards` shows it."""

    shard: str
    devices: int
    sites: tuple[str, ...]
    assigned_by: Mapping[str, int]  # "device" | "site" | "defaults" | "hash" -> devices


def shard_names(devices: Iterable[object], count: int, declared: Iterable[str] = ()) -> list[str]:
    """Every shard name: those declared in the file, the hash buckets, the devices' own."""
    names = {str(s) for s in declared}
    names.update(str(i) for i in range(count))
    names.update(s for d in devices if (s := getattr(d, "shard", None)))
    return sorted(names, key=_natural)


def _natural(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)
