"""The backup pipeline: fetch (parallel) -> checks -> clean + scrub -> git (one thread).

Public entry points:

* `run_backup(inventory, devices, ...) -> BackupReport`: what `opskit backup run` does;
* `store_fetched(inventory, device, raw_text, ...) -> DeviceResult`: the same checks,
  cleaning, scrubbing and commit for a config some other path already fetched (the TFTP
  server's router-pushed uploads);
* `device_path(device)`, `open_store(inventory)`: where a device's config lives.

The CLI session is `opskit.transport.cli`'s; its target (credentials, timeouts) comes from
`opskit.targets`.

Services never print; they return frozen dataclasses and call `progress` callbacks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opskit.backup.checks import check_output, check_shrink
from opskit.backup.fetch import fetch_method, fetch_request
from opskit.backup.fetchers import get_fetcher
from opskit.errors import DeviceError, InputError, OpskitError
from opskit.inventory import Device, Inventory
from opskit.platforms import Profile, load_profile
from opskit.platforms.clean import clean, normalize, prepare, scrub
from opskit.runner import Deadline, Result, run_threads
from opskit.store import GitStore, StoreError, device_path, open_store
from opskit.store.remote import PushResult, Remote
from opskit.store.state import DeviceState, load_state, save_state
from opskit.targets import cli_timeout
from opskit.transport.cli import mask_secrets

if TYPE_CHECKING:
    from opskit.transport.hostkeys import TrustResult

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16
LOCK_TIMEOUT = 300.0
# A device's state while its config is being committed (what stays if the run dies there).
UNFINISHED = "the run ended before the config was stored (killed, or the disk is full)"


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """One device's outcome in a run (the `--json` shape)."""

    device: str
    site: str
    method: str
    status: str  # "ok" | "failed"
    reason: str | None = None
    changed: bool = False
    bytes: int = 0
    duration: float = 0.0
    commit: str | None = None
    path: str | None = None

    @property
    def ok(self) -> bool:
        """True when the device's config was fetched and stored (or unchanged)."""
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class BackupReport:
    """The outcome of one run."""

    repo: Path
    results: tuple[DeviceResult, ...]
    commit: str | None = None
    duration: float = 0.0
    started: str = ""
    push: PushResult | None = None  # with settings.backup_remote

    @property
    def ok(self) -> bool:
        """True when every selected device succeeded (and the push, with a remote)."""
        return all(r.ok for r in self.results) and (self.push is None or self.push.ok)

    @property
    def failed(self) -> list[DeviceResult]:
        """The devices that failed."""
        return [r for r in self.results if not r.ok]

    @property
    def changed(self) -> list[DeviceResult]:
        """The devices whose stored config changed."""
        return [r for r in self.results if r.changed]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of the report."""
        return {
            "ok": self.ok,
            "repo": str(self.repo),
            "commit": self.commit,
            "started": self.started,
            "duration": round(self.duration, 3),
            "push": self.push.to_dict() if self.push else None,
            "summary": {
                "devices": len(self.results),
                "ok": sum(r.ok for r in self.results),
                "failed": len(self.failed),
                "changed": len(self.changed),
            },
            "devices": [
                {
                    "device": r.device,
                    "site": r.site,
                    "method": r.method,
                    "status": r.status,
                    "reason": r.reason,
                    "changed": r.changed,
                    "bytes": r.bytes,
                    "duration": round(r.duration, 3),
                    "commit": r.commit,
                    "path": r.path,
                }
                for r in self.results
            ],
        }


@dataclass
class _Prepared:
    """A fetched config after checks/clean/scrub, waiting for the store step."""

    device: Device
    method: str
    profile: Profile | None
    text: str | None = None
    reason: str | None = None
    duration: float = 0.0
    force: bool = False
    started: float = field(default_factory=time.time)
    audit: tuple[Any, ...] = ()  # opskit.audit's secret-value findings (never a value)


def open_remote(store: GitStore, inventory: Inventory) -> Remote | None:
    """The store's `settings.backup_remote` (None without one).

    Raises:
        InputError: its credentials or key file cannot be read.
    """
    spec = inventory.settings.backup_remote
    return None if spec is None else Remote(store, inventory, spec)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _keep_secrets(device: Device, run_flag: bool) -> bool:
    return bool(run_flag or (device.backup or {}).get("keep_secrets", False))


def device_timeout(inventory: Inventory, device: Device) -> float:
    """Seconds one device's fetch may take: `backup.timeout`, else connect + command."""
    return cli_timeout(inventory, device)


