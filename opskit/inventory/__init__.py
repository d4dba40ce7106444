"""The inventory: sites, devices, ports and labeled cables, from `inventory.yaml`.

Names are imported on first use (PEP 562), so `opskit inventory find` can read the cached
index (`opskit.inventory.index`) without loading the validator.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory.index import InventoryIndex, open_index
    from opskit.inventory.lines import line_of
    from opskit.inventory.load import (
        Problem,
        build_inventory,
        expand_port_names,
        inventory_shards,
        known_platforms,
        load_inventory,
        locate_problems,
        resolve_credentials,
        select_devices,
        shard_summaries,
    )
    from opskit.inventory.model import (
        Cable,
        Credentials,
        Device,
        Endpoint,
        Inventory,
        Port,
        Secret,
        Settings,
        Site,
    )
    from opskit.inventory.sections import (
        SECTION_KEYS,
        UPS_THRESHOLD_KEYS,
        device_section,
        settings_section,
    )
    from opskit.inventory.shards import (
        CoordinatorSpec,
        RemoteSpec,
        ScheduleSpec,
        ShardSummary,
        hash_bucket,
        parse_duration,
    )
    from opskit.inventory.views import (
        LabelRow,
        cable_dict,
        device_payload,
        device_ports,
        exact_label_paths,
        find_payload,
        label_rows,
        labels_payload,
        sheet_payload,
    )

_WHERE = {
    **dict.fromkeys(
        (
            "Problem",
            "build_inventory",
            "expand_port_names",
            "inventory_shards",
            "known_platforms",
            "load_inventory",
            "locate_problems",
            "open_index",
            "resolve_credentials",
            "select_devices",
            "shard_summaries",
        ),
        "opskit.inventory.load",
    ),
    **dict.fromkeys(
        (
            "Cable",
            "Credentials",
            "Device",
            "Endpoint",
            "Inventory",
            "Port",
            "Secret",
            "Settings",
            "Site",
        ),
        "opskit.inventory.model",
    ),
    "line_of": "opskit.inventory.lines",
    **dict.fromkeys(
        (
            "CoordinatorSpec",
            "RemoteSpec",
            "ScheduleSpec",
            "ShardSummary",
            "hash_bucket",
            "parse_duration",
        ),
        "opskit.inventory.shards",
    ),
    **dict.fromkeys(
        ("SECTION_KEYS", "UPS_THRESHOLD_KEYS", "device_section", "settings_section"),
        "opskit.inventory.sections",
    ),
    **dict.fromkeys(("InventoryIndex", "open_index"), "opskit.inventory.index"),
    # the JSON shapes the CLI and the web pages share
    **dict.fromkeys(
        (
            "LabelRow",
            "cable_dict",
            "device_payload",
            "device_ports",
            "exact_label_paths",
            "find_payload",
            "label_rows",
            "labels_payload",
            "sheet_payload",
        ),
        "opskit.inventory.views",
    ),
}

__all__ = [
    "SECTION_KEYS",
    "UPS_THRESHOLD_KEYS",
    "Cable",
    "CoordinatorSpec",
    "Credentials",
    "Device",
    "Endpoint",
    "Inventory",
    "InventoryIndex",
    "LabelRow",
    "Port",
    "Problem",
    "RemoteSpec",
    "ScheduleSpec",
    "Secret",
    "Settings",
    "ShardSummary",
    "Site",
    "build_inventory",
    "cable_dict",
    "device_payload",
    "device_ports",
    "device_section",
    "exact_label_paths",
    "expand_port_names",
    "find_payload",
    "hash_bucket",
    "inventory_shards",
    "known_platforms",
    "label_rows",
    "labels_payload",
    "line_of",
    "load_inventory",
    "locate_problems",
    "open_index",
    "parse_duration",
    "resolve_credentials",
    "select_devices",
    "settings_section",
    "shard_summaries",
    "sheet_payload",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'opskit.inventory' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
