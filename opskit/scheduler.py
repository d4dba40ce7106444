"""The worker's loop: hold the leases of its shards, run each shard's jobs once per cycle.

`Scheduler(...).run(stop)` ticks every `tick` seconds until `stop` is set:

1. **Leases.** Its own shards (`primaries`) it takes whenever free; while a standby holds
   one, it says it wants it back. A `standbys` shard it takes only when the lease lapsed
   (its owner stopped renewing) and nobody wants it back; it gives it back once the owner
   says so and the shard's running job is done. A thread renews every held lease each
   third of the ttl, jobs or not. Without a reachable coordinator a worker keeps running
   its own shards and drops the standby ones (availability over strictness: with the
   coordinator down for everyone, nobody can take a shard over anyway).
2. **Cycles.** Each job (`backup`, `monitor`) has an interval; cycle k of a job for a shard
   is the k-th interval since the epoch, shifted by a stable offset per shard and job so
   that shards do not all start (and push) at the top of the hour. A job runs when the
   coordinator's last finished cycle for it is older than the current one: once per cycle,
   whichever worker holds the shard, a takeover included.
3. **Jobs** run in one thread per job kind (a worker runs one backup and one monitor job
   at a time; a shard it took over queues behind its own), as callables given by the
   caller, so this module imports no capability.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from opskit.coordinator import CoordinatorError, Leases

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a job reports: ok or not, and one line for the log."""

    ok: bool
    summary: str


@dataclass(frozen=True, slots=True)
class JobRun:
    """One job run by this worker (for the log and `--json`)."""

    job: str
    shard: str
    cycle: int
    started: float
    duration: float
    ok: bool
    summary: str

    def to_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "job": self.job,
            "shard": self.shard,
            "cycle": self.cycle,
            "started": round(self.started, 3),
            "duration": round(self.duration, 3),
            "ok": self.ok,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Event:
    """A change of the worker's shards, or a job's end, as one line."""

    time: float
    kind: str  # took | took-over | gave-back | lost | want | coordinator | job
    shard: str
    message: str


