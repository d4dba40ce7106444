"""`opskit inventory ...` commands (parse, call the library, render).

Read-only commands (show, find, port, trace, labels) work from the cached index
(`opskit.inventory.index`), so they start fast on a big inventory; nothing heavier than
the index is imported on their path, and rich only when stdout is a terminal.

Every line of text goes out through `_out`/`_echo`/`_table`, which escape control
characters (`opskit.output.escape_control`): validation refuses them, but a terminal is
not the place to find out that something slipped through.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt
from opskit.errors import ExitCode, InputError

if TYPE_CHECKING:
    from opskit.inventory import Inventory, Problem
    from opskit.inventory.edit import EditResult
    from opskit.inventory.index import InventoryIndex, TracePath
    from opskit.inventory.model import Cable, Endpoint

app = typer.Typer(no_args_is_help=True)
cable_app = typer.Typer(no_args_is_help=True, help="Add, remove, relabel or move a cable.")
app.add_typer(cable_app, name="cable")

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the diff; write nothing.")]
SideOpt = Annotated[
    str | None, typer.Option("--side", help="Patch-panel side: front or rear (default both).")
]


# -- rendering helpers -------------------------------------------------------------
def _index() -> InventoryIndex:
    from opskit.inventory.index import open_index

    return open_index(STATE.inventory_path)


def _json(payload: Any) -> None:
    from opskit.output import print_json

    print_json(payload)


def _echo(text: str, err: bool = False) -> None:
    """A line of plain text, control characters made visible."""
    from opskit.output import escape_control

    typer.echo(escape_control(text), err=err)


def _out(text: str) -> None:
    """A line of text: plain in a pipe; on a terminal, cable labels in bold (rich)."""
    from opskit.output import escape_control, stdout_is_terminal

    text = escape_control(text)
    if not stdout_is_terminal():
        typer.echo(text)
        return
    from rich.text import Text

    line = Text(text)
    line.highlight_regex(r"(?<=-\[)[^\]]+(?=\]->)", "bold")  # labels on a path
    line.highlight_regex(r"^(cable|port|device|note)  +\S+", "bold")
    line.highlight_regex(r"\(no cable[^)]*\)\)?|: no cable", "yellow")
    _terminal_console().print(line)


@functools.cache
def _terminal_console() -> Any:
    from opskit.output import get_console

    return get_console()


def _end_text(end: Endpoint, panel_side: bool = True) -> str:
    if end.side is None or not panel_side:
        return f"{end.device} {end.port}"
    return f"{end.device} {end.port} ({end.side})"


def _cable_details(c: Cable) -> str:
    bits = [c.color or "", f"{c.length_m:g} m" if c.length_m is not None else "", c.type or ""]
    bits += [c.status or "", c.note or ""]
    return ", ".join(b for b in bits if b)


def _cable_line(c: Cable) -> str:
    details = _cable_details(c)
    return f"{c.label}  {_end_text(c.a)} <-> {_end_text(c.b)}" + (
        f"  [{details}]" if details else ""
    )


def _path_text(path: TracePath, with_start: bool = True) -> str:
    """`sw1 Gi1/0/1 -[A-1]-> pp-1 1 (front->rear) -[B-1]-> srv1 eth0`."""
    if not path.hops:
        return f"{_end_text(path.start)}: no cable" if with_start else "-"
    parts = [_end_text(path.hops[0].a)] if with_start else []
    for i, hop in enumerate(path.hops):
        arrow = f"-[{hop.cable.label}]->"
        if i + 1 < len(path.hops):
            nxt = path.hops[i + 1].a
            # a panel wired other than front N <-> rear N names the port it leaves by
            other = nxt.side if nxt.port == hop.b.port else f"{nxt.side} {nxt.port}"
            parts.append(f"{arrow} {hop.b.device} {hop.b.port} ({hop.b.side}->{other})")
        else:
            parts.append(f"{arrow} {_end_text(hop.b)}")
    text = " ".join(parts)
    cabled = {path.hops[0].a, path.hops[-1].b}
    for end in path.open_ends:
        if end in cabled:  # a front port wired to no rear port
            text += f"  ({_end_text(end)} leads to no rear port)"
        else:
            text += f"  (no cable on {_end_text(end)})"
    for end in path.split_at:
        text += f"  (splits at {_end_text(end)}: several positions)"
    return text


def _table(title: str | None, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; plain aligned columns in a pipe or file."""
    from opskit.output import escape_control, stdout_is_terminal

    rows = [[escape_control(cell) for cell in row] for row in rows]
    if stdout_is_terminal():
        from rich.table import Table

        from opskit.output import get_console

        table = Table(title=title, show_lines=False, header_style="bold")
        for h in headers:
            table.add_column(h)
        for row in rows:
            table.add_row(*row)
        get_console().print(table, markup=False)
        return
    if title:
        typer.echo(escape_control(title))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _panel_side(side: str | None) -> str | None:
    if side is not None and side not in ("front", "rear"):
        from opskit.errors import InputError

        raise InputError(f"--side must be front or rear, not '{side}'")
    return side


