"""Tell the inventory's channels about a backup run: one digest per run per channel.

`notify_run(inventory, report)` takes a backup report (anything shaped like
`opskit.backup.BackupReport`: `repo`, `commit`, `results` with `device`, `site`,
`status`, `reason`, `changed`, `path`) and returns a `NotifyReport`. It never raises for
a channel that fails: the message goes to the outbox and is retried next run, and the
report says so (the backup's commit stands either way).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opskit.errors import InputError, OpskitError
from opskit.notify.config import Channel, load_channels
from opskit.notify.digest import Change, Digest, Failure, Recovery
from opskit.notify.render import render_email, render_webhook
from opskit.notify.send import NotifyError, post_webhook, send_mail
from opskit.notify.state import (
    FailingDevice,
    load_failing,
    parse_time,
    pending,
    queue_message,
    save_failing,
    state_lock,
    update_attempt,
)

if TYPE_CHECKING:
    from opskit.inventory import Inventory

log = logging.getLogger(__name__)


class DeviceOutcome(Protocol):
    """One device's backup result, as notifications read it."""

    @property
    def device(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def changed(self) -> bool: ...
    @property
    def path(self) -> str | None: ...


class RunOutcome(Protocol):
    """A backup run, as notifications read it (`opskit.backup.BackupReport` fits)."""

    @property
    def repo(self) -> Path: ...
    @property
    def commit(self) -> str | None: ...
    @property
    def results(self) -> Sequence[DeviceOutcome]: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one channel: sent, queued in the outbox, or failed (a test)."""

    channel: str
    type: str  # email | webhook
    format: str  # email | slack | mattermost | teams | generic
    kind: str  # run | retry | test
    subject: str
    status: str  # sent | queued | failed
    answer: str | None = None  # what the server said
    error: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    truncated: bool = False
    queued_at: str | None = None

    @property
    def ok(self) -> bool:
        """True when the message was delivered."""
        return self.status == "sent"


@dataclass(frozen=True, slots=True)
class NotifyReport:
    """What notifications did for one run."""

    deliveries: tuple[Delivery, ...] = ()
    outbox: int = 0  # messages still waiting after this run
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every message was delivered (nothing queued, no error)."""
        return not self.errors and all(d.ok for d in self.deliveries)

    @property
    def failed(self) -> list[Delivery]:
        """Messages not delivered."""
        return [d for d in self.deliveries if not d.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (`backup run --json` puts it under `notify`)."""
        return {
            "ok": self.ok,
            "outbox": self.outbox,
            "errors": list(self.errors),
            "sent": [
                {
                    "channel": d.channel,
                    "type": d.type,
                    "format": d.format,
                    "kind": d.kind,
                    "subject": d.subject,
                    "status": d.status,
                    "answer": d.answer,
                    "error": d.error,
                    "counts": dict(d.counts),
                    "truncated": d.truncated,
                    "queued_at": d.queued_at,
                }
                for d in self.deliveries
            ],
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def deliver(channel: Channel, digest: Digest) -> tuple[str, str, bool]:
    """Render and send one digest; returns (server answer, subject, truncated).

    Raises:
        NotifyError: the channel did not take it (one line, no secret).
    """
    try:
        if channel.type == "email":
            message = render_email(channel, digest)
            answer = send_mail(channel, message)
            return answer, str(message["Subject"]), message["X-Opskit-Truncated"] is not None
        rendered = render_webhook(channel, digest)
        return post_webhook(channel, rendered), rendered.subject, rendered.truncated
    except NotifyError:
        raise
    except OpskitError as exc:  # an unset password variable, an unreadable key file
        raise NotifyError(str(exc)) from None


def _fmt(channel: Channel) -> str:
    return "email" if channel.type == "email" else channel.format


def _delivery(channel: Channel, digest: Digest, kind: str, **extra: Any) -> Delivery:
    from opskit.notify.digest import subject

    return Delivery(
        channel=channel.name,
        type=channel.type,
        format=_fmt(channel),
        kind=kind,
        subject=extra.pop("subject", None) or subject(digest),
        counts=digest.counts(),
        **extra,
    )


@dataclass(frozen=True, slots=True)
class _RemoteOutcome:
    """The push to `settings.backup_remote`, told like a device: a failure once, then its
    recovery (every channel hears it: it is the whole history's, not one site's)."""

    status: str
    reason: str | None
    device: str = "remote"
    site: str = "git"
    changed: bool = False
    path: str | None = None
    # its key in the failing state: a '/' no device name may hold, so no device shares it
    key: str = "git/remote"
    recovered: str = "pushed again"


def _remote_outcome(run: RunOutcome) -> list[_RemoteOutcome]:
    push = getattr(run, "push", None)  # a BackupReport with settings.backup_remote
    if push is None:
        return []
    if push.ok:
        return [_RemoteOutcome("ok", None)]
    return [_RemoteOutcome("failed", f"push to {push.remote} failed: {push.error}")]


def build_digest(
    channel: Channel,
    run: RunOutcome,
    failing: dict[str, FailingDevice],
    *,
    tags: Mapping[str, tuple[str, ...]],
    diffs: Mapping[str, str],
    now: dt.datetime,
    changed_by: Mapping[str, str] | None = None,
    findings: Mapping[str, Sequence[str]] | None = None,
    source: str = "",
) -> Digest:
    """This run's digest for `channel`, updating its `failing` state in place.

    A failure is told once, then again (as "still failing since ...") only when
    `repeat_after` has passed since it was last told; a recovery is told once.
    """
    stamp = now.isoformat()
    changes: list[Change] = []
    failures: list[Failure] = []
    recoveries: list[Recovery] = []
    track = channel.wants("failures") or channel.wants("recoveries")
    for r in [*run.results, *_remote_outcome(run)]:
        remote = r if isinstance(r, _RemoteOutcome) else None
        if remote is None and not channel.covers(r.site, tags.get(r.device, ())):
            continue
        key = remote.key if remote else r.device
        known = failing.get(key)
        if r.status != "ok":
            if not track:
                continue
            reason = r.reason or "failed"
            if known is None:
                failing[key] = FailingDevice(since=stamp, reported=stamp, reason=reason)
                if channel.wants("failures"):
                    failures.append(Failure(r.device, r.site, reason, stamp))
                continue
            last = parse_time(known.reported)
            if last is None or (now - last).total_seconds() >= channel.repeat_after:
                failing[key] = replace(known, reported=stamp, reason=reason)
                if channel.wants("failures"):
                    failures.append(Failure(r.device, r.site, reason, known.since, repeat=True))
            continue
        if known is not None:
            del failing[key]
            if channel.wants("recoveries"):
                what = remote.recovered if remote else "backed up again"
                recoveries.append(Recovery(r.device, r.site, known.since, what))
        if r.changed and channel.wants("changes") and r.path:
            changes.append(
                Change(
                    device=r.device,
                    site=r.site,
                    path=r.path,
                    diff=diffs.get(r.path, ""),
                    changed_by=(changed_by or {}).get(r.device),
                    findings=tuple((findings or {}).get(r.device, ())),
                )
            )
    return Digest(
        kind="run",
        started=stamp,
        commit=run.commit,
        repo=str(run.repo),
        changes=tuple(changes),
        failures=tuple(failures),
        recoveries=tuple(recoveries),
        source=source,
    )


def _collect_diffs(
    inventory: Inventory, run: RunOutcome, channels: Sequence[Channel], keep_secrets: bool
) -> dict[str, str]:
    from opskit.notify.gitdiff import commit_diffs, scrubbed_diff

    changed = [r for r in run.results if r.changed and r.status == "ok" and r.path]
    if not run.commit or not changed or not any(c.wants("changes") for c in channels):
        return {}
    repo = Path(run.repo)
    plain: list[tuple[DeviceOutcome, Any]] = []
    secret_keeping: list[tuple[DeviceOutcome, Any]] = []
    for r in changed:
        device = inventory.devices.get(r.device)
        keeps = keep_secrets or bool(
            device is not None and (device.backup or {}).get("keep_secrets")
        )
        (secret_keeping if keeps else plain).append((r, device))
    diffs = commit_diffs(repo, run.commit, [r.path for r, _ in plain if r.path])
    for r, device in secret_keeping:
        assert r.path is not None
        platform = device.platform if device is not None else "unknown"
        diffs[r.path] = scrubbed_diff(repo, run.commit, r.path, platform)
    return diffs


def _retry_outbox(
    state_dir: Path, channels: Mapping[str, Channel]
) -> tuple[list[Delivery], set[str]]:
    deliveries: list[Delivery] = []
    down: set[str] = set()
    for item in pending(state_dir):
        channel = channels.get(item.channel)
        if channel is None:
            log.warning(
                "outbox: channel %s is no longer in the inventory; dropping its message of %s",
                item.channel,
                item.queued,
            )
            item.path.unlink(missing_ok=True)
            continue
        if channel.name in down:
            continue  # it just failed: don't wait for another timeout
        try:
            answer, subj, cut = deliver(channel, item.digest)
        except NotifyError as exc:
            update_attempt(item, str(exc))
            down.add(channel.name)
            deliveries.append(
                _delivery(
                    channel,
                    item.digest,
                    "retry",
                    status="queued",
                    error=str(exc),
                    queued_at=item.queued,
                )
            )
            continue
        item.path.unlink(missing_ok=True)
        deliveries.append(
            _delivery(
                channel,
                item.digest,
                "retry",
                status="sent",
                answer=answer,
                subject=subj,
                truncated=cut,
                queued_at=item.queued,
            )
        )
    return deliveries, down


def notify_run(
    inventory: Inventory,
    run: RunOutcome,
    *,
    channels: Sequence[Channel] | None = None,
    keep_secrets: bool = False,
    changed_by: Mapping[str, str] | None = None,
    findings: Mapping[str, Sequence[str]] | None = None,
    lock_timeout: float = 120.0,
    source: str = "",
) -> NotifyReport:
    """Send this run's digest to every channel that has something to say; retry the outbox.

    Args:
        inventory: the loaded inventory (channels, device tags, `settings.state_dir`).
        run: the backup report (its commit and per-device results).
        channels: the channels (default: the inventory's `notify:` list).
        keep_secrets: the run stored secrets (`backup run --keep-secrets`): every diff is
            scrubbed before it is sent, as for a device with `backup.keep_secrets`.
        changed_by: device -> who configured it ("admin on vty0"), from syslog.
        findings: device -> lines on hardening findings this change made new or fixed
            (the caller runs the audit: `opskit.audit.audit_changes`).
        lock_timeout: how long to wait for another process sending notifications.
        source: what made the run, for the message's first line (default "opskit
            backup run").

    Returns:
        A `NotifyReport`: what was sent where, what was queued, and errors.

    Raises:
        InputError: the `notify:` list is invalid (only when `channels` is None).
    """
    if channels is None:
        channels = load_channels(inventory)
    if not channels:
        return NotifyReport()
    state_dir = Path(inventory.settings.state_dir)
    by_name = {c.name: c for c in channels}
    try:
        with state_lock(state_dir, lock_timeout):
            deliveries, down = _retry_outbox(state_dir, by_name)
            failing = load_failing(state_dir)
            tags = {name: tuple(d.tags) for name, d in inventory.devices.items()}
            diffs = _collect_diffs(inventory, run, channels, keep_secrets)
            now = _now()
            for channel in channels:
                digest = build_digest(
                    channel,
                    run,
                    failing.setdefault(channel.name, {}),
                    tags=tags,
                    diffs=diffs,
                    now=now,
                    changed_by=changed_by,
                    findings=findings,
                    source=source,
                )
                if digest.empty:
                    continue
                deliveries.append(_send_or_queue(state_dir, channel, digest, channel.name in down))
            save_failing(state_dir, failing)
            left = len(pending(state_dir))
    except OpskitError as exc:
        return NotifyReport(errors=(str(exc),))
    return NotifyReport(deliveries=tuple(deliveries), outbox=left)


def _send_or_queue(state_dir: Path, channel: Channel, digest: Digest, down: bool) -> Delivery:
    if down:
        error = "not tried: this channel's older message failed just now"
        queue_message(state_dir, channel.name, digest, error, attempts=0)
        return _delivery(channel, digest, "run", status="queued", error=error)
    try:
        answer, subj, cut = deliver(channel, digest)
    except NotifyError as exc:
        queue_message(state_dir, channel.name, digest, str(exc))
        return _delivery(channel, digest, "run", status="queued", error=str(exc))
    except Exception as exc:  # a bug must not lose the message
        log.debug("notify channel %s failed", channel.name, exc_info=True)
        error = f"internal error: {type(exc).__name__}"
        queue_message(state_dir, channel.name, digest, error)
        return _delivery(channel, digest, "run", status="queued", error=error)
    return _delivery(
        channel, digest, "run", status="sent", answer=answer, subject=subj, truncated=cut
    )


def send_test(inventory: Inventory, name: str | None = None) -> NotifyReport:
    """Send a test message to every channel (or the one named); nothing is queued.

    Raises:
        InputError: no `notify:` channels, or no channel of that name.
    """
    channels = load_channels(inventory)
    if not channels:
        raise InputError(f"{Path(inventory.path).name}: no notify: channels")
    if name is not None:
        channels = tuple(c for c in channels if c.name == name)
        if not channels:
            known = ", ".join(c.name for c in load_channels(inventory))
            raise InputError(f"{Path(inventory.path).name}: no notify channel '{name}' ({known})")
    deliveries = []
    for channel in channels:
        digest = Digest(
            kind="test",
            started=_now().isoformat(),
            note=f"A test message from opskit to the channel '{channel.name}'.",
        )
        try:
            answer, subj, _cut = deliver(channel, digest)
        except NotifyError as exc:
            deliveries.append(_delivery(channel, digest, "test", status="failed", error=str(exc)))
            continue
        deliveries.append(
            _delivery(channel, digest, "test", status="sent", answer=answer, subject=subj)
        )
    return NotifyReport(deliveries=tuple(deliveries))
