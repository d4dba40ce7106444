"""What each page shows, as data: the JSON twin of a page is `Page.data`, and the HTML
template gets the same data plus the objects it was built from (`Page.view`).

The inventory look-ups are the CLI's own (`opskit.inventory.index` and
`opskit.inventory.views`: find ranking, traces through patch panels, the cached index),
so `/api/...` answers with what `opskit inventory ... --json` prints. The index is kept
in memory and re-opened only when an inventory file changes (`LiveIndex`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from opskit.errors import OpskitError
from opskit.inventory import (
    Device,
    InventoryIndex,
    cable_dict,
    device_payload,
    device_ports,
    exact_label_paths,
    find_payload,
    label_rows,
    labels_payload,
    open_index,
    sheet_payload,
)
from opskit.web import lastrun
from opskit.web.configrepo import ConfigRepo, Version, diff_lines
from opskit.web.filters import age_seconds, parse_time
from opskit.web.sources import JsonFile, backup_state_file, backup_states, config_path, scrub_config

HISTORY_PAGE = 50
GRAPH_INTERVAL = 60.0
SHEETS_PER_PAGE = 20


class NotFound(OpskitError):
    """No such cable, device, site or stored config (HTTP 404)."""


@dataclass(frozen=True, slots=True)
class Page:
    """A page: its template, title, JSON twin (`data`) and extra objects for the HTML."""

    template: str
    title: str
    data: dict[str, Any]
    view: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None


def url_of(kind: str, name: str, *rest: str) -> str:
    """The URL of a cable (`c`) or device (`d`) page, names percent-encoded.

    >>> url_of("d", "sw 1/2", "sheet")
    '/d/sw%201%2F2/sheet'
    """
    return "/".join([f"/{kind}", quote(name, safe=""), *rest])


def _stat(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class LiveIndex:
    """The inventory index, kept in memory while no inventory file changes.

    Each `get()` stats the files the index was built from; a change (or a file changed
    within a second before it was looked at, which a stat cannot vouch for) re-opens the
    index through `open_index`, which rebuilds it only if the content changed.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._index: InventoryIndex | None = None
        self._stamps: dict[Path, tuple[int, int, int, int] | None] = {}
        self._trusted = False
        self._lock = threading.Lock()
        self.generation = 0  # bumps on every re-open: caches keyed on it start again

    def _unchanged(self) -> bool:
        return self._trusted and all(_stat(p) == s for p, s in self._stamps.items())

    def get(self) -> InventoryIndex:
        """The index of the inventory as it is now.

        Raises:
            InputError: the inventory has errors.
        """
        with self._lock:
            if self._index is not None and self._unchanged():
                return self._index
            files = [p for p, _ in self._index.files()] if self._index else [self.path]
            before = {p: _stat(p) for p in files}
            now = time.time_ns()
            index = open_index(self.path)
            names = [p for p, _ in index.files()]
            if set(names) != set(before):  # includes changed: stat the new set next time
                before = {p: None for p in names}
            self._stamps = before
            # A stat taken within a second of a change cannot prove the content is the
            # same later (same-tick writes): look again next time.
            self._trusted = all(
                s is not None and now - s[3] >= 1_000_000_000 for s in before.values()
            )
            if index is not self._index:
                self.generation += 1
            self._index = index
            return index


def backup_entry(name: str, path: str, state: dict[str, Any] | None) -> dict[str, Any]:
    """A device's backup state in the shape of `backup status --json`'s entries (no
    --max-age: a failed last attempt or no backup at all is WARNING), plus the commit."""
    st = state or {}
    age = age_seconds(st.get("last_good"))
    status = "WARNING" if st.get("last_status") == "failed" or not st.get("last_good") else "OK"
    return {
        "device": name,
        "status": status,
        "last_good": st.get("last_good"),
        "age_seconds": None if age is None else round(age),
        "last_attempt": st.get("last_attempt"),
        "last_result": st.get("last_status"),
        "reason": st.get("last_reason"),
        "path": st.get("path") or path,
        "last_change": st.get("last_change"),
        "last_commit": st.get("last_commit"),
    }


