"""Config backup: fetch (SSH/Telnet/TFTP), check, clean + scrub, store in a git history.

Other capabilities use it through this module:

* `run_backup(inventory, devices, ...) -> BackupReport` (what `opskit backup run` does);
* `store_fetched(inventory, device, raw_text, method=...) -> DeviceResult`: the shared
  checks/clean/scrub/commit pipeline for a config fetched elsewhere (TFTP uploads);
* `load_profile(platform)`, `register_fetcher(method, fn)`, `FetchRequest`, `FETCHERS`;
* `device_path(device)`, `open_store(inventory)` (the `GitStore` of settings.backup_repo).
"""

from opskit.backup.fetch import FetchRequest, fetch_method
from opskit.backup.fetchers import FETCHERS, get_fetcher, register_fetcher
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
    "open_store",
    "register_fetcher",
    "run_backup",
    "store_fetched",
]
