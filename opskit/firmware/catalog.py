"""The release catalogue, `firmware.yaml`: vendor releases per platform and shop policy.

Read with the fast YAML parser and validated with pydantic; only when something is wrong
is the file parsed again with ruamel.yaml to put a line number on each problem.

Layout::

    platforms:
      cisco_ios:
        releases:
          - {version: "15.2(7)E10", date: 2024-03-26, status: recommended}
          - version: "15.2(7)E9"
            status: vulnerable
            advisories: [cisco-sa-iosxe-webui-privesc-j22SaA4z]
            models: ["WS-C2960X*"]        # optional: only for these models (globs)
    policy:
      platforms: {cisco_ios: {minimum: "15.2(7)E8", target: "15.2(7)E10"}}
      sites: {branch: {cisco_ios: {target: "15.2(7)E11"}}}
      devices: {core-rtr1: {target: "17.9.5"}}
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from opskit.errors import InputError
from opskit.firmware.versions import Version, family_of, parse_version
from opskit.platforms import resolve

if TYPE_CHECKING:
    from opskit.inventory import Problem

STATUSES = ("recommended", "supported", "deprecated", "vulnerable", "end-of-life")
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Release:
    """One vendor release in the catalogue."""

    platform: str
    version: Version
    status: str = "supported"
    date: dt.date | None = None
    advisories: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    note: str | None = None

    def applies_to(self, model: str | None) -> bool:
        """True when the release is for every model, or `model` matches one of its globs."""
        if not self.models:
            return True
        if not model:
            return False
        return any(fnmatch.fnmatchcase(model.upper(), m.upper()) for m in self.models)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "version": self.version.text,
            "status": self.status,
            "date": self.date.isoformat() if self.date else None,
            "advisories": list(self.advisories),
            "models": list(self.models),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """The shop's policy for one device: the lowest version allowed and the one to run."""

    minimum: Version | None = None
    target: Version | None = None
    source: Mapping[str, str] = field(default_factory=dict)  # "minimum" -> "site hq", ...


@dataclass(frozen=True, slots=True)
class Catalog:
    """A loaded catalogue."""

    path: Path
    releases: Mapping[str, tuple[Release, ...]]
    platform_policy: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    site_policy: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    device_policy: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def has_platform(self, platform: str) -> bool:
        """True when the catalogue lists releases for the platform (or its family)."""
        return bool(self.releases.get(resolve(platform).name))

    def releases_for(self, platform: str, model: str | None = None) -> list[Release]:
        """The platform's releases that apply to `model`, oldest first."""
        return sorted(
            (r for r in self.releases.get(resolve(platform).name, ()) if r.applies_to(model)),
            key=lambda r: r.version,
        )

    def find(self, platform: str, version: Version, model: str | None = None) -> Release | None:
        """The catalogue entry of exactly this version (model-specific entries first)."""
        found = [r for r in self.releases_for(platform, model) if r.version == version]
        found.sort(key=lambda r: not r.models)
        return found[0] if found else None

    def policy_for(
        self,
        platform: str,
        site: str,
        device: str,
        device_section: Mapping[str, Any] | None = None,
    ) -> Policy:
        """Merge policy: platform, then site, then the catalogue's device entry, then the
        device's own `firmware:` section in the inventory (each overrides the one before).

        Raises:
            InputError: an inventory `firmware:` minimum/target that the platform's
                version scheme does not understand.
        """
        merged: dict[str, str] = {}
        source: dict[str, str] = {}
        platform = resolve(platform).name
        layers: list[tuple[str, Mapping[str, Any]]] = [
            (f"catalogue platform {platform}", self.platform_policy.get(platform, {})),
            (f"catalogue site {site}", self.site_policy.get(site, {}).get(platform, {})),
            (f"catalogue device {device}", self.device_policy.get(device, {})),
            (f"inventory device {device}", device_section or {}),
        ]
        for where, layer in layers:
            for key in ("minimum", "target"):
                if layer.get(key) is not None:
                    merged[key] = str(layer[key])
                    source[key] = where
        versions: dict[str, Version | None] = {"minimum": None, "target": None}
        for key, text in merged.items():
            v = parse_version(platform, text)
            if not isinstance(v, Version):
                raise InputError(
                    f"{source[key]}: firmware {key} '{text}' is not a {family_of(platform)} version"
                )
            versions[key] = v
        return Policy(minimum=versions["minimum"], target=versions["target"], source=source)


# --- validation -----------------------------------------------------------------------


def _models() -> Any:
    """Pydantic models, built on first use (pydantic stays out of `opskit --help`)."""
    from pydantic import BaseModel, ConfigDict, Field, StrictStr

    class _Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class ReleaseIn(_Strict):
        version: StrictStr
        date: dt.date | None = None
        status: Literal["recommended", "supported", "deprecated", "vulnerable", "end-of-life"] = (
            "supported"
        )
        advisories: list[StrictStr] = Field(default_factory=list)
        models: list[StrictStr] = Field(default_factory=list)
        note: StrictStr | None = None

    class PlatformIn(_Strict):
        releases: list[ReleaseIn] = Field(default_factory=list)

    class PolicyIn(_Strict):
        minimum: StrictStr | None = None
        target: StrictStr | None = None

    class PoliciesIn(_Strict):
        platforms: dict[str, PolicyIn] = Field(default_factory=dict)
        sites: dict[str, dict[str, PolicyIn]] = Field(default_factory=dict)
        devices: dict[str, PolicyIn] = Field(default_factory=dict)

    class CatalogIn(_Strict):
        platforms: dict[str, PlatformIn] = Field(default_factory=dict)
        policy: PoliciesIn = Field(default_factory=PoliciesIn)

    return CatalogIn