class WebService:
    """The pages' data for one inventory (see the module docstring)."""

    def __init__(
        self,
        inventory_path: Path,
        *,
        backup_repo: Path,
        state_dir: Path,
        base_url: str | None = None,
    ) -> None:
        self.index = LiveIndex(inventory_path)
        self.repo = ConfigRepo(backup_repo)
        self.state_dir = Path(state_dir)
        self.base_url = base_url
        self._backup = JsonFile(backup_state_file(self.state_dir), backup_states)
        self._monitor = JsonFile(lastrun.last_run_path(self.state_dir, "monitor"), lastrun.summary)
        self._firmware = JsonFile(
            lastrun.last_run_path(self.state_dir, "firmware"), lastrun.summary
        )
        self._paths: tuple[int, dict[str, Device]] = (-1, {})
        self._lock = threading.Lock()
        self._background: list[threading.Thread] = []
        self._graph_checked = -GRAPH_INTERVAL

    # -- git's commit-graph ---------------------------------------------------------
    def refresh_graph_later(self) -> None:
        """Refresh git's commit-graph of the backup history in the background (at most
        once a minute), so path-limited history stays fast as commits are added."""
        now = time.monotonic()
        with self._lock:
            if now - self._graph_checked < GRAPH_INTERVAL:
                return
            self._graph_checked = now
            worker = threading.Thread(target=self.repo.ensure_commit_graph, name="commit-graph")
            self._background = [t for t in self._background if t.is_alive()] + [worker]
        worker.start()

    def join_background(self, timeout: float) -> None:
        """Wait for background work (a git process) to end, so none outlives the server."""
        for worker in list(self._background):
            worker.join(timeout)

    # -- look-ups -------------------------------------------------------------------
    def _device(self, index: InventoryIndex, name: str) -> Device:
        dev = index.device(name)
        if dev is None:
            hint = difflib.get_close_matches(name, [d.name for d in index.devices()], n=1)
            raise NotFound(
                f"no device '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        return dev

    def _where(self, index: InventoryIndex, names: set[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for name in sorted(names):
            dev = index.device(name, with_ports=False)
            if dev is not None:
                out[name] = {
                    "site": dev.site,
                    "rack": dict(dev.rack),
                    "platform": dev.platform,
                    "role": dev.role,
                }
        return out

    def search(self, query: str, limit: int = 50, *, redirect: bool = True) -> Page:
        """`/`: the search box; an exact label goes straight to its cable page (with
        `redirect`; the JSON twin lists the matches as `inventory find --json` does)."""
        query = query.strip()
        index = self.index.get()
        if redirect and query and index.cable(query) is not None:
            # the label of a cable in hand: no need to rank every other match
            return Page("search.html", query, {}, redirect=url_of("c", query))
        if not query:
            data = {"query": "", "truncated": False, "matches": []}
            return Page("search.html", "Search", data, {"matches": []})
        result = index.find(query, limit=limit)
        paths = exact_label_paths(index, result)
        data = find_payload(result, paths)
        return Page("search.html", f"Search: {query}", data, {"matches": result.matches})

    def cable(self, label: str) -> Page:
        """`/c/<label>`: both ends and the whole path, hop by hop, with where each
        device stands (the URL a cable's QR code points to)."""
        index = self.index.get()
        cable = index.cable(label)
        if cable is None:
            near = [m.cable.label for m in index.find(label, limit=5).matches if m.cable]
            near = near or difflib.get_close_matches(label, index.labels(), n=3)  # a typo
            hint = f" (did you mean {', '.join(sorted(set(near))[:3])}?)" if near else ""
            raise NotFound(f"no cable labeled '{label}'{hint}")
        path = index.trace_cable(cable)
        names = {h.a.device for h in path.hops} | {h.b.device for h in path.hops}
        data = {
            "cable": cable_dict(cable),
            "path": path.to_dict(),
            "devices": self._where(index, names),
        }
        return Page("cable.html", f"Cable {label}", data, {"cable": cable, "path": path})

    def device(self, name: str) -> Page:
        """`/d/<name>`: facts, every port with its cable and far end, the last backup,
        firmware status and health result."""
        index = self.index.get()
        dev = self._device(index, name)
        ports = device_ports(index, dev)
        data = device_payload(dev, ports)
        path = config_path(dev)
        data["backup"] = (
            backup_entry(dev.name, path, self._backup.get().get(dev.name))
            if dev.host and dev.platform != "patch_panel"
            else None
        )
        data["firmware"] = _entry_of(self._firmware.get(), dev.name)
        data["health"] = _entry_of(self._monitor.get(), dev.name)
        sites = dict(index.sites())
        view = {"dev": dev, "ports": ports, "site_description": sites.get(dev.site)}
        return Page("device.html", dev.name, data, view)

    def sheet(self, name: str) -> Page:
        """`/d/<name>/sheet`: every port's path on one printable page."""
        index = self.index.get()
        dev = self._device(index, name)
        ports = device_ports(index, dev)
        return Page(
            "sheet.html",
            f"{dev.name}: patch sheet",
            sheet_payload(dev, ports),
            {"dev": dev, "ports": ports, "printed": dt.datetime.now().strftime("%Y-%m-%d %H:%M")},
        )

    # -- configs (admin) ------------------------------------------------------------
    def _config_device(self, name: str) -> tuple[Device, str]:
        dev = self._device(self.index.get(), name)
        if self.repo.head() is None:
            raise NotFound(f"no backups yet in {self.repo.root}")
        return dev, config_path(dev)

    def config(self, name: str, rev: str | None = None) -> Page:
        """`/d/<name>/config`: the stored config (scrubbed), at `rev` or the newest."""
        dev, path = self._config_device(name)
        start = self.repo.resolve(rev) if rev else "HEAD"
        latest = self.repo.history(path, after=None, per_page=1) if not rev else None
        found = latest.versions if latest else self.repo.versions([start])
        text = self.repo.read([(start, path)])[0]
        if text is None or not found:
            raise NotFound(
                f"no stored config for {dev.name} ({path})" + (f" at {rev}" if rev else "")
            )
        version = found[0]
        shown = scrub_config(text, dev.platform)
        data = {
            "device": dev.name,
            "path": path,
            "rev": version.commit if not rev else start,
            "version": version.to_dict(),
            "config": shown,
        }
        return Page(
            "config.html", f"{dev.name}: config", data, {"dev": dev, "lines": shown.splitlines()}
        )

    def history(self, name: str, page: int = 1, after: str | None = None) -> Page:
        """`/d/<name>/history`: the versions, newest first, a page at a time."""
        dev, path = self._config_device(name)
        self.refresh_graph_later()
        hp = self.repo.history(path, page=page, per_page=HISTORY_PAGE, after=after)
        if not hp.versions and page == 1:
            raise NotFound(f"no stored config for {dev.name} ({path})")
        bases = [v.commit for v in hp.versions[1:]] + [hp.previous]
        data = {
            "device": dev.name,
            "path": path,
            "page": hp.page,
            "per_page": hp.per_page,
            "versions": [v.to_dict() for v in hp.versions],
            "older": hp.older,
        }
        view = {"dev": dev, "rows": list(zip(hp.versions, bases, strict=True))}
        return Page("history.html", f"{dev.name}: history", data, view)

    def diff(self, name: str, a: str | None = None, b: str | None = None) -> Page:
        """`/d/<name>/diff?a=&b=`: two versions side by side as a coloured diff (default:
        the last change)."""
        dev, path = self._config_device(name)
        if not a and not b:
            two = self.repo.latest_two(path)
            if not two:
                raise NotFound(f"no stored config for {dev.name} ({path})")
            b = two[0].commit
            a = two[1].commit if len(two) > 1 else None
        ids = [self.repo.resolve(r) for r in (a, b) if r]
        versions = self.repo.versions(ids)
        if len(versions) == 2 and _later(versions[0].date, versions[1].date):
            versions.reverse()  # older first, whichever way they were picked
        texts = self.repo.read([(v.commit, path) for v in versions])
        if all(t is None for t in texts):
            raise NotFound(f"no stored config for {dev.name} ({path}) in those versions")
        old_text, new_text = ["", *texts] if len(texts) == 1 else texts
        old = scrub_config(old_text or "", dev.platform)
        new = scrub_config(new_text or "", dev.platform)
        lines = diff_lines(old, new)
        old_v: Version | None = versions[0] if len(versions) == 2 else None
        new_v = versions[-1]
        prefix = {"hunk": "", "context": " ", "add": "+", "del": "-"}
        data = {
            "device": dev.name,
            "path": path,
            "a": old_v.to_dict() if old_v else None,
            "b": new_v.to_dict(),
            "identical": not lines,
            "lines": [ln.to_dict() for ln in lines],
            "diff": "".join(f"{prefix[ln.kind]}{ln.text}\n" for ln in lines),
        }
        view = {"dev": dev, "lines": lines, "a": old_v, "b": new_v}
        return Page("diff.html", f"{dev.name}: diff", data, view)

    def _devices_by_path(self) -> dict[str, Device]:
        index = self.index.get()
        with self._lock:
            if self._paths[0] != self.index.generation:
                self._paths = (
                    self.index.generation,
                    {config_path(d): d for d in index.devices()},
                )
            return self._paths[1]

    def config_search(self, query: str, ignore_case: bool = False) -> Page:
        """`/configs?q=REGEX`: matching lines of every device's newest stored config."""
        by_path = self._devices_by_path()

        def shown(path: str, text: str) -> str:
            dev = by_path.get(path)
            return scrub_config(text, dev.platform if dev else "")

        hits, truncated = self.repo.grep(query, shown, ignore_case=ignore_case)
        data = {
            "query": query,
            "ignore_case": ignore_case,
            "truncated": truncated,
            "hits": [
                {
                    "device": by_path[h.path].name if h.path in by_path else None,
                    "path": h.path,
                    "line": h.line,
                    "text": h.text,
                }
                for h in hits
            ],
        }
        return Page("configs.html", "Config search", data, {"hits": data["hits"]})

    # -- last results ---------------------------------------------------------------
    def health(self) -> Page:
        """`/health`: the last `monitor check` results, problems first."""
        return Page("health.html", "Health", dict(self._monitor.get()))

    def firmware(self) -> Page:
        """`/firmware`: the last `firmware check` results, problems first."""
        return Page("firmware.html", "Firmware", dict(self._firmware.get()))

    # -- labels ---------------------------------------------------------------------
    def label_rows(self, site: str | None) -> list[Any]:
        """The label rows of a site (all sites when None).

        Raises:
            NotFound: no such site.
        """
        index = self.index.get()
        if site and site not in dict(index.sites()):
            raise NotFound(f"no site '{site}'")
        return label_rows(index, site or None)

    def labels(self, site: str | None, base_url: str, sheet_page: int = 1) -> Page:
        """`/labels?site=S`: the printable label sheets with their QR codes."""
        from opskit.web.labels import cable_url, layout_sheets, render_svg_page

        rows = self.label_rows(site)
        data = labels_payload(rows)
        for entry in data["labels"]:
            entry["url"] = cable_url(base_url, entry["label"])
        data["base_url"] = base_url
        per = SHEETS_PER_PAGE * 21 // 2  # cables on one page of sheets
        page = max(1, sheet_page)
        chunk = rows[(page - 1) * per : page * per]
        sheets = [
            render_svg_page(s, link_base="", standalone=False)
            for s in layout_sheets(chunk, base_url)
        ]
        sites = [name for name, _ in self.index.get().sites()]
        view = {
            "sheets": sheets,
            "site": site or "",
            "sites": sites,
            "page": page,
            "more": len(rows) > page * per,
            "cables": len(rows),
        }
        return Page("labels.html", "Labels", data, view)


def _later(a: str, b: str) -> bool:
    ta, tb = parse_time(a), parse_time(b)
    return ta is not None and tb is not None and ta > tb


def _entry_of(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    for entry in summary.get("devices") or ():
        if entry.get("device") == name:
            return dict(entry)
    return None


__all__ = [
    "LiveIndex",
    "NotFound",
    "Page",
    "WebService",
    "backup_entry",
    "url_of",
]
