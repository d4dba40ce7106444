"""What an importer returns, and what an import did: frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opskit.inventory.model import Secret

KINDS = ("sites", "credentials", "devices", "ports", "cables")


@dataclass(frozen=True, slots=True)
class ImportSet:
    """One source read into inventory entries, in the shape `inventory.yaml` writes them.

    `devices` and `sites` map a name to its entry; `cables` is a list of entries with a
    `label`. `secrets` are files to write beside the imported file (relative path ->
    content, written 0600 and referenced from `credentials` with `password_file`): they
    never enter the YAML, a message or JSON.
    """

    source: str
    origin: str
    sites: dict[str, dict[str, Any]]
    devices: dict[str, dict[str, Any]]
    cables: list[dict[str, Any]] = field(default_factory=list)
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()
    header: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """An item edited by hand since the last import that the import would change."""

    kind: str  # "device", "cable", "site", "credentials"
    name: str
    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.kind} '{self.name}' {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "kind": self.kind,
            "name": self.name,
            "file": str(self.file),
            "line": self.line,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The result of one import: what changed (or would), conflicts, and what was written."""

    source: str
    origin: str
    file: Path
    main: Path
    written: bool
    dry_run: bool
    include_added: bool
    counts: dict[str, dict[str, int]]
    changes: dict[str, dict[str, list[str]]]
    diff: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()
    kept_edits: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    secret_files: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the import changes (or would change) anything."""
        return bool(self.diff) or self.include_added

    @property
    def ok(self) -> bool:
        """False when conflicts stopped the import."""
        return not self.conflicts or self.written

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (no secret: secret files are named, never read)."""
        return {
            "ok": self.ok,
            "source": self.source,
            "origin": self.origin,
            "file": str(self.file),
            "main": str(self.main),
            "written": self.written,
            "dry_run": self.dry_run,
            "include_added": self.include_added,
            "counts": self.counts,
            "changes": self.changes,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "kept_edits": list(self.kept_edits),
            "warnings": list(self.warnings),
            "secret_files": list(self.secret_files),
        }