class ValueInspector(Protocol):
    """Looks at a fetched config before its secrets are scrubbed, and keeps what it found
    beside the version stored. `opskit.audit.VALUE_INSPECTOR` is one (the rules that need
    a secret's value); the commands hand it to `run_backup` / `store_fetched`, so backup
    imports no other capability.
    """

    def check(
        self, platform: str, text: str, scrub: Callable[[str], str]
    ) -> tuple[Any, ...]:  # pragma: no cover - a protocol
        """Findings for the cleaned, unscrubbed `text` (never a secret value in them)."""
        ...

    def record(
        self, state_dir: Path, entries: Sequence[tuple[str, str, tuple[Any, ...]]]
    ) -> object:  # pragma: no cover - a protocol
        """Keep (device, stored text, findings) of the devices stored this run."""
        ...


def _inspect(
    inspector: ValueInspector | None, device: Device, raw: str, profile: Profile
) -> tuple[Any, ...]:
    if inspector is None:
        return ()
    try:
        return inspector.check(
            device.platform, clean(raw, profile), lambda line: scrub(line, profile)
        )
    except Exception as exc:  # never fail a backup for its inspection (and name no value)
        log.warning("%s: config inspection failed: %s", device.name, type(exc).__name__)
        return ()


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A device's config after fetch, checks, cleaning and scrubbing."""

    profile: Profile
    text: str
    audit: tuple[Any, ...] = ()


def _fetch_one(
    inventory: Inventory,
    device: Device,
    deadline: Deadline,
    keep_secrets: bool,
    inspector: ValueInspector | None,
) -> _Fetched:
    """Fetch, check, clean and scrub one device (runs in a runner thread).

    Raises:
        DeviceError: one line, no secret in it (reasons go to cron mail, --json and the
            state file).
    """
    secrets: list[str] = []
    try:
        profile = load_profile(device.platform)
        method = fetch_method(device)
        fetcher = get_fetcher(method)
        request = fetch_request(
            inventory, device, profile, method=method, timeout=deadline.remaining()
        )
        secrets = request.target.secret_values()
        raw = fetcher(request)
        reason = check_output(raw, profile)
        if reason:
            raise DeviceError(reason)
        text = prepare(raw, profile, keep_secrets=keep_secrets)
        return _Fetched(profile, text, _inspect(inspector, device, raw, profile))
    except Exception as exc:  # a fetcher bug must not stop the other devices either
        if isinstance(exc, OpskitError):
            # opskit's own messages place no secret (the transports mask what they quote)
            message = str(exc)
        else:
            log.debug("fetch of %s failed", device.name, exc_info=True)
            message = f"internal error: {type(exc).__name__}: {mask_secrets(str(exc), secrets)}"
        first = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
        raise DeviceError(first or "failed") from None


def _prepared(device: Device, result: Result[_Fetched], force: bool) -> _Prepared:
    fetched = result.value
    return _Prepared(
        device=device,
        method=fetch_method(device),
        profile=fetched.profile if fetched else None,
        text=fetched.text if fetched else None,
        reason=result.reason,
        duration=result.duration,
        force=force,
        audit=fetched.audit if fetched else (),
    )


def _check_and_prepare(
    prepared: _Prepared,
    raw: str,
    profile: Profile,
    keep_secrets: bool,
    inspector: ValueInspector | None,
) -> None:
    reason = check_output(raw, profile)
    if reason:
        prepared.reason = reason
        return
    prepared.text = prepare(raw, profile, keep_secrets=keep_secrets)
    prepared.audit = _inspect(inspector, prepared.device, raw, profile)


