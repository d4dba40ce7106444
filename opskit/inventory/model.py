"""The inventory's data model: frozen dataclasses built from `inventory.yaml`.

Capabilities read their own per-device section (`device.backup`, `device.snmp`,
`device.nut`, `device.thresholds`, `device.firmware`) as plain mappings, already merged
from `defaults` -> site `defaults` -> role -> device, and parse them into their own types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory.shards import CoordinatorSpec, RemoteSpec, ScheduleSpec

from opskit.inventory.panels import PanelMap

# Sections every device inherits from `defaults`, a site's `defaults`, and its role.
INHERITED_SECTIONS = ("backup", "snmp", "nut", "thresholds", "firmware", "ssh")
# Scalars a device inherits the same way.
INHERITED_SCALARS = ("credentials", "platform", "role")

PATCH_PANEL = "patch_panel"
SIDES = ("front", "rear")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an object was defined: file and 1-based line (0 when unknown)."""

    file: Path
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}" if self.line else self.file.name


class Secret:
    """A secret value that never shows itself in repr, str, logs or JSON."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself, for the one call that needs it (a login)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Credentials:
    """A resolved credential set. Secrets are `Secret`s or None when not set."""

    name: str
    username: str | None = None
    password: Secret | None = None
    enable_password: Secret | None = None
    community: Secret | None = None
    auth_password: Secret | None = None
    priv_password: Secret | None = None
    # Non-secret extras (SNMPv3 auth_protocol, priv_protocol, security level, ...).
    options: Mapping[str, Any] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Every secret value in this set, for scrubbing logs and tests' greps."""
        return [
            s.get_secret_value()
            for s in (
                self.password,
                self.enable_password,
                self.community,
                self.auth_password,
                self.priv_password,
            )
            if s is not None and s.get_secret_value()
        ]


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """A credential set as written in the file: secrets are references, not values."""

    name: str
    username: str | None
    # secret field -> ("env"|"file"|"plain", value): e.g. ("env", "OPSKIT_CORE_PW")
    secrets: Mapping[str, tuple[str, str]]
    options: Mapping[str, Any]
    source: SourceRef


@dataclass(frozen=True, slots=True)
class Port:
    """One port of a device. Patch-panel ports exist once per side (front and rear)."""

    name: str
    description: str | None = None
    side: str | None = None  # "front"/"rear" on patch panels, else None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a cable: a device's port (and side, on a patch panel)."""

    device: str
    port: str
    side: str | None = None

    def __str__(self) -> str:
        side = f" ({self.side})" if self.side else ""
        return f"{self.device} {self.port}{side}"

    @property
    def key(self) -> tuple[str, str, str | None]:
        """Identity of the port end (device, port, side)."""
        return (self.device, self.port, self.side)


@dataclass(frozen=True, slots=True)
class Cable:
    """A labeled cable between two endpoints."""

    label: str
    a: Endpoint
    b: Endpoint
    color: str | None = None
    length_m: float | None = None
    type: str | None = None
    status: str | None = None
    note: str | None = None
    source: SourceRef | None = None
    # Index of the cable in its file's `cables:` list (for edits); not part of its value.
    position: int | None = field(default=None, repr=False, compare=False)

    def far_end(self, end: Endpoint) -> Endpoint:
        """The other end of the cable, seen from `end`."""
        return self.b if end.key == self.a.key else self.a


@dataclass(frozen=True, slots=True)
class Site:
    """A site (building, room) devices belong to."""

    name: str
    address: str | None = None
    description: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    source: SourceRef | None = None
    shard: str | None = None  # `shard:` or `defaults.shard` of the site


@dataclass(frozen=True, slots=True)
class Device:
    """A device with its settings merged from defaults, site, role and its own entry."""

    name: str
    site: str
    host: str | None
    platform: str
    port: int | None = None
    role: str | None = None
    credentials: str | None = None
    backup: Mapping[str, Any] = field(default_factory=dict)
    snmp: Mapping[str, Any] = field(default_factory=dict)
    nut: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    firmware: Mapping[str, Any] = field(default_factory=dict)
    ssh: Mapping[str, Any] = field(default_factory=dict)
    rack: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str | None = None
    model: str | None = None
    ports: tuple[Port, ...] = ()
    source: SourceRef | None = None
    # A patch panel's front -> rear wiring; None for the default front N <-> rear N.
    panel: PanelMap | None = None
    # the poller that owns it (opskit.inventory.shards), and where that was said:
    # "device" | "site" | "defaults" | "hash"
    shard: str | None = None
    shard_source: str | None = None

    @property
    def is_patch_panel(self) -> bool:
        """Patch panels pass a front port through to a rear port (see `panel`)."""
        return self.platform == PATCH_PANEL

    def label(self) -> str:
        """`name (host:port)` for messages."""
        if self.host is None:
            return self.name
        return (
            f"{self.name} ({self.host}:{self.port})" if self.port else f"{self.name} ({self.host})"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """The inventory's `settings` section with defaults applied."""

    base_dir: Path
    backup_repo: Path
    state_dir: Path
    firmware_catalog: Path
    backup_shrink_limit: float = 0.5
    tftp_listen: str = "0.0.0.0:69"
    tftp_address: str | None = None
    workers: int = 16
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    snmp_timeout: float = 2.0
    snmp_retries: int = 1
    nut_timeout: float = 5.0
    max_config_size: int = 16 << 20  # bytes a fetched config may hold
    raw: Mapping[str, Any] = field(default_factory=dict)
    # past one machine (opskit.inventory.shards): hash buckets, the central git remote,
    # the Redis of the shard leases, the worker's schedule
    shard_count: int = 0
    backup_remote: RemoteSpec | None = None
    coordinator: CoordinatorSpec | None = None
    schedule: ScheduleSpec | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    """A loaded inventory. Look-ups are by name; cables are indexed by label and by end."""

    path: Path
    settings: Settings
    sites: Mapping[str, Site]
    devices: Mapping[str, Device]
    cables: Mapping[str, Cable]
    credential_refs: Mapping[str, CredentialRef]
    files: tuple[Path, ...] = ()
    # (device, port, side) -> cable label
    cable_by_end: Mapping[tuple[str, str, str | None], str] = field(default_factory=dict)
    # sha256 of each file's bytes as read (keys the read-only index cache).
    digests: Mapping[Path, str] = field(default_factory=dict)
    # each file's stat signature taken before it was read (see load.file_signature)
    signatures: Mapping[Path, str] = field(default_factory=dict)
    # the top-level `audit:` section as written, shape-checked (opskit.audit reads it)
    audit: Mapping[str, Any] = field(default_factory=dict)
