"""The fetchers by backup method: a plain dict, filled at import.

`backup: {method: ssh|telnet|tftp}` picks one; `register_fetcher` adds another.
"""

from __future__ import annotations

from collections.abc import Callable

from opskit.backup.fetch import FetchRequest
from opskit.backup.fetch_ssh import fetch_cli
from opskit.backup.fetch_tftp import fetch_tftp
from opskit.errors import InputError

Fetcher = Callable[[FetchRequest], str]
FETCHERS: dict[str, Fetcher] = {"ssh": fetch_cli, "telnet": fetch_cli, "tftp": fetch_tftp}


def register_fetcher(method: str, fetcher: Fetcher) -> None:
    """Make `fetcher` the one for `backup: {method: <method>}`."""
    FETCHERS[method] = fetcher


def get_fetcher(method: str) -> Fetcher:
    """The fetcher registered for `method`.

    Raises:
        InputError: no fetcher has that name.
    """
    try:
        return FETCHERS[method]
    except KeyError:
        known = ", ".join(sorted(FETCHERS)) or "none"
        raise InputError(f"unknown backup method '{method}' (known: {known})") from None
