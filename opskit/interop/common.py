"""Small helpers every importer shares: names, hosts, port lists, text checks."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from opskit.errors import InputError
from opskit.interop.textin import control_free

_HOST_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_NUM_RE = re.compile(r"^(?P<prefix>.*?)(?P<n>[1-9]\d*|0)$")


def slug(text: str) -> str:
    """A site or tag name made from free text: lower case, runs of other characters as `-`.

    >>> slug("Server Room 2/B")
    'server-room-2-b'
    """
    return re.sub(r"[^a-z0-9._]+", "-", text.strip().lower()).strip("-.")


def host_of(value: str) -> str:
    """An address or host name as the inventory writes it (IPv6 without brackets).

    >>> host_of("[2001:db8::1]"), host_of("Core-1.example.net")
    ('2001:db8::1', 'Core-1.example.net')
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text


def valid_host(value: str) -> bool:
    """True for an IP address or a DNS name the inventory accepts."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(_HOST_RE.match(value)) and not value.replace(".", "").isdigit()


def clean(value: Any, where: str, what: str) -> str:
    """A text field from a source, stripped; control characters are an error.

    Raises:
        InputError: naming `where` (file:line or the object) and `what`.
    """
    text = "" if value is None else str(value).strip()
    if not control_free(text):
        raise InputError(f"{where}: {what} holds control characters")
    return text


def is_plain_port(name: str) -> bool:
    """False for a port name the inventory would read as a range (`1-2`)."""
    from opskit.inventory.load import expand_port_names

    try:
        return expand_port_names(name) == [name]
    except ValueError:
        return False


def compress_ports(ports: list[tuple[str, str | None]]) -> list[Any]:
    """A port list as the inventory writes it: runs of numbered names as ranges.

    Only runs that expand back to exactly the same names are joined; a port with a
    description stays on its own as `{name: description}`.

    >>> compress_ports([("Gi1/0/1", None), ("Gi1/0/2", None), ("Gi1/0/3", None),
    ...                 ("Gi1/0/4", "uplink"), ("eth0", None)])
    ['Gi1/0/1-3', {'Gi1/0/4': 'uplink'}, 'eth0']
    """
    from opskit.inventory.load import expand_port_names

    out: list[Any] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 2:
            first = _NUM_RE.match(run[0])
            last = _NUM_RE.match(run[-1])
            if first and last:
                spec = f"{run[0]}-{last['n']}"
                if expand_port_names(spec) == run:
                    out.append(spec)
                    run.clear()
                    return
        out.extend(run)
        run.clear()

    for name, desc in ports:
        if desc:
            flush()
            out.append({name: desc})
            continue
        match = _NUM_RE.match(name)
        if run and match:
            prev = _NUM_RE.match(run[-1])
            if (
                prev is not None
                and prev["prefix"] == match["prefix"]
                and int(match["n"]) == int(prev["n"]) + 1
            ):
                run.append(name)
                continue
        flush()
        if match:
            run.append(name)
        else:
            out.append(name)
    flush()
    return out


def listed_twice(where: str, name: str, first_line: int) -> str:
    """The error for a device named again in a line-per-device source.

    >>> listed_twice("router.db:7", "sw1", 3)
    "router.db:7: device 'sw1' is listed twice (first on line 3)"
    """
    return f"{where}: device '{name}' is listed twice (first on line {first_line})"


def raise_bad_lines(errors: list[str]) -> None:
    """Raise the first bad line's error, counting the others; nothing when there are none.

    Raises:
        InputError: `errors[0]`, plus "(and N more bad lines)" when there are more.
    """
    if errors:
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        raise InputError(errors[0] + more)


def unique_name(name: str, taken: dict[str, Any], suffix: str) -> str:
    """`name`, or `name@suffix` (then `-2`, `-3` ...) when the name is already taken."""
    if name not in taken:
        return name
    candidate = f"{name}@{suffix}"
    n = 2
    while candidate in taken:
        candidate = f"{name}@{suffix}-{n}"
        n += 1
    return candidate


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a big, acyclic result.

    An import of 100,000 cables makes millions of small objects that all live on; the
    collector would rescan them again and again (about half the time, measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
