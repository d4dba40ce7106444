"""Config backup: fetch (SSH/Telnet/TFTP), check, clean + scrub, store in a git history.

Other capabilities use it through this module:

* `run_backup(inventory, devices, ...) -> BackupReport` (what `opskit backup run` does);
* `store_fetched(inventory, device, raw_text, method=...) -> DeviceResult`: the shared
  checks/clean/scrub/commit pipeline for a config fetched elsewhere (TFTP uploads);
* `open_cli(inventory, device)`: a logged-in netmiko connection (enable done);
* `load_profile(platform)`, `register_fetcher(method, fn)`, `FetchRequest`, `FETCHERS`;
* `device_path(device)`, `open_store(inventory)` (the `GitStore` of settings.backup_repo).
"""

from opskit.backup.fetch import FETCHERS, FetchRequest, fetch_method, get_fetcher, register_fetcher
from opskit.backup.profiles import Dialog, Profile, load_profile
from opskit.backup.service import (
    BackupReport,
    DeviceResult,
    device_path,
    open_store,
    run_backup,
    store_fetched,
)

__all__ = [
    "FETCHERS",
    "BackupReport",
    "DeviceResult",
    "Dialog",
    "FetchRequest",
    "Profile",
    "device_path",
    "fetch_method",
    "get_fetcher",
    "load_profile",
    "open_cli",
    "open_store",
    "register_fetcher",
    "run_backup",
    "store_fetched",
]


def __getattr__(name: str) -> object:
    # open_cli pulls in netmiko: import it on first use only.
    if name == "open_cli":
        from opskit.backup.connect import open_cli

        return open_cli
    raise AttributeError(name)
