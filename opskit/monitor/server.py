"""Server health: the machine opskit runs on (psutil), and remote Linux servers over
SNMP (net-snmp's snmpd: HOST-RESOURCES-MIB and UCD-SNMP-MIB).

Both paths gather the same `ServerFacts` and share `server_readings`, so a server reads
the same whether it is local or remote.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from opskit.monitor.model import DeviceHealth, Reading, Status
from opskit.monitor.thresholds import Limit, Thresholds, merge_thresholds
from opskit.targets import snmp_target

if TYPE_CHECKING:
    from opskit.inventory import Device
    from opskit.monitor.context import CheckContext

# Filesystems that hold no data of their own (psutil's all=False already drops most).
PSEUDO_FS = frozenset(
    {
        "tmpfs",
        "devtmpfs",
        "squashfs",
        "overlay",
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "autofs",
        "ramfs",
        "nsfs",
        "tracefs",
        "debugfs",
        "fuse.lxcfs",
    }
)


@dataclass(frozen=True, slots=True)
class Filesystem:
    """One mounted filesystem's usage."""

    mountpoint: str
    size_bytes: float
    used_percent: float
    inodes_percent: float | None = None


@dataclass(frozen=True, slots=True)
class ServerFacts:
    """What a server health check judges (None where the source has no figure)."""

    uptime_s: float | None = None
    cpu_percent: float | None = None
    cores: int | None = None
    load5: float | None = None
    memory_percent: float | None = None
    memory_total_bytes: float | None = None
    swap_percent: float | None = None
    filesystems: tuple[Filesystem, ...] = ()
    # sensor name -> (celsius, the OS's critical limit or None)
    temperatures: Mapping[str, tuple[float, float | None]] = field(default_factory=dict)


