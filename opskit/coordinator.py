"""Who runs which shard right now: one lease per shard in Redis (`settings.coordinator`).

A worker holds `shard:NAME` (value: its id) as a lease: `SET shard:NAME ID NX PX ttl` takes
it only when nobody holds it, a renewal every third of the ttl keeps it while the worker
lives, and a lease nobody renews lapses by itself. Renewal and release check the value
first (a Lua script), so a worker never extends or drops a lease someone else took.

Two more keys per shard:

* `shard:NAME:want` (value: the owner's id, PX ttl): the shard's owner is back and wants
  it; a standby holding it gives it back when its running job is done, and no standby
  takes a shard that is wanted back.
* `shard:NAME:done:JOB`: the last schedule cycle of JOB finished for the shard, whoever
  ran it, so a standby that takes over does not redo a cycle the owner finished, and the
  owner coming back does not redo the standby's.

`StaticLeases` is the same interface without Redis (no coordinator): a worker runs its
own shards and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Protocol

from opskit.errors import OpskitError

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_MARK_DONE = """
local now = tonumber(redis.call('get', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > now then
  redis.call('set', KEYS[1], ARGV[1])
end
return 1
"""


class CoordinatorError(OpskitError):
    """The coordinator could not be reached or answered an error."""


class Leases(Protocol):
    """What the scheduler asks the coordinator (all calls may raise CoordinatorError)."""

    worker_id: str

    def acquire(self, shard: str) -> bool:
        """Take the shard's lease if nobody holds it."""
        ...

    def renew(self, shard: str) -> bool:
        """Extend our lease; False when it is no longer ours."""
        ...

    def release(self, shard: str) -> None:
        """Drop our lease (if it is still ours)."""
        ...

    def holder(self, shard: str) -> str | None:
        """Who holds the shard's lease now."""
        ...

    def want_back(self, shard: str) -> None:
        """Say that the shard's owner is back (held for one ttl, said again each tick)."""
        ...

    def wanted_back(self, shard: str) -> bool:
        """True when the shard's owner has said it wants the shard back."""
        ...

    def done_cycle(self, job: str, shard: str) -> int | None:
        """The last cycle of `job` finished for the shard (None: never)."""
        ...

    def mark_done(self, job: str, shard: str, cycle: int) -> None:
        """Record that `cycle` of `job` finished for the shard."""
        ...

    def close(self) -> None:
        """Drop the connection."""
        ...


class RedisLeases:
    """Leases in Redis (the `redis` package; imported here, on use).

    Args:
        url: `redis://host:port/db` (or `rediss://`, `unix://`).
        worker_id: this worker's id (the leases' value).
        ttl: seconds a lease lives without renewal.
        username, password: from the coordinator's credential set (never in the URL).
        timeout: seconds for any one Redis call.
    """

    def __init__(
        self,
        url: str,
        worker_id: str,
        ttl: float,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        import redis

        self.worker_id = worker_id
        self.ttl_ms = max(1, int(ttl * 1000))
        self._redis = redis.Redis.from_url(
            url,
            username=username,
            password=password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._mark = self._redis.register_script(_MARK_DONE)
        self._url = url
        self._lock = threading.Lock()  # one connection pool, but calls stay short and serial

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except self._errors as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CoordinatorError(f"coordinator {self._url}: {what}: {first}") from None

    def acquire(self, shard: str) -> bool:
        """`SET shard:NAME ID NX PX ttl`; True when we got it (or already hold it)."""
        got = self._call(
            "acquire", self._redis.set, f"shard:{shard}", self.worker_id, nx=True, px=self.ttl_ms
        )
        if got:
            self._call("acquire", self._redis.delete, f"shard:{shard}:want")
            return True
        return bool(self.holder(shard) == self.worker_id and self.renew(shard))

    def renew(self, shard: str) -> bool:
        """Extend our lease by a ttl; False when it is not ours any more."""
        keys, args = [f"shard:{shard}"], [self.worker_id, self.ttl_ms]
        return bool(self._call("renew", self._renew, keys=keys, args=args))

    def release(self, shard: str) -> None:
        """Delete the lease if it is ours."""
        self._call("release", self._release, keys=[f"shard:{shard}"], args=[self.worker_id])

    def holder(self, shard: str) -> str | None:
        """The id holding the shard, or None."""
        value = self._call("holder", self._redis.get, f"shard:{shard}")
        return None if value is None else str(value)

    def want_back(self, shard: str) -> None:
        """`SET shard:NAME:want ID PX ttl`."""
        self._call("want", self._redis.set, f"shard:{shard}:want", self.worker_id, px=self.ttl_ms)

    def wanted_back(self, shard: str) -> bool:
        """True when someone other than us said they want the shard back."""
        value = self._call("want", self._redis.get, f"shard:{shard}:want")
        return value is not None and value != self.worker_id

    def done_cycle(self, job: str, shard: str) -> int | None:
        """The last finished cycle of `job` for the shard."""
        value = self._call("done", self._redis.get, f"shard:{shard}:done:{job}")
        return None if value is None else int(value)

    def mark_done(self, job: str, shard: str, cycle: int) -> None:
        """Record a finished cycle (never moves back)."""
        self._call("done", self._mark, keys=[f"shard:{shard}:done:{job}"], args=[cycle])

    def close(self) -> None:
        """Close the connection pool."""
        with contextlib.suppress(*self._errors):
            self._redis.close()


class StaticLeases:
    """No coordinator: every shard asked for is ours; cycles are remembered in memory."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._done: dict[tuple[str, str], int] = {}

    def acquire(self, shard: str) -> bool:
        """Always ours."""
        return True

    def renew(self, shard: str) -> bool:
        """Always ours."""
        return True

    def release(self, shard: str) -> None:
        """Nothing to drop."""

    def holder(self, shard: str) -> str | None:
        """This worker."""
        return self.worker_id

    def want_back(self, shard: str) -> None:
        """Nobody to tell."""

    def wanted_back(self, shard: str) -> bool:
        """Never."""
        return False

    def done_cycle(self, job: str, shard: str) -> int | None:
        """The last cycle this process finished."""
        return self._done.get((job, shard))

    def mark_done(self, job: str, shard: str, cycle: int) -> None:
        """Remember it in memory."""
        self._done[(job, shard)] = max(cycle, self._done.get((job, shard), cycle))

    def close(self) -> None:
        """Nothing to close."""
