"""The inventory: sites, devices, ports and labeled cables, from `inventory.yaml`."""

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

__all__ = [
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
    "expand_port_names",
    "known_platforms",
    "load_inventory",
    "locate_problems",
    "resolve_credentials",
    "select_devices",
]