def cycle_of(job: str, shard: str, interval: float, now: float) -> int:
    """The cycle `now` falls in for this job and shard (intervals since the epoch, offset).

    >>> cycle_of("backup", "a", 3600, 7200.0) - cycle_of("backup", "a", 3600, 3600.0)
    1
    """
    return int((now - offset_of(job, shard, interval)) // interval)


def offset_of(job: str, shard: str, interval: float) -> float:
    """A stable offset in [0, interval) for a job and shard (spreads the start times)."""
    digest = hashlib.md5(f"{job}:{shard}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval


@dataclass
class _State:
    held: set[str] = field(default_factory=set)
    queued: set[tuple[str, str]] = field(default_factory=set)  # (job, shard) queued or running
    runs: list[JobRun] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class Scheduler:
    """One worker's shards, leases and jobs.

    Args:
        leases: the coordinator (or `StaticLeases`).
        primaries: the shards this worker owns.
        standbys: the shards it takes over when their owner's lease lapses.
        jobs: job name -> callable(shard, cycle) -> JobOutcome.
        intervals: job name -> seconds between cycles.
        tick: seconds between two looks at the leases and the clock.
        ttl: the leases' time to live (renewed every third of it).
        on_event: called (from the scheduler's threads) for every `Event`.
        clock: wall clock (for tests of the cycle arithmetic).
    """

    def __init__(
        self,
        leases: Leases,
        primaries: Sequence[str],
        standbys: Sequence[str],
        jobs: Mapping[str, Callable[[str, int], JobOutcome]],
        intervals: Mapping[str, float],
        *,
        tick: float,
        ttl: float,
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.leases = leases
        self.primaries = list(dict.fromkeys(primaries))
        self.standbys = [s for s in dict.fromkeys(standbys) if s not in self.primaries]
        self.jobs = dict(jobs)
        self.intervals = {job: intervals[job] for job in self.jobs}
        self.tick = tick
        self.ttl = ttl
        self.on_event = on_event
        self.clock = clock
        self._state = _State()
        self._lock = threading.Lock()
        self._pools = {
            job: cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"job-{job}")
            for job in self.jobs
        }
        self._degraded = False
        self._standby_from = 0.0

    # --- what others read -----------------------------------------------------------
    @property
    def held(self) -> set[str]:
        """The shards this worker runs now."""
        with self._lock:
            return set(self._state.held)

    @property
    def runs(self) -> list[JobRun]:
        """Every job run so far."""
        with self._lock:
            return list(self._state.runs)

    @property
    def events(self) -> list[Event]:
        """Every event so far."""
        with self._lock:
            return list(self._state.events)

    def _event(self, kind: str, shard: str, message: str) -> None:
        event = Event(self.clock(), kind, shard, message)
        with self._lock:
            self._state.events.append(event)
        log.info("%s %s: %s", kind, shard, message)
        if self.on_event is not None:
            self.on_event(event)

    # --- the loop ---------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; then wait for running jobs and drop the leases."""
        # Standby shards wait one ttl: owners started at the same moment take their own first.
        self._standby_from = time.monotonic() + self.ttl
        renewer = threading.Thread(target=self._renew_loop, args=(stop,), daemon=True)
        renewer.start()
        try:
            while not stop.is_set():
                self.step()
                stop.wait(self.tick)
        finally:
            for pool in self._pools.values():
                pool.shutdown(wait=True, cancel_futures=True)
            stop.set()
            renewer.join(timeout=5)
            for shard in sorted(self.held):
                with contextlib.suppress(CoordinatorError):
                    self.leases.release(shard)
            self.leases.close()

    def step(self) -> None:
        """One tick: settle the leases, then start the jobs that are due."""
        self._settle_leases()
        now = self.clock()
        for shard in [s for s in self.primaries + self.standbys if s in self.held]:
            if shard in self.standbys and self._wanted_back(shard):
                continue  # giving it back: start nothing new
            for job in self.jobs:
                self._maybe_start(job, shard, now)

    def _wanted_back(self, shard: str) -> bool:
        try:
            return self.leases.wanted_back(shard)
        except CoordinatorError:
            return False

    def _settle_leases(self) -> None:
        try:
            for shard in self.primaries:
                if shard in self.held:
                    continue
                if self.leases.acquire(shard):
                    self._hold(shard, "took", "lease taken")
                else:
                    self.leases.want_back(shard)
            for shard in self.standbys:
                if shard in self.held:
                    if self.leases.wanted_back(shard) and not self._busy(shard):
                        self.leases.release(shard)
                        self._drop(shard, "gave-back", "its owner is back: lease released")
                elif (
                    time.monotonic() >= self._standby_from
                    and not self.leases.wanted_back(shard)
                    and self.leases.acquire(shard)
                ):
                    self._hold(shard, "took-over", "the owner's lease lapsed: taken over")
            if self._degraded:
                self._degraded = False
                self._event("coordinator", "*", "coordinator reachable again")
        except CoordinatorError as exc:
            if not self._degraded:
                self._event("coordinator", "*", f"{exc}; own shards only until it answers")
            self._degraded = True
            for shard in self.primaries:
                self._hold(shard, "took", "coordinator unreachable: running own shard")
            for shard in self.standbys:
                if shard in self.held:
                    self._drop(shard, "lost", "coordinator unreachable: standby shard dropped")

    def _hold(self, shard: str, kind: str, message: str) -> None:
        with self._lock:
            if shard in self._state.held:
                return
            self._state.held.add(shard)
        self._event(kind, shard, message)

    def _drop(self, shard: str, kind: str, message: str) -> None:
        with self._lock:
            if shard not in self._state.held:
                return
            self._state.held.discard(shard)
        self._event(kind, shard, message)

    def _busy(self, shard: str) -> bool:
        with self._lock:
            return any(s == shard for _job, s in self._state.queued)

    def _renew_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            for shard in sorted(self.held):
                try:
                    if not self.leases.renew(shard):
                        self._drop(shard, "lost", "lease lost (taken by another worker)")
                except CoordinatorError:
                    pass  # the next tick decides (own shards stay, standby ones go)

    def _maybe_start(self, job: str, shard: str, now: float) -> None:
        cycle = cycle_of(job, shard, self.intervals[job], now)
        with self._lock:
            if (job, shard) in self._state.queued:
                return
        try:
            done = self.leases.done_cycle(job, shard)
        except CoordinatorError:
            done = None if not self._degraded else self._local_done(job, shard)
        if done is not None and done >= cycle:
            return
        with self._lock:
            self._state.queued.add((job, shard))
        self._pools[job].submit(self._run_job, job, shard, cycle)

    def _local_done(self, job: str, shard: str) -> int | None:
        with self._lock:
            cycles = [r.cycle for r in self._state.runs if r.job == job and r.shard == shard]
        return max(cycles, default=None)

    def _run_job(self, job: str, shard: str, cycle: int) -> None:
        started = self.clock()
        t0 = time.monotonic()
        try:
            if shard not in self.held:
                return  # lost or given back while it waited in the queue
            try:
                outcome = self.jobs[job](shard, cycle)
            except Exception as exc:  # a job's bug must not end the worker
                log.error("%s of shard %s failed", job, shard, exc_info=exc)
                first = (str(exc).splitlines() or [""])[0]
                outcome = JobOutcome(False, f"failed: {type(exc).__name__}: {first}")
            run = JobRun(
                job, shard, cycle, started, time.monotonic() - t0, outcome.ok, outcome.summary
            )
            with self._lock:
                self._state.runs.append(run)
            try:
                self.leases.mark_done(job, shard, cycle)
            except CoordinatorError as exc:
                log.warning("could not record %s cycle %d of %s: %s", job, cycle, shard, exc)
            self._event("job", shard, f"{job} cycle {cycle}: {outcome.summary}")
        finally:
            with self._lock:
                self._state.queued.discard((job, shard))
