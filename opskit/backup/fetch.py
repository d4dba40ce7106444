"""The fetcher registry: how a device's raw config text is obtained, by method name.

A fetcher takes a `FetchRequest` and returns the raw text the device printed (the pipeline
then checks, cleans, scrubs and stores it), or raises `DeviceError` with a one-line reason
that names no secret. `opskit.backup.fetch_ssh` registers `ssh` and `telnet`;
`opskit.backup.fetch_tftp` registers `tftp`. Register more with `register_fetcher`.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opskit.backup.profiles import Profile
from opskit.errors import InputError
from opskit.inventory import Credentials, Device, Settings

log = logging.getLogger(__name__)

# Modules imported on first look-up so their fetchers register themselves.
FETCHER_MODULES = ("opskit.backup.fetch_ssh", "opskit.backup.fetch_tftp")


@dataclass(frozen=True)
class FetchRequest:
    """Everything a fetcher needs for one device.

    `options` is the device's merged `backup:` section (method, timeout, files, ...);
    `timeout` the overall seconds this fetch may take (the fetcher enforces it);
    `inventory` the whole inventory for fetchers that need more (the tftp method).
    Credentials hold `Secret`s: call `.get_secret_value()` only at the login.
    """

    device: Device
    credentials: Credentials
    profile: Profile
    settings: Settings
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 120.0
    inventory: Any = field(default=None, repr=False)

    @property
    def method(self) -> str:
        """The fetch method (`ssh`, `telnet`, `tftp`, ...)."""
        return fetch_method(self.device)


Fetcher = Callable[[FetchRequest], str]
FETCHERS: dict[str, Fetcher] = {}
_loaded = False
_load_lock = threading.Lock()


def register_fetcher(method: str, fetcher: Fetcher) -> None:
    """Make `fetcher` the one for `backup: {method: <method>}`."""
    FETCHERS[method] = fetcher


def _load_builtin() -> None:
    global _loaded
    with _load_lock:  # worker threads look fetchers up at the same time
        if _loaded:
            return
        for module in FETCHER_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:  # the module exists but a dependency is missing
                    raise
                log.debug("fetcher module %s not present", module)
        _loaded = True


def get_fetcher(method: str) -> Fetcher:
    """The fetcher registered for `method`.

    Raises:
        InputError: no fetcher has that name.
    """
    _load_builtin()
    try:
        return FETCHERS[method]
    except KeyError:
        known = ", ".join(sorted(FETCHERS)) or "none"
        raise InputError(f"unknown backup method '{method}' (known: {known})") from None


def fetch_method(device: Device) -> str:
    """The method a device is backed up with: `backup.method`, else telnet for `*_telnet`
    platforms, else ssh."""
    method = device.backup.get("method") if device.backup else None
    if method:
        return str(method)
    return "telnet" if device.platform.endswith("_telnet") else "ssh"