def server_readings(facts: ServerFacts, th: Thresholds) -> list[Reading]:
    """Readings for a server's facts against the thresholds.

    >>> from opskit.monitor.thresholds import merge_thresholds
    >>> f = ServerFacts(cpu_percent=97.0, cores=2, load5=1.0)
    >>> [(r.check, r.status.name) for r in server_readings(f, merge_thresholds({}))]
    [('cpu', 'CRITICAL'), ('load', 'OK')]
    """
    out: list[Reading] = []

    def add(
        check: str,
        subject: str,
        value: float | None,
        limit: Limit,
        unit: str,
        message: str,
        labels: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        if value is None:
            return
        out.append(
            Reading(
                check,
                subject,
                round(value, 3),
                limit.judge(value),
                unit=unit,
                warn=limit.warn,
                crit=limit.crit,
                labels=labels or {},
                message=message,
                **kw,
            )
        )

    if facts.uptime_s is not None:
        out.append(
            Reading(
                "uptime",
                "",
                round(facts.uptime_s),
                Status.OK,
                unit="seconds",
                min=0,
                message=f"up {facts.uptime_s / 86400:.1f} days",
            )
        )
    add(
        "cpu",
        "",
        facts.cpu_percent,
        th.limit("cpu"),
        "percent",
        f"cpu {facts.cpu_percent or 0:.0f}%",
        min=0,
        max=100,
    )
    if facts.load5 is not None and facts.cores:
        per_core = facts.load5 / facts.cores
        add(
            "load",
            "",
            per_core,
            th.limit("load"),
            "",
            f"load {facts.load5:.2f} on {facts.cores} cores ({per_core:.2f} per core)",
            min=0,
        )
    add(
        "memory",
        "",
        facts.memory_percent,
        th.limit("memory"),
        "percent",
        f"memory {facts.memory_percent or 0:.0f}% used",
        min=0,
        max=100,
    )
    add(
        "swap",
        "",
        facts.swap_percent,
        th.limit("swap"),
        "percent",
        f"swap {facts.swap_percent or 0:.0f}% used",
        min=0,
        max=100,
    )
    for fs in facts.filesystems:
        labels = {"mountpoint": fs.mountpoint}
        add(
            "disk",
            fs.mountpoint,
            fs.used_percent,
            th.limit("disk"),
            "percent",
            f"{fs.mountpoint} {fs.used_percent:.0f}% of {fs.size_bytes / 2**30:.1f} GiB used",
            labels,
            min=0,
            max=100,
        )
        add(
            "inodes",
            fs.mountpoint,
            fs.inodes_percent,
            th.limit("inodes"),
            "percent",
            f"{fs.mountpoint} {fs.inodes_percent or 0:.0f}% of inodes used",
            labels,
            min=0,
            max=100,
        )
    for name, (celsius, os_crit) in sorted(facts.temperatures.items()):
        limit = th.limit("temperature")
        if "temperature" not in th.raw and os_crit:
            limit = Limit(os_crit - 10, os_crit)  # the OS's own limit, as for devices
        add(
            "temperature",
            name,
            celsius,
            limit,
            "celsius",
            f"{name} {celsius:.0f} C",
            {"sensor": name},
        )
    return out


def _health(name: str, site: str, readings: list[Reading], info: dict[str, Any]) -> DeviceHealth:
    return DeviceHealth.from_readings(name, site, "server", readings, info)


# ---------------------------------------------------------------- local (psutil)


def local_facts(cpu_interval: float = 0.3) -> ServerFacts:
    """Facts about this machine from psutil (CPU sampled over `cpu_interval` seconds)."""
    import psutil

    cores = psutil.cpu_count() or 1
    load5 = os.getloadavg()[1] if hasattr(os, "getloadavg") else None
    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    filesystems: list[Filesystem] = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in PSEUDO_FS or part.device in seen:
            continue
        seen.add(part.device)  # bind mounts of one device: count it once
        try:
            usage = psutil.disk_usage(part.mountpoint)
            st = os.statvfs(part.mountpoint)
        except OSError:
            continue
        inodes = 100 * (st.f_files - st.f_ffree) / st.f_files if st.f_files else None
        filesystems.append(Filesystem(part.mountpoint, float(usage.total), usage.percent, inodes))
    temps: dict[str, tuple[float, float | None]] = {}
    read_temps = getattr(psutil, "sensors_temperatures", None)
    if read_temps is not None:
        try:
            for chip, entries in read_temps().items():
                for i, entry in enumerate(entries):
                    label = f"{chip} {entry.label or i}"
                    temps[label] = (float(entry.current), entry.critical or None)
        except OSError:
            pass  # no sensors readable (containers, VMs)
    return ServerFacts(
        uptime_s=time.time() - psutil.boot_time(),
        cpu_percent=psutil.cpu_percent(interval=cpu_interval),
        cores=cores,
        load5=load5,
        memory_percent=100 * (vm.total - vm.available) / vm.total if vm.total else None,
        memory_total_bytes=float(vm.total),
        swap_percent=swap.percent if swap.total else None,
        filesystems=tuple(filesystems),
        temperatures=temps,
    )


def check_local_server(
    thresholds: Mapping[str, Any] | None = None, *, name: str | None = None, site: str = ""
) -> DeviceHealth:
    """The health of the machine opskit runs on.

    Args:
        thresholds: a `thresholds:` mapping (e.g. the inventory's defaults), or None.
        name: the name to report (default: the host name).
        site: the site label.
    """
    started = time.monotonic()
    facts = local_facts()
    th = merge_thresholds(thresholds, where=name or "local server")
    readings = server_readings(facts, th)
    health = _health(name or socket.gethostname(), site, readings, {"source": "psutil"})
    return dataclasses.replace(health, duration_s=round(time.monotonic() - started, 3))


# ---------------------------------------------------------------- remote (SNMP)


@lru_cache(maxsize=1)
def _server_oids() -> Mapping[str, Any]:
    import yaml

    text = resources.files("opskit.monitor").joinpath("mibs/ucd_snmp.yaml").read_text()
    doc = yaml.safe_load(text)
    server: Mapping[str, Any] = doc["server"]
    return server


def _f(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def snmp_facts(
    system_uptime: Any, scalars: Mapping[str, Any], cols: Mapping[str, Mapping[str, Any]]
) -> ServerFacts:
    """Facts from a net-snmp agent's UCD/HOST-RESOURCES values (keys as in ucd_snmp.yaml)."""
    oids = _server_oids()
    loads = cols.get("la_load", {})
    cpu_rows = [v for v in (_f(x) for x in cols.get("cpu_load", {}).values()) if v is not None]
    total, avail = _f(scalars.get("mem_total_real")), _f(scalars.get("mem_avail_real"))
    buffers = _f(scalars.get("mem_buffer")) or 0
    cached = _f(scalars.get("mem_cached")) or 0
    mem = None
    if total and avail is not None:
        # memAvailReal is MemFree: buffers and page cache are reclaimable, not "used".
        mem = 100 * max(0.0, total - avail - buffers - cached) / total
    swap_total, swap_avail = _f(scalars.get("mem_total_swap")), _f(scalars.get("mem_avail_swap"))
    swap = (
        100 * (swap_total - swap_avail) / swap_total
        if swap_total and swap_avail is not None
        else None
    )
    inodes = {
        str(path): _f(cols.get("dsk_percent_node", {}).get(idx))
        for idx, path in cols.get("dsk_path", {}).items()
    }
    filesystems = []
    fixed = str(oids["fixed_disk_type"])
    for idx, typ in cols.get("storage_type", {}).items():
        if str(typ) != fixed:
            continue
        size = _f(cols.get("storage_size", {}).get(idx))
        used = _f(cols.get("storage_used", {}).get(idx))
        units = _f(cols.get("storage_units", {}).get(idx)) or 1
        if not size or used is None:
            continue
        mount = str(cols.get("storage_descr", {}).get(idx) or f"storage {idx}")
        filesystems.append(Filesystem(mount, size * units, 100 * used / size, inodes.get(mount)))
    ticks = _f(system_uptime)
    return ServerFacts(
        uptime_s=None if ticks is None else ticks / 100,
        cpu_percent=sum(cpu_rows) / len(cpu_rows) if cpu_rows else None,
        cores=len(cpu_rows) or None,
        load5=_f(loads.get("2")),
        memory_percent=mem,
        memory_total_bytes=None if total is None else total * 1024,
        swap_percent=swap,
        filesystems=tuple(sorted(filesystems, key=lambda f: f.mountpoint)),
    )


async def check_snmp_server(ctx: CheckContext, device: Device) -> DeviceHealth:
    """The checker for `platform: server` devices with an `snmp:` section."""
    target = snmp_target(ctx.inventory, device)
    oids = _server_oids()
    scalars_map: Mapping[str, str] = oids["scalars"]
    col_map: Mapping[str, str] = oids["columns"]
    got = await ctx.snmp.get(target, ["1.3.6.1.2.1.1.3.0", *scalars_map.values()])
    scalars = {k: got.get(v) for k, v in scalars_map.items()}
    walked = await ctx.snmp.walk_columns(target, list(col_map.values()))
    cols = {k: walked.get(v, {}) for k, v in col_map.items()}
    facts = snmp_facts(got.get("1.3.6.1.2.1.1.3.0"), scalars, cols)
    readings = server_readings(facts, ctx.thresholds(device))
    return _health(device.name, device.site, readings, {"source": "snmp"})
