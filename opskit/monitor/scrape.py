"""The scrapes behind `monitor serve`, in its one event loop and on one SNMP engine and
socket (`HealthSession`).

* Scrapes of different devices run at once (the session's slots bound the polls, the
  SNMP client the requests in flight).
* Scrapes of one device share a poll: one that comes while the device is being polled
  waits for that poll, and its result is served again for `cache_seconds` after it ended.
  A scrape that stops waiting (its client's timeout) does not stop the poll: the next
  scrape gets its result.
* The state that rates and reboot detection need lives in memory and goes to the state
  file every `save_every` seconds and at the end, so scrapes neither read nor rewrite it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opskit.monitor.model import DeviceHealth, HealthReport

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

SAVE_EVERY = 30.0  # seconds between writes of the state file


@dataclass(frozen=True, slots=True)
class Polled:
    """One device's last poll: when it ended, its health and its exposition text."""

    at: float
    health: DeviceHealth
    text: str


class Scrapes:
    """Polls devices for scrapes (see the module docstring). Make it inside the running
    event loop; `await close()` it.

    Args:
        inventory: the loaded inventory (`settings.monitor`, thresholds, state_dir).
        devices: the devices that may be scraped.
        cache_seconds: how long a poll's result is served again.
        labels: added to every sample (`{"shard": "east"}`).
        save_every: seconds between writes of the state file.
    """

    def __init__(
        self,
        inventory: Inventory,
        devices: Sequence[Device],
        *,
        cache_seconds: float = 10.0,
        labels: Mapping[str, str] | None = None,
        save_every: float = SAVE_EVERY,
    ) -> None:
        from opskit.monitor.service import STATE_FILE, HealthSession, load_state

        self.inventory = inventory
        self.devices = {d.name: d for d in devices}
        self.cache_seconds = cache_seconds
        self.labels = dict(labels or {})
        self.state_path = inventory.settings.state_dir / STATE_FILE
        self.session = HealthSession(inventory, state=load_state(self.state_path))
        self._cache: dict[str, Polled] = {}
        self._inflight: dict[str, asyncio.Task[Polled]] = {}
        self._saved = dict(self.session.state)
        self._saver = asyncio.ensure_future(self._save_every(save_every))
        self.closed = False  # the polls are over and the SNMP socket is closed

    @property
    def polls(self) -> int:
        """Device polls so far (a scrape served from a shared poll adds none)."""
        return self.session.polls

    def max_seconds(self) -> float:
        """The longest a poll of any of the devices may take (their deadlines)."""
        from opskit.monitor.service import device_deadline

        settings = self.session.settings
        deadlines = [device_deadline(d, self.inventory, settings) for d in self.devices.values()]
        return max(deadlines, default=30.0)

    async def scrape(self, device: str | None = None) -> str:
        """The exposition text of one device, or of all of them.

        Raises:
            KeyError: not one of the devices.
            InputError: a bad inventory section.
        """
        from opskit.monitor.render import render_prometheus

        if device is not None:
            return (await self.polled(device)).text
        polled = await asyncio.gather(*(self.polled(n) for n in self.devices))
        report = HealthReport(devices=tuple(p.health for p in polled))
        return render_prometheus(report, self.labels)

    async def polled(self, name: str) -> Polled:
        """The device's last poll while fresh, else the poll in progress, else a new one."""
        hit = self._cache.get(name)
        if hit is not None and time.monotonic() - hit.at < self.cache_seconds:
            return hit
        device = self.devices[name]
        task = self._inflight.get(name)
        if task is None:
            task = self._inflight[name] = asyncio.ensure_future(self._poll(device))
            task.add_done_callback(lambda _t: self._inflight.pop(name, None))
        # shield: a scrape that stops waiting must not cancel the poll others wait for
        return await asyncio.shield(task)

    async def _poll(self, device: Device) -> Polled:
        from opskit.monitor.render import render_prometheus

        healths, _saved = await self.session.check([device])
        health = healths[0]
        text = render_prometheus(HealthReport((health,)), self.labels)
        polled = Polled(time.monotonic(), health, text)
        self._cache[device.name] = polled
        return polled

    async def close(self, *, save: bool = True) -> None:
        """Cancel the polls in progress, close the SNMP socket, write the state file
        (unless `save` is False: a successor owns it)."""
        self._saver.cancel()
        tasks = [*self._inflight.values(), self._saver]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.session.close()
        self.closed = True
        if save and self.session.state != self._saved:
            self._save(dict(self.session.state))

    async def hand_over(self) -> None:
        """Write the state file now, for a successor made next to read (a reload)."""
        self._saver.cancel()
        self._saved = dict(self.session.state)
        await asyncio.get_running_loop().run_in_executor(None, self._save, self._saved)

    async def retire(self) -> None:
        """After `hand_over`: let the polls that scrapes still wait for end (within the
        devices' deadlines), then close without writing the state file again."""
        inflight = list(self._inflight.values())
        try:
            if inflight:
                await asyncio.wait(inflight, timeout=self.max_seconds())
        finally:  # also when the server stops meanwhile
            await self.close(save=False)

    async def _save_every(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(seconds)
            if self.session.state != self._saved:
                self._saved = dict(self.session.state)
                with contextlib.suppress(Exception):  # _save logs; the server goes on
                    await loop.run_in_executor(None, self._save, self._saved)

    def _save(self, state: dict[str, Any]) -> None:
        from opskit.monitor.service import load_state, save_state

        try:
            # Devices this server does not poll keep what other runs saved for them.
            save_state(self.state_path, {**load_state(self.state_path), **state})
        except OSError as exc:
            log.warning("cannot write %s: %s", self.state_path, exc)
