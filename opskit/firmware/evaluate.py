"""Judge one device's running version against the catalogue and the shop's policy.

Pure: no I/O. The statuses and their exit codes (as for checks, Nagios style):

====================  ====  =========================================================
status                code  when
====================  ====  =========================================================
vulnerable            2     the running release is listed as vulnerable
below-minimum         2     running < the policy's minimum
end-of-life           1     the running release is listed as end-of-life
deprecated            1     the running release is listed as deprecated
update-available      1     running < the target (policy target, else the recommended
                            release, else the newest release of the running train)
current               0     none of the above
unknown-version       3     no version known, or one the platform's scheme rejects
unknown-platform      0     the catalogue has no releases for the platform: the shop does
                            not track it (shown, but it does not page anyone)
====================  ====  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opskit.firmware.catalog import Catalog, Policy, Release
from opskit.firmware.versions import Version, parse_version

EXIT_CODES = {
    "current": 0,
    "update-available": 1,
    "deprecated": 1,
    "end-of-life": 1,
    "below-minimum": 2,
    "vulnerable": 2,
    "unknown-version": 3,
    # Shops rarely track every box's firmware (UPS cards, PDUs): a platform the catalogue
    # does not list is reported, but does not turn every run UNKNOWN.
    "unknown-platform": 0,
}
# "Worst of": OK < WARNING < UNKNOWN < CRITICAL, as the monitor capability orders them.
_SEVERITY = {
    "unknown-platform": 0,
    "current": 1,
    "update-available": 2,
    "deprecated": 3,
    "end-of-life": 4,
    "unknown-version": 5,
    "below-minimum": 6,
    "vulnerable": 7,
}
NAGIOS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def severity(status: str) -> int:
    """Rank of a status for "worst of" (higher is worse)."""
    return _SEVERITY[status]


def worst_exit_code(statuses: list[str]) -> int:
    """The exit code of the worst status (0 when there are none).

    >>> worst_exit_code(["current", "unknown-version", "update-available"])
    3
    >>> worst_exit_code(["unknown-platform", "vulnerable"])
    2
    >>> worst_exit_code(["unknown-platform", "current"])
    0
    """
    if not statuses:
        return 0
    return EXIT_CODES[max(statuses, key=severity)]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The verdict on one running version."""

    status: str
    reasons: tuple[str, ...] = ()
    advisories: tuple[str, ...] = ()
    family: str | None = None
    train: str | None = None
    target: str | None = None
    target_source: str | None = None
    minimum: str | None = None
    recommended: str | None = None
    newest_in_train: str | None = None
    newest: str | None = None
    release_status: str | None = None  # the running release's catalogue status
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return EXIT_CODES[self.status]


def _newest(releases: list[Release]) -> Release | None:
    return max(releases, key=lambda r: r.version) if releases else None


def evaluate(
    platform: str,
    running_text: str | None,
    catalog: Catalog,
    policy: Policy,
    model: str | None = None,
) -> Evaluation:
    """Judge a running version.

    Args:
        platform: the device's platform.
        running_text: the version string discovered (None when none is known).
        catalog: the release catalogue.
        policy: the merged policy for the device.
        model: the device's model (narrows model-specific releases).

    Returns:
        The evaluation (never raises for odd input: unknowns are statuses).
    """
    minimum = str(policy.minimum) if policy.minimum else None
    if not catalog.has_platform(platform):
        return Evaluation(
            "unknown-platform",
            (f"the catalogue has no releases for platform '{platform}'",),
            minimum=minimum,
            target=str(policy.target) if policy.target else None,
        )
    if not running_text:
        return Evaluation(
            "unknown-version",
            ("no running version known",),
            minimum=minimum,
            target=str(policy.target) if policy.target else None,
        )
    running = parse_version(platform, running_text)
    if not isinstance(running, Version):
        return Evaluation(
            "unknown-version",
            (f"'{running_text}' is not a {running.family} version",),
            family=running.family,
            minimum=minimum,
            target=str(policy.target) if policy.target else None,
        )

    # A device never leaves its line (ProCurve ROM family, AOS-CX switch family, EVO).
    releases = [
        r
        for r in catalog.releases_for(platform, model)
        if not running.line or not r.version.line or r.version.line == running.line
    ]
    in_train = [r for r in releases if r.version.train == running.train]
    newest = _newest(releases)
    newest_in_train = _newest(in_train)
    # A release narrowed to the device's model is the more specific advice: prefer it.
    recommended = None
    for pool in (
        [r for r in in_train if r.models],
        [r for r in releases if r.models],
        in_train,
        releases,
    ):
        recommended = _newest([r for r in pool if r.status == "recommended"])
        if recommended is not None:
            break

    target: Version | None
    if policy.target is not None:
        target, target_source = policy.target, policy.source.get("target", "policy")
    elif recommended is not None:
        target, target_source = recommended.version, "recommended release"
    elif newest_in_train is not None:
        target, target_source = newest_in_train.version, "newest release of the train"
    else:
        target, target_source = None, None

    entry = catalog.find(platform, running, model)
    found: list[str] = []
    reasons: list[str] = []
    advisories: tuple[str, ...] = entry.advisories if entry else ()
    if entry is None:
        reasons.append(f"{running} is not in the catalogue")
    elif entry.status == "vulnerable":
        found.append("vulnerable")
        ids = ", ".join(entry.advisories) or "no advisory ids listed"
        reasons.append(f"{running} is vulnerable ({ids})")
    if policy.minimum is not None and running < policy.minimum:
        found.append("below-minimum")
        reasons.append(f"{running} is below the minimum {policy.minimum}")
    if entry is not None and entry.status in ("end-of-life", "deprecated"):
        found.append(entry.status)
        reasons.append(f"{running} is {entry.status}")
    if target is not None and running < target:
        found.append("update-available")
        reasons.append(f"{target} is available ({target_source})")
    status = max(found, key=severity) if found else "current"
    return Evaluation(
        status=status,
        reasons=tuple(reasons),
        advisories=advisories,
        family=running.family,
        train=running.train,
        target=str(target) if target else None,
        target_source=target_source,
        minimum=minimum,
        recommended=str(recommended.version) if recommended else None,
        newest_in_train=str(newest_in_train.version) if newest_in_train else None,
        newest=str(newest.version) if newest else None,
        release_status=entry.status if entry else None,
    )
