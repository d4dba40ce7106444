"""Restore a stored config onto a device: diff first, then TFTP (`copy tftp:
running-config`) or SSH config mode.

`plan_restore` reads the version from the git history and the device's running config
(over its CLI), and diffs them; `push_restore` sends it. A version whose secrets were
scrubbed is never pushed: its `<removed>` markers would replace the device's real passwords
and keys. Shops that restore from history back up with `keep_secrets: true`.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import re
import secrets
import time
from dataclasses import dataclass, field

from opskit.backup.fetch import fetch_method, fetch_request
from opskit.backup.fetch_tftp import device_address, shared_server, tftp_settings
from opskit.backup.fetchers import get_fetcher
from opskit.backup.service import device_path, device_timeout, open_store
from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.inventory import Device, Inventory
from opskit.platforms import Profile, load_profile, not_supported
from opskit.platforms.clean import SALTED_MARKER, SECRET_MARKER, prepare, scrub
from opskit.targets import cli_target
from opskit.transport.cli import dialog_error, open_cli, run_dialog
from opskit.transport.tftp import TftpError

log = logging.getLogger(__name__)

METHODS = ("tftp", "ssh")
# Lines of a stored config that are not config commands (headers, comments, the end).
_NOT_COMMANDS = re.compile(
    r"^(?:!.*|Building configuration.*|Current configuration.*|end|\s*)$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """What a restore would do: the stored version, the device's current config, the diff."""

    device: str
    path: str
    rev: str  # full commit id
    method: str
    diff: str  # unified diff current -> stored, with secret values masked
    scrubbed_lines: int  # lines of the stored version whose secrets were removed
    bytes: int
    stored: str = field(repr=False)

    @property
    def changes(self) -> bool:
        """True when the device's running config differs from the stored version."""
        return bool(self.diff)

    @property
    def pushable(self) -> bool:
        """False when the stored version lost its secrets to scrubbing."""
        return self.scrubbed_lines == 0

    def result(
        self, status: str, reason: str | None = None, bytes: int = 0, duration: float = 0.0
    ) -> RestoreResult:
        """A `RestoreResult` for this plan."""
        return RestoreResult(
            self.device, self.rev, self.method, status, self.diff, bytes, reason, duration
        )

    def refusal(self) -> str:
        """Why this version must not be pushed (empty when it may)."""
        if self.pushable:
            return ""
        return (
            f"{self.device}: refusing to restore {self.rev[:10]}: its secrets were scrubbed "
            f"({self.scrubbed_lines} line(s) with {SECRET_MARKER}); pushing it would wipe the "
            "device's passwords and keys. Back it up with `backup.keep_secrets: true` "
            "(or `backup run --keep-secrets`) to restore from the history"
        )


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """The outcome of `opskit backup restore` (the `--json` shape)."""

    device: str
    rev: str
    method: str
    status: str  # "pushed" | "dry-run" | "unchanged" | "refused" | "failed" | "declined"
    diff: str
    bytes: int = 0
    reason: str | None = None
    duration: float = 0.0
    # After a push: what still differs (a merge such as `copy tftp: running-config` does not
    # remove lines added since the stored version); None when not checked.
    remaining: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the restore was refused, declined or failed."""
        return self.status in ("pushed", "dry-run", "unchanged")


def _device(inventory: Inventory, name: str) -> Device:
    device = inventory.devices.get(name)
    if device is None:
        known = difflib.get_close_matches(name, list(inventory.devices), n=1)
        hint = f" (did you mean '{known[0]}'?)" if known else ""
        raise InputError(f"unknown device '{name}'{hint}")
    return device


def _cli_method(device: Device) -> str:
    method = fetch_method(device)
    if method in ("ssh", "telnet"):
        return method
    via = str((device.backup or {}).get("via") or "")
    return via if via in ("ssh", "telnet") else "ssh"


def default_method(device: Device) -> str:
    """`tftp` for devices backed up by TFTP, else `ssh`."""
    return "tftp" if fetch_method(device) == "tftp" else "ssh"


def scrubbed_lines(text: str) -> int:
    """Lines carrying a scrubbing marker.

    >>> scrubbed_lines("enable secret 5 <removed>\\nhostname r1\\n")
    1
    """
    return sum(1 for ln in text.split("\n") if SECRET_MARKER in ln or SALTED_MARKER in ln)


def fetch_running(inventory: Inventory, device: Device, profile: Profile) -> str:
    """The device's running config over its CLI (ssh/telnet fetcher), cleaned, secrets kept.

    Raises:
        DeviceError: the fetch failed.
    """
    method = _cli_method(device)
    request = fetch_request(
        inventory, device, profile, method=method, timeout=device_timeout(inventory, device)
    )
    raw = get_fetcher(method)(request)
    return prepare(raw, profile, keep_secrets=True)


def plan_restore(
    inventory: Inventory, device_name: str, rev: str | None = None, method: str | None = None
) -> RestorePlan:
    """Read the stored version and the running config, and diff them.

    Args:
        inventory: the loaded inventory.
        device_name: the device to restore.
        rev: a commit (id, `HEAD~2`, ...) of the backup history; default the newest.
        method: `tftp` or `ssh`; default `tftp` for devices backed up by TFTP, else `ssh`.

    Raises:
        InputError: unknown device, method or revision; no stored version.
        DeviceError: the device's running config could not be read.
    """
    device = _device(inventory, device_name)
    chosen = method or default_method(device)
    if chosen not in METHODS:
        raise InputError(f"restore method must be one of {', '.join(METHODS)}, not '{chosen}'")
    profile = load_profile(device.platform)
    refused = not_supported(profile, "tftp_pull" if chosen == "tftp" else "restore")
    if refused:
        raise InputError(f"{device.name}: {refused}")
    store = open_store(inventory)
    path = device_path(device)
    if store.head() is None:
        raise InputError(f"{device.name}: no backup history in {store.root}")
    try:
        commit = store.resolve(rev or "HEAD")
    except Exception as exc:
        raise InputError(f"{device.name}: {exc}") from None
    stored = store.read(path, commit)
    if stored is None:
        raise InputError(f"{device.name}: {path} is not in revision {commit[:10]}")
    current = fetch_running(inventory, device, profile)
    diff = masked_diff(
        current, stored, profile, f"{device.name} (running)", f"{path} @ {commit[:10]}"
    )
    return RestorePlan(
        device=device.name,
        path=path,
        rev=commit,
        method=chosen,
        diff=diff,
        scrubbed_lines=scrubbed_lines(stored),
        bytes=len(stored.encode()),
        stored=stored,
    )


def masked_diff(current: str, stored: str, profile: Profile, from_name: str, to_name: str) -> str:
    """Unified diff running -> stored, with secret values masked on both sides.

    The diff is shown and printed as JSON, so it never carries a password (a change of a
    secret value alone shows as no change).
    """
    return "".join(
        difflib.unified_diff(
            scrub(current, profile).splitlines(keepends=True),
            scrub(stored, profile).splitlines(keepends=True),
            fromfile=from_name,
            tofile=to_name,
        )
    )


def changed_lines(diff: str) -> int:
    """Lines a unified diff adds or removes (headers not counted).

    >>> changed_lines("--- a\\n+++ b\\n@@ -1 +1 @@\\n-x\\n+y\\n")
    2
    """
    return sum(
        1 for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    )


def config_lines(text: str) -> list[str]:
    """The commands of a stored config, for config mode (comments and `end` dropped).

    >>> config_lines("!\\nhostname r1\\ninterface Gi0/1\\n description up\\nend\\n")
    ['hostname r1', 'interface Gi0/1', ' description up']
    """
    return [ln for ln in text.split("\n") if not _NOT_COMMANDS.match(ln)]


def push_restore(inventory: Inventory, plan: RestorePlan, timeout: float = 120.0) -> RestoreResult:
    """Push `plan`'s stored version to the device (never a scrubbed one).

    Returns:
        A `RestoreResult` with status `pushed`, `refused` or `failed` (one-line reason).
    """
    t0 = time.monotonic()
    if not plan.pushable:
        return RestoreResult(
            plan.device, plan.rev, plan.method, "refused", plan.diff, reason=plan.refusal()
        )
    device = _device(inventory, plan.device)
    profile = load_profile(device.platform)
    try:
        if plan.method == "tftp":
            _push_tftp(inventory, device, profile, plan, timeout)
        else:
            _push_ssh(inventory, device, profile, plan, timeout)
    except (DeviceError, InputError) as exc:
        reason = str(exc)
        if not reason.startswith(f"{plan.device}:"):
            reason = f"{plan.device}: {reason}"
        return RestoreResult(
            plan.device,
            plan.rev,
            plan.method,
            "failed",
            plan.diff,
            reason=reason,
            duration=time.monotonic() - t0,
        )
    log.info("%s: restored %s via %s", plan.device, plan.rev[:10], plan.method)
    remaining: str | None = None
    try:
        current = fetch_running(inventory, device, profile)
        remaining = masked_diff(
            current, plan.stored, profile, f"{device.name} (running, after)", plan.path
        )
    except DeviceError as exc:  # the push went through; only the check could not run
        log.warning("%s: could not re-read the running config: %s", device.name, exc)
    return RestoreResult(
        plan.device,
        plan.rev,
        plan.method,
        "pushed",
        plan.diff,
        plan.bytes,
        duration=time.monotonic() - t0,
        remaining=remaining,
    )


def _push_tftp(
    inventory: Inventory, device: Device, profile: Profile, plan: RestorePlan, timeout: float
) -> None:
    dialog = profile.tftp_pull
    if dialog is None:
        raise InputError(f"{device.name}: {not_supported(profile, 'tftp_pull')}")
    cfg = tftp_settings(inventory.settings)
    server = shared_server(cfg)
    name = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', device.name)[:60]}-restore-{secrets.token_hex(6)}.cfg"
    served = server.offer_file(
        name, plan.stored.encode(), peer=device_address(device, device.backup)
    )
    try:
        target = cli_target(inventory, device, method=_cli_method(device), timeout=timeout)
        with open_cli(target) as conn:
            output = run_dialog(conn, dialog, cfg.address, name, timeout)
        error = dialog_error(dialog, output)
        if error:
            raise DeviceError(f"{device.name}: copy tftp: running-config failed: {error}")
        # The device says it copied the file. Its last ACK is never confirmed in TFTP, so
        # the server may not have seen it: the device's word decides, the record is a log.
        with contextlib.suppress(TimeoutError, TftpError):
            served.result(timeout=3.0)
    finally:
        served.cancel()  # the one-time offer goes away whatever happened


def _push_ssh(
    inventory: Inventory, device: Device, profile: Profile, plan: RestorePlan, timeout: float
) -> None:
    lines = config_lines(plan.stored)
    # Config mode over the device's CLI login (SSH; Telnet for devices only reachable so).
    target = cli_target(inventory, device, method=_cli_method(device), timeout=timeout)
    with open_cli(target) as conn:
        try:
            output = conn.send_config_set(lines, cmd_verify=False, read_timeout=timeout)
        except Exception as exc:
            raise DeviceTimeout(
                f"{device.name}: config mode push failed: {type(exc).__name__}"
            ) from None
    rejected = [
        ln.strip()
        for ln in str(output).replace("\r", "\n").split("\n")
        if any(p.search(ln.strip()) for p in profile.errors)
    ]
    if rejected:
        raise DeviceError(
            f"{device.name}: the device rejected {len(rejected)} line(s) in config mode "
            f"(first: {rejected[0][:100]!r})"
        )