def _pydantic_message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    field_name = str(loc[-1]) if loc else "value"
    if kind == "extra_forbidden":
        return f"unknown key '{field_name}'"
    if kind == "string_type" and isinstance(err.get("input"), int | float):
        return (
            f"{field_name}: {err['input']!r} was read as a number: quote it "
            f'("{err["input"]}") so YAML keeps it as written'
        )
    if kind == "literal_error":
        return f"{field_name}: '{err.get('input')}' is not one of {', '.join(STATUSES)}"
    return f"{field_name}: {err.get('msg', 'invalid')}"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with LibYAML (dates become `datetime.date`).

    Raises:
        InputError: unreadable file or invalid YAML (with its line).
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no firmware catalogue (set settings.firmware_catalog in the inventory, "
            'or create it: README, "The catalogue: firmware.yaml")'
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{path.name}{where}: invalid YAML: {problem}") from None


def validate_catalog(path: Path) -> tuple[Catalog | None, list[Problem]]:
    """Read and check a catalogue; every problem is reported, each with its line.

    Args:
        path: the catalogue file.

    Returns:
        (the catalogue, or None when it has errors; the problems with line numbers).

    Raises:
        InputError: the file is missing or is not YAML at all.
    """
    from pydantic import ValidationError

    # The inventory's Problem and line finder: a catalogue problem is located the same way.
    from opskit.inventory import Problem, locate_problems

    data = read_yaml(path)
    if data is None:
        data = {}
    problems: list[Problem] = []
    if not isinstance(data, dict):
        problems.append(Problem("error", path, (), "the catalogue must be a mapping"))
        return None, locate_problems(problems)
    try:
        parsed = _models().model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            problems.append(Problem("error", path, loc, _pydantic_message(err)))
        return None, locate_problems(problems)

    releases: dict[str, tuple[Release, ...]] = {}
    written: dict[str, str] = {}  # canonical platform -> the name the catalogue used

    def canonical(platform: str, where: KeyPath) -> str:
        # An alias (`cisco_ios_ssh`) files its releases under its family (`cisco_ios`),
        # as the devices are judged; listing both would make two lists for one platform.
        name = resolve(platform).name
        if written.setdefault(name, platform) != platform:
            problems.append(
                Problem(
                    "error",
                    path,
                    where,
                    f"{platform}: the same platform as '{written[name]}' (list it once)",
                )
            )
        return name

    for platform, entry in parsed.platforms.items():
        key = canonical(platform, ("platforms", platform))
        out: list[Release] = []
        seen: dict[tuple[Any, ...], int] = {}
        for i, rel in enumerate(entry.releases):
            where: KeyPath = ("platforms", platform, "releases", i, "version")
            v = parse_version(platform, rel.version)
            if not isinstance(v, Version):
                problems.append(
                    Problem(
                        "error",
                        path,
                        where,
                        f"{platform}: '{rel.version}' is not a {family_of(platform)} version",
                    )
                )
                continue
            ident = (v, tuple(sorted(rel.models)))
            if ident in seen:
                problems.append(
                    Problem(
                        "error",
                        path,
                        where,
                        f"{platform}: {v} is listed twice (see entry {seen[ident]})",
                    )
                )
                continue
            seen[ident] = i
            out.append(
                Release(
                    platform=key,
                    version=v,
                    status=rel.status,
                    date=rel.date,
                    advisories=tuple(rel.advisories),
                    models=tuple(rel.models),
                    note=rel.note,
                )
            )
        releases[key] = tuple(out)

    def check_policy(platform: str, pol: Any, where: KeyPath) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in ("minimum", "target"):
            text = getattr(pol, key)
            if text is None:
                continue
            if not parse_version(platform, text).known:
                problems.append(
                    Problem(
                        "error",
                        path,
                        (*where, key),
                        f"policy {key} '{text}' is not a {family_of(platform)} version",
                    )
                )
            out[key] = text
        return out

    platform_policy = {
        resolve(p).name: check_policy(p, pol, ("policy", "platforms", p))
        for p, pol in parsed.policy.platforms.items()
    }
    site_policy = {
        site: {
            resolve(p).name: check_policy(p, pol, ("policy", "sites", site, p))
            for p, pol in per.items()
        }
        for site, per in parsed.policy.sites.items()
    }
    # A device entry has no platform here: its versions are checked against the device's
    # platform when `firmware check` merges the policy.
    device_policy = {
        d: {k: v for k, v in (("minimum", pol.minimum), ("target", pol.target)) if v}
        for d, pol in parsed.policy.devices.items()
    }
    if problems:
        return None, locate_problems(problems)
    return (
        Catalog(
            path=path,
            releases=releases,
            platform_policy=platform_policy,
            site_policy=site_policy,
            device_policy=device_policy,
        ),
        [],
    )


def load_catalog(path: Path) -> Catalog:
    """Load a catalogue for a command; any problem stops with `file:line: message`.

    Raises:
        InputError: naming the first problem (and how many more).
    """
    catalog, problems = validate_catalog(path)
    if catalog is None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        first = problems[0] if problems else f"{path.name}: invalid catalogue"
        raise InputError(f"{first}{more}")
    return catalog
