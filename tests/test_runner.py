"""The runner's contract (pure logic: the work is plain functions, no peers needed).

Results come back in the order given, one per item; a failure is data that names the
device; the deadline starts when an item's work starts and is enforced by the runner.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.runner import Deadline, Result, run_async, run_threads


def _name(item: str) -> str:
    return item


def _label(item: str) -> str:
    return f"{item} (10.0.0.1)"


def _work(item: str, deadline: Deadline) -> str:
    if item == "down":
        raise DeviceError("login failed: authentication rejected")
    if item == "named":
        raise DeviceError("named (10.0.0.1): no SNMP response")
    if item == "slow":
        raise DeviceTimeout("timed out after 3 s waiting for the prompt")
    if item == "bug":
        raise KeyError("oops")
    return item.upper()


ITEMS = ["a", "down", "named", "slow", "bug", "b"]


def _check(results: list[Result[str]]) -> None:
    by = {r.name: r for r in results}
    assert [r.name for r in results] == ITEMS
    assert by["a"].ok and by["a"].value == "A" and by["b"].value == "B"
    assert by["down"].error == "down (10.0.0.1): login failed: authentication rejected"
    assert by["down"].reason == "login failed: authentication rejected"
    assert by["named"].error == "named (10.0.0.1): no SNMP response"  # not named twice
    assert by["slow"].timed_out and not by["slow"].internal
    assert (
        by["bug"].internal and by["bug"].error == "bug (10.0.0.1): internal error: KeyError: 'oops'"
    )
    assert all(r.value is None for r in results if not r.ok)


def test_threads_give_one_result_per_item_in_order() -> None:
    seen: list[str] = []
    results = run_threads(
        ITEMS,
        _work,
        name=_name,
        label=_label,
        seconds=lambda _i: 10.0,
        workers=3,
        on_result=lambda item, _r: seen.append(item),
    )
    _check(results)
    assert sorted(seen) == sorted(ITEMS)


def test_async_gives_one_result_per_item_in_order() -> None:
    async def work(item: str, deadline: Deadline) -> str:
        await asyncio.sleep(0)
        return _work(item, deadline)

    results = asyncio.run(
        run_async(ITEMS, work, name=_name, label=_label, seconds=lambda _i: 10.0, concurrency=2)
    )
    _check(results)


def test_async_deadline_cancels_the_work_and_starts_with_it() -> None:
    """Four 0.3 s items, one at a time, 0.75 s each: all pass (waiting for the slot is
    not charged); one that would take an hour is cancelled and reported."""

    async def work(item: str, _deadline: Deadline) -> str:
        await asyncio.sleep(3600 if item == "hung" else 0.3)
        return item

    items = ["w", "x", "y", "z", "hung"]
    results = asyncio.run(
        run_async(items, work, name=_name, seconds=lambda _i: 0.75, concurrency=1, what="check")
    )
    assert [r.value for r in results[:4]] == ["w", "x", "y", "z"]
    assert results[4].timed_out and results[4].error == "hung: check timed out after 0.75 s"


def test_async_reraise_stops_the_run() -> None:
    async def work(item: str, _deadline: Deadline) -> str:
        raise InputError(f"inventory.yaml: device '{item}': bad snmp section")

    with pytest.raises(InputError):
        asyncio.run(
            run_async(
                ["a"],
                work,
                name=_name,
                seconds=lambda _i: 1.0,
                concurrency=1,
                reraise=(InputError,),
            )
        )


def test_async_concurrency_is_bounded() -> None:
    running = peak = 0

    async def work(item: str, _deadline: Deadline) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return item

    asyncio.run(
        run_async(list("abcdefghij"), work, name=_name, seconds=lambda _i: 5.0, concurrency=3)
    )
    assert peak == 3


def test_threads_give_up_on_work_that_ignores_its_deadline() -> None:
    release = threading.Event()

    def work(item: str, deadline: Deadline) -> str:
        if item == "stuck":
            release.wait(30)  # ignores its deadline; let go at the end of the test
        return item

    try:
        results = run_threads(
            ["stuck", "fine"],
            work,
            name=_name,
            seconds=lambda _i: 0.2,
            workers=2,
            grace=0.2,
            what="fetch",
        )
    finally:
        release.set()
    assert results[0].timed_out and results[0].error == "stuck: fetch timed out after 0.2 s"
    assert results[1].ok and results[1].value == "fine"


def test_a_thread_is_handed_its_own_deadline() -> None:
    def work(item: str, deadline: Deadline) -> float:
        return deadline.seconds

    results = run_threads(["a", "bb"], work, name=_name, seconds=lambda i: float(len(i)), workers=1)
    assert [r.value for r in results] == [1.0, 2.0]
    assert run_threads([], work, name=_name, seconds=lambda i: 1.0, workers=4) == []


def test_run_edge_returns_the_coroutine_s_value() -> None:
    from opskit.runner import run_edge

    async def main() -> list[int]:
        await asyncio.sleep(0)
        return [1, 2]

    assert run_edge(main()) == [1, 2]
    with pytest.raises(DeviceError):

        async def fails() -> None:
            raise DeviceError("x")

        run_edge(fails())