def _store(
    store: GitStore,
    inventory: Inventory,
    items: Sequence[_Prepared],
    *,
    lock_timeout: float,
    title: str,
    inspector: ValueInspector | None = None,
    remote: Remote | None = None,
) -> tuple[list[DeviceResult], str | None, PushResult | None]:
    """Shrink checks, change detection, one commit and the state update (one thread);
    with a remote, fetch before (to compare with the newest) and push after."""
    settings = inventory.settings
    paths = [device_path(p.device) for p in items]
    results: list[DeviceResult] = []
    with store.lock(timeout=lock_timeout):
        if remote is not None:
            remote.sync()
        previous = store.read_many(paths)
        changed: dict[str, str] = {}
        changed_names: list[str] = []
        for item, path in zip(items, paths, strict=True):
            text, reason = item.text, item.reason
            old = previous.get(path)
            is_changed = False
            if text is not None and reason is None:
                assert item.profile is not None
                reason = check_shrink(text, old, settings.backup_shrink_limit, item.force)
                if reason is None and (
                    old is None or normalize(old, item.profile) != normalize(text, item.profile)
                ):
                    changed[path] = text
                    changed_names.append(item.device.name)
                    is_changed = True
            results.append(
                DeviceResult(
                    device=item.device.name,
                    site=item.device.site,
                    method=item.method,
                    status="failed" if reason else "ok",
                    reason=reason,
                    changed=is_changed,
                    bytes=len(text.encode()) if text is not None and not reason else 0,
                    duration=item.duration,
                    path=path,
                )
            )
        commit = None
        if changed:
            names = ", ".join(changed_names[:10]) + (
                f" and {len(changed_names) - 10} more" if len(changed_names) > 10 else ""
            )
            body = "\n".join(f"{p}" for p in sorted(changed))
            message = f"{title}: {len(changed)} changed: {names}\n\n{body}\n"
            # Until the commit and the final state are written, these devices' last
            # attempt reads as failed: a run that dies in between (killed, a full disk
            # that even the state cannot be written to) is never reported OK.
            _update_state(inventory, [replace(r, status="failed", reason=UNFINISHED)
                                      for r in results if r.changed], None)  # fmt: skip
            try:
                commit = store.commit(changed, message)
            except StoreError as exc:
                results = [
                    replace(r, status="failed", reason=str(exc), changed=False, bytes=0)
                    if r.changed
                    else r
                    for r in results
                ]
        try:
            store.catch_up_worktree(
                {p: text for p, text in previous.items() if text is not None and p not in changed}
            )
        except OSError as exc:  # the history is whole; only the copies are behind
            log.warning("%s: work tree copies not caught up: %s", store.root, exc.strerror or exc)
        results = [replace(r, commit=commit) if r.changed else r for r in results]
        if inspector is not None:  # beside the version stored, under the lock
            stored = zip(items, paths, results, strict=True)
            checked = [
                (i.device.name, changed.get(p) or previous[p] or "", i.audit)
                for i, p, r in stored
                if r.ok
            ]
            inspector.record(settings.state_dir, checked)
        _update_state(inventory, results, commit)
        # The commit is safe here before the push: a kill now leaves it for the next run.
        pushed = remote.push() if remote is not None else None
    return results, commit, pushed


def _update_state(
    inventory: Inventory, results: Sequence[DeviceResult], commit: str | None
) -> None:
    state_dir = inventory.settings.state_dir
    states = load_state(state_dir)
    now = _now()
    for r in results:
        old = states.get(r.device, DeviceState(device=r.device))
        if r.ok:
            states[r.device] = replace(
                old,
                last_attempt=now,
                last_status="ok",
                last_reason=None,
                last_good=now,
                last_change=now if r.changed else old.last_change,
                last_commit=commit if r.changed else old.last_commit,
                path=r.path,
                method=r.method,
                bytes=r.bytes,
            )
        else:
            states[r.device] = replace(
                old,
                last_attempt=now,
                last_status="failed",
                last_reason=r.reason,
                path=r.path,
                method=r.method,
            )
    try:
        save_state(state_dir, states)
    except OSError as exc:
        raise StoreError(
            f"cannot write the backup state in {state_dir}: {exc.strerror or exc}"
        ) from None


