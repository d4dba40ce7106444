"""The inventory: sites, devices, ports and labeled cables, from `inventory.yaml`.

Names are imported on first use (PEP 562), so `opskit inventory find` can read the cached
index (`opskit.inventory.index`) without loading the validator.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory.lines import line_of
    from opskit.inventory.load import (
        Problem,
        build_inventory,
        expand_port_names,
        known_platforms,
        load_inventory,
        locate_problems,
        resolve_credentials,
        select_devices,
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
    from opskit.inventory.sections import SECTION_KEYS, UPS_THRESHOLD_KEYS, device_section

_WHERE = {
    **dict.fromkeys(
        (
            "Problem",
            "build_inventory",
            "device_section",
            "expand_port_names",
            "known_platforms",
            "load_inventory",
            "locate_problems",
            "resolve_credentials",
            "select_devices",
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
        ("SECTION_KEYS", "UPS_THRESHOLD_KEYS", "device_section"), "opskit.inventory.sections"
    ),
}

__all__ = [
    "SECTION_KEYS",
    "UPS_THRESHOLD_KEYS",
    "Cable",
    "Credentials",
    "Device",
    "Endpoint",
    "Inventory",
    "Port",
    "Problem",
    "Secret",
    "Settings",
    "Site",
    "build_inventory",
    "device_section",
    "expand_port_names",
    "known_platforms",
    "line_of",
    "load_inventory",
    "locate_problems",
    "resolve_credentials",
    "select_devices",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'opskit.inventory' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
