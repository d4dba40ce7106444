"""Notifications: run digests by mail and webhook, failure/recovery alerts, syslog triggers.

* `notify_run(inventory, report, ...) -> NotifyReport`: after a backup run, one digest
  per channel (changes with diffs, failures told once, recoveries); a channel that fails
  gets its message queued in the outbox and retried next run.
* `send_test(inventory, name=None) -> NotifyReport`: `opskit notify test`.
* `load_channels(inventory) -> (Channel, ...)`: the validated `notify:` list.
* `opskit.notify.listen`: the syslog listener behind `opskit backup listen`.
"""

from opskit.notify.config import Channel, load_channels
from opskit.notify.service import Delivery, NotifyReport, notify_run, send_test

__all__ = ["Channel", "Delivery", "NotifyReport", "load_channels", "notify_run", "send_test"]