def run_backup(
    inventory: Inventory,
    devices: Sequence[Device],
    *,
    workers: int | None = None,
    force: Collection[str] = (),
    keep_secrets: bool = False,
    progress: Callable[[DeviceResult], None] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    inspector: ValueInspector | None = None,
    title: str = "opskit backup run",
) -> BackupReport:
    """Back up `devices`: fetch in parallel, then store every good config in one commit
    (its message starts with `title`); with `settings.backup_remote`, push it.

    A device that fails (login, timeout, a check) is reported with a one-line reason and
    its stored config is left untouched; the others go on. `force` names devices whose
    shrink check is skipped. `progress` is called once per device when its fetch is done
    (in the calling thread, in completion order), with a provisional result (not yet
    stored). The fetches fan out through `opskit.runner` (threads; per-device deadline
    `device_timeout`).

    Raises:
        RepoLocked: another run held the repository lock for `lock_timeout` seconds.
    """
    t0 = time.monotonic()
    started = _now()
    store = open_store(inventory)
    store.ensure()
    remote = open_remote(store, inventory)  # a bad remote fails before any device is fetched
    exposure = store.exposure()
    if exposure:
        log.warning("%s", exposure)
    n_workers = max(1, min(workers or inventory.settings.workers or DEFAULT_WORKERS, 256))
    forced = set(force)

    def report(device: Device, result: Result[_Fetched]) -> None:
        if progress is not None:
            progress(
                DeviceResult(
                    device=device.name,
                    site=device.site,
                    method=fetch_method(device),
                    status="ok" if result.ok else "failed",
                    reason=result.reason,
                    duration=result.duration,
                )
            )

    fetched = run_threads(
        devices,
        lambda d, deadline: _fetch_one(
            inventory, d, deadline, _keep_secrets(d, keep_secrets), inspector
        ),
        name=lambda d: d.name,
        label=lambda d: d.label(),
        seconds=lambda d: device_timeout(inventory, d),
        workers=n_workers,
        what="fetch",
        on_result=report,
        thread_name="backup",
    )
    items = [_prepared(d, r, d.name in forced) for d, r in zip(devices, fetched, strict=True)]
    results, commit, pushed = _store(
        store,
        inventory,
        items,
        lock_timeout=lock_timeout,
        title=title,
        inspector=inspector,
        remote=remote,
    )
    return BackupReport(
        repo=store.root,
        results=tuple(results),
        commit=commit,
        duration=time.monotonic() - t0,
        started=started,
        push=pushed,
    )


def store_fetched(
    inventory: Inventory,
    device: Device,
    raw_text: str,
    *,
    method: str = "tftp",
    force: bool = False,
    keep_secrets: bool | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    inspector: ValueInspector | None = None,
) -> DeviceResult:
    """Take a config someone else fetched through the same pipeline as `backup run`.

    For configs that arrive by other paths, e.g. a router's unsolicited TFTP upload to
    `opskit backup tftp-serve`: `raw_text` (the file's text as received) goes through the
    same output checks (empty, error output, missing end marker), volatile-line cleaning,
    secret scrubbing (unless `keep_secrets`, default: the device's `backup.keep_secrets`),
    the shrink check against the last good version (skipped with `force`), and is committed
    as `<site>/<device>.cfg` in its own commit under the repository lock (no commit when
    nothing but noise changed). The backup state (`backup status`) is updated as well.

    Returns a `DeviceResult` (status `ok`/`failed`, one-line `reason`, `changed`,
    `commit`). Never raises for a bad config; raises `RepoLocked` if the lock could not be
    had within `lock_timeout`, `InputError` when the device's platform has no profile.
    """
    t0 = time.monotonic()
    profile = load_profile(device.platform)
    keep = _keep_secrets(device, bool(keep_secrets)) if keep_secrets is None else keep_secrets
    item = _Prepared(device=device, method=method, profile=profile, force=force)
    _check_and_prepare(item, raw_text, profile, keep, inspector)
    if item.reason:
        item.text = None
    item.duration = time.monotonic() - t0
    store = open_store(inventory)
    results, _commit, _pushed = _store(
        store,
        inventory,
        [item],
        lock_timeout=lock_timeout,
        title=f"opskit backup ({method})",
        inspector=inspector,
        remote=open_remote(store, inventory),
    )
    return results[0]


def trust_device(
    inventory: Inventory, device: Device, fingerprint: str | None = None
) -> TrustResult:
    """Accept the SSH host key a device offers now, replacing the one on file (after a
    key change refused its backups); `fingerprint` pins the key expected.

    Raises:
        InputError: not an SSH device, or its host keys are not checked.
        DeviceError: no key read, or not the expected one.
    """
    from opskit.targets import host_key_target
    from opskit.transport.cli import trust_host_key

    if not device.host:
        raise InputError(f"{device.name}: no host to connect to")
    return trust_host_key(host_key_target(inventory, device), fingerprint)
