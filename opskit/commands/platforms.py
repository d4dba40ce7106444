"""`opskit platforms`: every platform file, its aliases and what it supports."""

from __future__ import annotations

from typing import Annotated

import typer


def platforms(
    json_out: Annotated[bool, typer.Option("--json", help="Machine output on stdout.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="The README's platform table (markdown).")
    ] = False,
) -> None:
    """List every platform with its aliases and what it supports (backup, TFTP push,
    restore, version scheme, version discovery)."""
    from opskit.platforms.summary import markdown_table, summaries

    rows = summaries()
    if json_out:
        from opskit.output import print_json

        print_json({"ok": True, "platforms": [r.to_dict() for r in rows]})
        return
    if markdown:
        typer.echo(markdown_table(rows), nl=False)
        return
    width = max(len(r.name) for r in rows)
    typer.echo(
        f"{'PLATFORM':<{width}}  BACKUP  TFTP  RESTORE    SCHEME    DISCOVERY           ALIASES"
    )
    for r in rows:
        typer.echo(
            f"{r.name:<{width}}  {'yes' if r.backup else '-':<6}  "
            f"{'yes' if r.tftp_push else '-':<4}  {','.join(r.restore) or '-':<9}  "
            f"{r.version_scheme:<8}  {','.join(r.discovery) or '-':<18}  "
            f"{', '.join(r.aliases) or '-'}"
        )
