"""The one fan-out: every capability runs its per-device work through here.

* `run_threads(items, work, ...)`: blocking work (netmiko sessions) in a bounded thread
  pool, one item per worker at a time;
* `run_async(items, work, ...)`: asyncio work (SNMP, NUT) under a semaphore, awaited
  inside the capability's one event loop (`run_edge`, at its service edge), next to the
  clients the items share.

Both return one `Result` per item, in the order given: the value, or an error line that
names the device. One broken device never stops the others: its exception becomes its
result (`OpskitError` as it is worded, anything else as an internal error, logged with its
traceback), except the types a caller asks to `reraise` (a bad inventory stops a run).

The per-device deadline is decided and enforced here. Each item gets a `Deadline` when its
work starts (waiting for a free worker does not count: with hundreds queued, the wait is
not the device's fault). Async work is cancelled when it passes. A thread cannot be
cancelled, so blocking work is handed its `Deadline` (the CLI session's watchdog closes the
connection when it passes, which ends any read), and the runner stops waiting `grace`
seconds later and reports the item timed out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opskit.errors import OpskitError

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

T = TypeVar("T")
Item = TypeVar("Item")

GRACE = 5.0  # seconds past a thread's deadline before the runner stops waiting for it


class Deadline:
    """When one item's work must be done: `seconds` from the moment it started."""

    __slots__ = ("at", "seconds", "started")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        """True once the deadline is behind us."""
        return time.monotonic() >= self.at


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """One item's outcome.

    Attributes:
        name: the device's name.
        value: what the work returned (None when it failed).
        error: why it failed, one line that names the device (None when it did not).
        reason: the same line as the work worded it (for reports keyed by device).
        timed_out: the deadline passed.
        internal: an unexpected exception (a bug), not the device.
        duration: seconds from the start of the work to its end.
    """

    name: str
    value: T | None = None
    error: str | None = None
    reason: str | None = None
    timed_out: bool = False
    internal: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the work returned a value."""
        return self.error is None


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def failed(
    name: str,
    label: str,
    exc: BaseException,
    deadline: Deadline,
    what: str,
    duration: float | None = None,
) -> Result[T]:
    """The `Result` of work that raised `exc` (see the module docstring).

    >>> failed("sw1", "sw1 (10.0.0.1)", TimeoutError(), Deadline(7), "check").error
    'sw1 (10.0.0.1): check timed out after 7 s'
    """
    internal = timed_out = False
    if isinstance(exc, OpskitError):
        reason = _first_line(str(exc)) or type(exc).__name__
        timed_out = isinstance(exc, TimeoutError)
    elif isinstance(exc, TimeoutError):
        reason, timed_out = f"{what} timed out after {deadline.seconds:g} s", True
    else:
        internal = True
        reason = _first_line(f"internal error: {type(exc).__name__}: {exc}")
        log.error("%s: %s", name, reason, exc_info=exc)
    error = reason if name in reason else f"{label}: {reason}"
    spent = time.monotonic() - deadline.started if duration is None else duration
    return Result(name, None, error, reason, timed_out, internal, spent)


def run_threads(
    items: Sequence[Item],
    work: Callable[[Item, Deadline], T],
    *,
    name: Callable[[Item], str],
    seconds: Callable[[Item], float],
    workers: int,
    label: Callable[[Item], str] | None = None,
    what: str = "work",
    on_result: Callable[[Item, Result[T]], None] | None = None,
    grace: float = GRACE,
    thread_name: str = "opskit",
) -> list[Result[T]]:
    """Run blocking `work(item, deadline)` for every item, `workers` at a time.

    Args:
        items: the devices (or anything naming one).
        work: the per-item work; it must give up when its `Deadline` passes.
        name: the item's device name.
        seconds: the item's deadline, from the start of its work.
        workers: threads at the most.
        label: the words an error line names the device by (default: `name`).
        what: the work's name in a timeout message ("fetch" -> "fetch timed out after").
        on_result: called in this thread as each item ends, in completion order.
        grace: seconds past a deadline before the item is given up on.
        thread_name: the worker threads' name prefix.

    Returns:
        One `Result` per item, in the order given.
    """
    if not items:
        return []
    label_of = label or name
    deadlines: dict[int, Deadline] = {}

    def call(index: int) -> Result[T]:
        item = items[index]
        deadline = deadlines[index] = Deadline(seconds(item))
        try:
            value = work(item, deadline)
        except Exception as exc:
            return failed(name(item), label_of(item), exc, deadline, what)
        return Result(name(item), value, duration=time.monotonic() - deadline.started)

    results: list[Result[T] | None] = [None] * len(items)

    def record(index: int, result: Result[T]) -> None:
        results[index] = result
        if on_result is not None:
            on_result(items[index], result)

    pool = cf.ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(items))), thread_name_prefix=thread_name
    )
    given_up = False
    try:
        futures = {pool.submit(call, i): i for i in range(len(items))}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            for future in done:
                record(futures[future], future.result())
            now = time.monotonic()
            for future in list(pending):
                index = futures[future]
                deadline = deadlines.get(index)
                if deadline is not None and now > deadline.at + grace:
                    # The work ignores its deadline: report it and stop waiting for it.
                    pending.discard(future)
                    given_up = True
                    item = items[index]
                    exc = TimeoutError()
                    record(index, failed(name(item), label_of(item), exc, deadline, what))
    finally:
        pool.shutdown(wait=not given_up, cancel_futures=given_up)
    return [r for r in results if r is not None]


async def run_async(
    items: Sequence[Item],
    work: Callable[[Item, Deadline], Awaitable[T]],
    *,
    name: Callable[[Item], str],
    seconds: Callable[[Item], float],
    concurrency: int,
    label: Callable[[Item], str] | None = None,
    what: str = "work",
    reraise: tuple[type[BaseException], ...] = (),
    on_result: Callable[[Item, Result[T]], None] | None = None,
    slots: asyncio.Semaphore | None = None,
) -> list[Result[T]]:
    """Await `work(item, deadline)` for every item, `concurrency` at a time.

    The work is cancelled when its deadline passes. Arguments as for `run_threads`;
    `reraise` names exception types that stop the whole run instead of one item;
    `slots`, when given, is shared with other runs in the same loop (a long-lived
    server's many small runs) and stands in for `concurrency`.

    Returns:
        One `Result` per item, in the order given.
    """
    gate = slots if slots is not None else asyncio.Semaphore(max(1, concurrency))
    label_of = label or name

    async def one(item: Item) -> Result[T]:
        async with gate:
            deadline = Deadline(seconds(item))
            try:
                async with asyncio.timeout(deadline.seconds):
                    value = await work(item, deadline)
            except reraise:
                raise
            except Exception as exc:
                result: Result[T] = failed(name(item), label_of(item), exc, deadline, what)
            else:
                result = Result(name(item), value, duration=time.monotonic() - deadline.started)
        if on_result is not None:
            on_result(item, result)
        return result

    return list(await asyncio.gather(*(one(item) for item in items)))


def run_edge(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`: a service's one event loop, started at its edge.

    The result comes out of band: on its way out `asyncio.run` (Python 3.11) restores the
    SIGINT handler and, doing so, formats the main task's repr, its result included. For
    a 300-device health report that repr was 10-13% of the run's CPU.
    """
    box: list[T] = []

    async def run() -> None:
        box.append(await main)

    asyncio.run(run())
    return box[0]
