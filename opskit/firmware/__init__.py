"""Firmware: each device's running version against a catalogue of vendor releases."""

from opskit.firmware.catalog import Catalog, Policy, Release, load_catalog, validate_catalog
from opskit.firmware.evaluate import EXIT_CODES, Evaluation, evaluate
from opskit.firmware.service import FirmwareReport, FirmwareResult, check_firmware
from opskit.firmware.versions import (
    UnknownVersion,
    Version,
    compare_versions,
    family_of,
    parse_version,
    sort_versions,
)

__all__ = [
    "EXIT_CODES",
    "Catalog",
    "Evaluation",
    "FirmwareReport",
    "FirmwareResult",
    "Policy",
    "Release",
    "UnknownVersion",
    "Version",
    "check_firmware",
    "compare_versions",
    "evaluate",
    "family_of",
    "load_catalog",
    "parse_version",
    "sort_versions",
    "validate_catalog",
]