def _device_or_fail(index: InventoryIndex, name: str) -> Any:
    import difflib

    from opskit.errors import InputError

    device = index.device(name)
    if device is None:
        hint = difflib.get_close_matches(name, [d.name for d in index.devices()], n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(f"{STATE.inventory_path.name}: no device '{name}'{suggestion}")
    return device


# -- validate ----------------------------------------------------------------------
def _section_problems(inventory: Inventory) -> list[Problem]:
    """Problems in the sections other commands own (`notify:`, `settings.web`): each is
    checked by its own parser, so `validate` finds what `backup run` or `web` would refuse.
    """
    import re

    from opskit.inventory import Problem
    from opskit.notify.config import load_channels
    from opskit.web.settings import load_web_settings

    found: list[Problem] = []
    for check in (load_channels, load_web_settings):
        try:
            check(inventory)
        except InputError as exc:
            m = re.match(r"^(?P<file>[^:]+?)(?::(?P<line>\d+))?: (?P<message>.*)$", str(exc))
            line = int(m["line"]) if m and m["line"] else 0
            message = m["message"] if m else str(exc)
            found.append(Problem("error", Path(inventory.path), (), message, line=line))
    return found


@app.command("validate")
def validate(json_out: JsonOpt = False) -> None:
    """Check the inventory and list every problem (exit 2 if any error)."""
    from opskit.inventory import build_inventory, locate_problems
    from opskit.inventory.index import InventoryIndex, read_cached_index, write_cached_index

    inventory, problems = build_inventory(STATE.inventory_path)
    problems = locate_problems(problems)
    if not any(p.severity == "error" for p in problems):
        problems += _section_problems(inventory)
    errors = [p for p in problems if p.severity == "error"]
    if not errors and read_cached_index(STATE.inventory_path) is None:
        # The next find/trace starts from this.
        write_cached_index(STATE.inventory_path, InventoryIndex.from_inventory(inventory))
    if json_out:
        _json(
            {
                "ok": not errors,
                "files": [str(f) for f in inventory.files],
                "sites": len(inventory.sites),
                "devices": len(inventory.devices),
                "cables": len(inventory.cables),
                "errors": len(errors),
                "warnings": len(problems) - len(errors),
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            _echo(f"{p.severity}: {p}", err=True)
        summary = (
            f"{len(inventory.sites)} sites, {len(inventory.devices)} devices, "
            f"{len(inventory.cables)} cables"
        )
        warnings = len(problems) - len(errors)
        if errors:
            _echo(
                f"{inventory.path}: {len(errors)} errors, {warnings} warnings ({summary})",
                err=True,
            )
        else:
            _echo(f"{inventory.path}: ok ({summary}{f', {warnings} warnings' if warnings else ''})")
    raise typer.Exit(ExitCode.BAD_INPUT if errors else ExitCode.OK)


# -- shards ------------------------------------------------------------------------
@app.command("shards")
def shards(json_out: JsonOpt = False) -> None:
    """How many devices each shard (poller) holds, from which sites, assigned how."""
    from opskit.inventory import load_inventory, shard_summaries

    inventory = load_inventory(STATE.inventory_path)
    summaries = shard_summaries(inventory)
    unsharded = sum(1 for d in inventory.devices.values() if d.shard is None)
    if json_out:
        _json(
            {
                "ok": True,
                "count": inventory.settings.shard_count,
                "unsharded": unsharded,
                "shards": [
                    {
                        "shard": s.shard,
                        "devices": s.devices,
                        "sites": list(s.sites),
                        "assigned_by": dict(s.assigned_by),
                    }
                    for s in summaries
                ],
            }
        )
        return
    rows = [
        [
            s.shard,
            str(s.devices),
            _clip(", ".join(s.sites), 40),
            ", ".join(f"{how} {n}" for how, n in s.assigned_by.items()),
        ]
        for s in summaries
    ]
    if unsharded:
        rows.append(["(none)", str(unsharded), "", "no shard: and no settings.shards"])
    _table(None, ["shard", "devices", "sites", "assigned by"], rows)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# -- show --------------------------------------------------------------------------
@app.command("show")
def show(
    device: Annotated[str | None, typer.Argument(help="One device (default: list all).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Devices, or one device with its ports and what each connects to."""
    index = _index()
    if site is not None and site not in {name for name, _ in index.sites()}:
        from opskit.errors import InputError

        raise InputError(f"{STATE.inventory_path.name}: no site '{site}'")
    if device is None:
        devices = [d for d in index.devices() if site is None or d.site == site]
        if json_out:
            _json(
                {
                    "devices": [
                        {
                            "name": d.name,
                            "site": d.site,
                            "platform": d.platform,
                            "host": d.host,
                            "role": d.role,
                            "rack": dict(d.rack),
                            "tags": list(d.tags),
                            "description": d.description,
                        }
                        for d in devices
                    ]
                }
            )
            return
        rows = [
            [
                d.name,
                d.site,
                d.platform,
                d.host or "",
                d.role or "",
                _rack_text(d.rack),
                d.description or "",
            ]
            for d in devices
        ]
        _table(None, ["DEVICE", "SITE", "PLATFORM", "HOST", "ROLE", "RACK", "DESCRIPTION"], rows)
        return
    from opskit.inventory.views import device_payload, device_ports

    dev = _device_or_fail(index, device)
    views = device_ports(index, dev)
    if json_out:
        _json(device_payload(dev, views))
        return
    ports = [(v.port, v.cable, v.far_end, v.path) for v in views]
    facts = [
        ("site", dev.site),
        ("platform", dev.platform),
        ("host", f"{dev.host}:{dev.port}" if dev.host and dev.port else dev.host),
        ("role", dev.role),
        ("rack", _rack_text(dev.rack)),
        ("tags", ", ".join(dev.tags)),
        ("credentials", dev.credentials),
        ("model", dev.model),
        ("description", dev.description),
    ]
    _echo(dev.name)
    for key, value in facts:
        if value:
            _echo(f"  {key + ':':13}{value}")
    if ports:
        rows = [
            [
                p.name,
                p.side or "",
                p.description or "",
                c.label if c else "-",
                _end_text(f) if f else "",
                _end_text(t.end) if t and f and t.end != f else "",
            ]
            for p, c, f, t in ports
        ]
        headers = ["PORT", "SIDE", "DESCRIPTION", "CABLE", "CONNECTS TO", "PATH ENDS AT"]
        if not any(p.side for p, *_ in ports):
            headers.pop(1)
            rows = [r[:1] + r[2:] for r in rows]
        typer.echo("")
        _table(None, headers, rows)


def _rack_text(rack: Any) -> str:
    if not rack:
        return ""
    unit = rack.get("unit")
    return f"{rack.get('name', '')}" + (f" U{unit}" if unit is not None else "")


def _end(device: str, port: str, side: str | None) -> Endpoint:
    from opskit.inventory.model import Endpoint

    return Endpoint(device, port, side)


# -- find / port / trace -----------------------------------------------------------
@app.command("find")
def find(
    text: Annotated[str, typer.Argument(help="A cable label, port, device or description.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many hits.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Find a cable by the label printed on it (both ends), or a port, device, text."""
    from opskit.inventory.views import exact_label_paths, find_payload

    index = _index()
    result = index.find(text, limit=limit)
    paths = exact_label_paths(index, result)
    if json_out:
        _json(find_payload(result, paths))
    else:
        for m in result.matches:
            if m.kind == "label" or (m.cable is not None and m.device is None):
                assert m.cable is not None
                _out(f"{'cable' if m.kind == 'label' else 'note':8}{_cable_line(m.cable)}")
                if m.cable.label in paths and len(paths[m.cable.label].hops) > 1:
                    _out(f"{'path':8}{_path_text(paths[m.cable.label])}")
            elif m.port is not None:
                where = _end_text(_end(m.device or "", m.port, m.side))
                desc = f'  "{m.description}"' if m.description else ""
                if m.cable is not None:
                    far = m.cable.far_end(_end(m.device or "", m.port, m.side))
                    cab = f"  -[{m.cable.label}]-> {_end_text(far)}"
                else:
                    cab = "  (no cable)"
                _out(f"{'port':8}{where}{cab}{desc}")
            else:
                desc = f'  "{m.description}"' if m.description else ""
                _out(f"{'device':8}{m.device}{desc}")
        if result.truncated:
            typer.echo(f"... more matches (raise --limit above {limit})", err=True)
    if not result.matches:
        _echo(f"opskit: nothing matches '{text}'", err=True)
        raise typer.Exit(ExitCode.FAILED)


def _port_or_fail(index: InventoryIndex, device: str, port: str, side: str | None) -> list[Any]:
    import difflib

    from opskit.errors import InputError

    dev = _device_or_fail(index, device)
    entries = [(p, label) for p, label in index.ports(dev.name) if p.name == port]
    if side is not None:
        entries = [(p, label) for p, label in entries if p.side == side]
    if not entries:
        names = sorted({p.name for p, _ in index.ports(dev.name)})
        hint = difflib.get_close_matches(port, names, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(f"port '{port}' is not a port of device '{device}'{suggestion}")
    return entries


@app.command("port")
def port(
    device: Annotated[str, typer.Argument(help="Device name.")],
    port_name: Annotated[str, typer.Argument(metavar="PORT", help="Port name.")],
    side: SideOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The cable in a port and its far end (and where the path through panels ends)."""
    from opskit.inventory.views import cable_dict, end_dict

    index = _index()
    entries = _port_or_fail(index, device, port_name, _panel_side(side))
    out = []
    for p, label in entries:
        here = _end(device, p.name, p.side)
        cable = index.cable(label) if label else None
        path = index.trace_cable(cable, start=here) if cable else None
        out.append((p, here, cable, path))
    if json_out:
        _json(
            {
                "ports": [
                    {
                        "device": device,
                        "port": p.name,
                        "side": p.side,
                        "description": p.description,
                        "cable": cable_dict(c) if c else None,
                        "far_end": end_dict(c.far_end(here)) if c else None,
                        "path": t.to_dict() if t else None,
                    }
                    for p, here, c, t in out
                ]
            }
        )
        return
    for p, here, cable, path in out:
        desc = f'  "{p.description}"' if p.description else ""
        if cable is None:
            _out(f"{_end_text(here)}: no cable{desc}")
            continue
        _out(f"{_end_text(here)}{desc}")
        _out(f"  cable    {_cable_line(cable)}")
        _out(f"  far end  {_end_text(cable.far_end(here))}")
        if path is not None and len(path.hops) > 1:
            _out(f"  path     {_path_text(path)}")


@app.command("trace")
def trace(
    target: Annotated[
        str | None, typer.Argument(help="A cable LABEL, or a DEVICE followed by its PORT.")
    ] = None,
    port_name: Annotated[str | None, typer.Argument(metavar="[PORT]", help="Port name.")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="Every port of this device: a printable sheet.")
    ] = None,
    side: SideOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The whole path of a cable or port through patch panels, each hop with its label."""
    from opskit.errors import InputError

    index = _index()
    side = _panel_side(side)
    if device is not None:
        _trace_sheet(index, device, json_out)
        return
    if target is None:
        raise InputError("trace: give a cable LABEL, DEVICE PORT, or --device DEVICE")
    if port_name is None:
        cable = index.cable(target)
        if cable is None:
            raise InputError(
                f"{STATE.inventory_path.name}: no cable labeled '{target}' "
                "(to trace a port, give DEVICE PORT)"
            )
        paths = [index.trace_cable(cable)]
    else:
        entries = _port_or_fail(index, target, port_name, side)
        is_panel = any(p.side for p, _ in entries)
        if is_panel and side is None:
            paths = [index.trace_port(target, port_name)]
        else:
            paths = [index.trace_port(target, p.name, p.side) for p, _ in entries]
    if json_out:
        _json(paths[0].to_dict() if len(paths) == 1 else {"paths": [p.to_dict() for p in paths]})
        return
    for path in paths:
        _out(_path_text(path))
        for i, hop in enumerate(path.hops, 1):
            details = _cable_details(hop.cable)
            _out(
                f"  {i}. {hop.cable.label:10} {_end_text(hop.a)} -> {_end_text(hop.b)}"
                + (f"  [{details}]" if details else "")
            )


def _trace_sheet(index: InventoryIndex, name: str, json_out: bool) -> None:
    from opskit.inventory.views import device_ports, sheet_payload

    dev = _device_or_fail(index, name)
    views = device_ports(index, dev)
    if json_out:
        _json(sheet_payload(dev, views))
        return
    rows = [(v.port, v.path) for v in views]
    where = ", ".join(x for x in (f"site {dev.site}", _rack_text(dev.rack), dev.host or "") if x)
    _out(f"{dev.name} ({where}): every port's path")
    _out(f"from {STATE.inventory_path}")
    _out("")
    width = max([len(p.name) + (len(p.side) + 3 if p.side else 0) for p, _ in rows] + [4])
    for p, path in rows:
        name_text = f"{p.name} ({p.side})" if p.side else p.name
        here = _end(dev.name, p.name, p.side)
        if path is None:
            line = "-" + (f'  "{p.description}"' if p.description else "")
        else:
            # A port at the start of its path: the hops from it. A panel port sits inside
            # the path: the whole path.
            line = _path_text(path, with_start=path.hops[0].a != here)
        _out(f"{name_text.ljust(width)}  {line}")


# -- labels ------------------------------------------------------------------------
@app.command("labels")
def labels(
    site: Annotated[str | None, typer.Option("--site", help="Cables with an end here.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, csv, or a sheet with QR codes: svg or pdf.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the svg/pdf sheet here.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="QR codes open BASE_URL/c/LABEL (default: settings.web)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Both-end label text for a label printer: `A-017  sw1 Gi1/0/17 <-> pp-1 17`; or
    A4 sheets of labels with a QR code each (`--format svg|pdf`)."""
    from opskit.errors import InputError
    from opskit.inventory.views import label_rows, labels_payload

    if fmt not in ("text", "csv", "svg", "pdf"):
        raise InputError(f"--format must be text, csv, svg or pdf, not '{fmt}'")
    index = _index()
    if site is not None and site not in {s for s, _ in index.sites()}:
        raise InputError(f"{STATE.inventory_path.name}: no site '{site}'")
    rows = label_rows(index, site)
    if fmt in ("svg", "pdf"):
        _label_sheet(rows, fmt, output, base_url, json_out)
        return
    if json_out:
        _json(labels_payload(rows))
        return
    if fmt == "csv":
        import csv
        import sys

        from opskit.output import escape_control

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["label", "a", "b", "color", "length_m"])
        for r in rows:
            c = r.cable
            cells = [c.label, r.a, r.b, c.color or ""]
            writer.writerow([*map(escape_control, cells), "" if c.length_m is None else c.length_m])
        return
    width = max([len(r.cable.label) for r in rows] + [1])
    for r in rows:
        _echo(f"{r.cable.label.ljust(width)}  {r.a} <-> {r.b}")


def _label_sheet(
    rows: list[Any], fmt: str, output: Path | None, base_url: str | None, json_out: bool
) -> None:
    import sys

    from opskit.errors import InputError
    from opskit.web.labels import layout_sheets, render_pdf, render_svg

    if output is None and fmt == "pdf" and sys.stdout.isatty():
        raise InputError("a PDF on the terminal is no use: give --output FILE (or redirect)")
    if base_url is None:
        from opskit.inventory import load_inventory
        from opskit.web.settings import labels_base_url

        base_url, given = labels_base_url(load_inventory(STATE.inventory_path))
        if not given:
            typer.echo(
                f"warning: settings.web.base_url is not set: the QR codes open {base_url}, "
                "which a phone cannot reach (set it, or give --base-url)",
                err=True,
            )
    pages = layout_sheets(rows, base_url)
    data = render_pdf(pages) if fmt == "pdf" else render_svg(pages).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from opskit.fileio import write_atomic

    write_atomic(output, data, mode=0o644)
    if json_out:
        _json({"file": str(output), "format": fmt, "labels": 2 * len(rows), "pages": len(pages)})
    else:
        sheets = f"{len(pages)} page" + ("s" if len(pages) != 1 else "")
        typer.echo(f"wrote {output}: {2 * len(rows)} labels on {sheets}", err=True)


# -- cable edits -------------------------------------------------------------------
def _report_edit(result: EditResult, json_out: bool) -> None:
    if json_out:
        _json(
            {
                "ok": True,
                "action": result.action,
                "label": result.label,
                "file": str(result.file),
                "written": result.written,
                "diff": result.diff,
            }
        )
        return
    from opskit.output import escape_control

    typer.echo(escape_control(result.diff, keep_newlines=True), nl=False)
    verb = "wrote" if result.written else "dry run, not written:"
    _echo(f"{verb} {result.file}", err=True)


@cable_app.command("add")
def cable_add(
    label: Annotated[str, typer.Argument(help="The label printed on the cable.")],
    a: Annotated[str, typer.Argument(help="One end: DEVICE:PORT (PANEL:rear:N for a rear).")],
    b: Annotated[str, typer.Argument(help="The other end.")],
    color: Annotated[str | None, typer.Option("--color")] = None,
    length_m: Annotated[float | None, typer.Option("--length-m", min=0)] = None,
    cable_type: Annotated[str | None, typer.Option("--type", help="cat6, om4, dac ...")] = None,
    status: Annotated[str | None, typer.Option("--status", help="planned, connected ...")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Add a cable to the main inventory file (validated, written atomically)."""
    import math

    from opskit.inventory.edit import add_cable

    if length_m is not None and not math.isfinite(length_m):
        from opskit.errors import InputError

        raise InputError(f"--length-m must be a finite number, not '{length_m}'")
    length: float | int | None = length_m
    if length_m is not None and float(length_m).is_integer():
        length = int(length_m)
    result = add_cable(
        STATE.inventory_path,
        label,
        a,
        b,
        dry_run=dry_run,
        color=color,
        length_m=length,
        type=cable_type,
        status=status,
        note=note,
    )
    _report_edit(result, json_out)


@cable_app.command("remove")
def cable_remove(
    label: Annotated[str, typer.Argument(help="The cable's label.")],
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove a cable (from whichever file holds it)."""
    from opskit.inventory.edit import remove_cable

    _report_edit(remove_cable(STATE.inventory_path, label, dry_run=dry_run), json_out)


@cable_app.command("relabel")
def cable_relabel(
    old: Annotated[str, typer.Argument(help="The current label.")],
    new: Annotated[str, typer.Argument(help="The new label.")],
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Give a cable a new label."""
    from opskit.inventory.edit import relabel_cable

    _report_edit(relabel_cable(STATE.inventory_path, old, new, dry_run=dry_run), json_out)


@cable_app.command("move")
def cable_move(
    label: Annotated[str, typer.Argument(help="The cable's label.")],
    a: Annotated[str | None, typer.Option("--a", help="New A end: DEVICE:PORT.")] = None,
    b: Annotated[str | None, typer.Option("--b", help="New B end: DEVICE:PORT.")] = None,
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Plug one or both ends of a cable into other ports."""
    from opskit.inventory.edit import move_cable

    _report_edit(move_cable(STATE.inventory_path, label, a=a, b=b, dry_run=dry_run), json_out)
