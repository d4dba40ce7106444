"""The stored configs: the git history backup writes and audit, notify and web read.

A floor under the capabilities (they share it instead of importing backup):

* `device_path(device)`: a device's file in the repository (`<site>/<device>.cfg`);
* `open_store(inventory)`: the `GitStore` of `settings.backup_repo` (`opskit.store.git`:
  crash-safe commits with the git CLI, a lock, reads of any version);
* `opskit.store.state`: `backup-state.json`, the last attempt and last good backup per
  device (what `backup status` and the web pages show).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opskit.store.git import GitError, GitStore, LogEntry, RepoLocked, StoreError

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

__all__ = [
    "GitError",
    "GitStore",
    "LogEntry",
    "RepoLocked",
    "StoreError",
    "device_path",
    "open_store",
]


def device_path(device: Device) -> str:
    """The device's file in the repository: `<site>/<device>.cfg`, never shared by two
    devices (`opskit.inventory.names.backup_file_name`)."""
    from opskit.inventory.names import backup_file_name

    return backup_file_name(device.site, device.name)


def open_store(inventory: Inventory) -> GitStore:
    """The git store of `settings.backup_repo`."""
    return GitStore(inventory.settings.backup_repo)
