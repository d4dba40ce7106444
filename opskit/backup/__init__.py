"""Config backup: fetch (SSH/Telnet/TFTP), check, clean + scrub, store in a git history.

The public API (for the commands; other capabilities share the stored configs through
`opskit.store` and the platform rules through `opskit.platforms`, not through backup):

* `run_backup(inventory, devices, ...) -> BackupReport` (what `opskit backup run` does);
* `store_fetched(inventory, device, raw_text, method=...) -> DeviceResult`: the shared
  checks/clean/scrub/commit pipeline for a config fetched elsewhere (TFTP uploads);
* `ValueInspector`: what may look at a fetched config before its secrets are scrubbed
  (`opskit.audit.VALUE_INSPECTOR`, wired by the commands);
* `register_fetcher(method, fn)`, `FetchRequest`, `FETCHERS`, `fetch_method`.
"""

from opskit.backup.fetch import FetchRequest, fetch_method
from opskit.backup.fetchers import FETCHERS, get_fetcher, register_fetcher
from opskit.backup.service import (
    BackupReport,
    DeviceResult,
    ValueInspector,
    run_backup,
    store_fetched,
)

__all__ = [
    "FETCHERS",
    "BackupReport",
    "DeviceResult",
    "FetchRequest",
    "ValueInspector",
    "fetch_method",
    "get_fetcher",
    "register_fetcher",
    "run_backup",
    "store_fetched",
]
