"""`opskit demo`: a simulated shop on loopback, and the main job run on it."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from opskit.errors import ExitCode

CHANGED_DEVICE = "access-sw1"
CHANGED_INTERFACE = "FastEthernet0/1"
CHANGED_TEXT = "uplink to pp-1 port 1 (changed by opskit demo)"


def _steps() -> list[Any]:
    from opskit.lab.demo import Step

    return [
        Step("Check the inventory", ("inventory", "validate")),
        Step(
            "Back up every device: SSH, Telnet, and the runbook's TFTP flow",
            ("backup", "run"),
        ),
    ]


def _after_change_steps() -> list[Any]:
    from opskit.lab.demo import Step

    return [
        Step("Back up again: only the changed device makes a commit", ("backup", "run")),
        Step("What changed", ("backup", "diff", CHANGED_DEVICE)),
        Step("The git history of that device", ("backup", "history", CHANGED_DEVICE)),
        # A check that finds a real problem (CRITICAL, exit 2) is a check that worked.
        Step("Health of routers, switches and UPSes", ("monitor", "check"), (0, 1, 2)),
        Step("Firmware against the catalogue", ("firmware", "check"), (0, 1, 2)),
        Step("Where does cable A-001 go?", ("inventory", "trace", "A-001")),
    ]


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to write the inventory and history (default: a new temp dir)."
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the simulated devices running afterwards.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine output on stdout.")] = False,
) -> None:
    """Start a small simulated shop on 127.0.0.1 and run opskit's main job on it."""
    from opskit.errors import MissingDependencyError
    from opskit.lab import demo as lab_demo
    from opskit.output import print_json

    missing = lab_demo.missing_requirements()
    if missing:
        raise MissingDependencyError("opskit demo needs: " + "; ".join(missing))
    where = directory.resolve() if directory else lab_demo.default_directory()

    def say(text: str) -> None:
        if not json_out:
            typer.echo(text)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    color = sys.stdout.isatty() and not json_out
    previous = signal.signal(signal.SIGTERM, on_term)
    results: list[Any] = []
    lab = None
    mail_text = ""
    try:
        say(f"opskit demo: a simulated shop in {where}")
        lab = lab_demo.start_demo_lab(where, say)
        for note in lab.notes:
            say(f"note: {note}")

        def run(step: Any) -> None:
            say("")
            say(f"== {step.title}")
            say(f"$ opskit {' '.join(step.args)}")
            result = lab_demo.run_step(step, lab, color=color)
            results.append(result)
            say(result.output.rstrip("\n"))
            if not result.ok:
                say(f"(step failed: exit {result.exit_code})")

        for step in _steps():
            run(step)
        say("")
        say(f"== A change on the device: interface {CHANGED_INTERFACE} gets a new description")
        say(f"(over SSH to {CHANGED_DEVICE}: configure terminal / interface / description)")
        lab_demo.change_description(lab, CHANGED_DEVICE, CHANGED_INTERFACE, CHANGED_TEXT)
        after = _after_change_steps()
        run(after[0])
        say("")
        say("== The digest of that run, as the demo's SMTP server received it")
        mail = lab_demo.latest_mail(lab)
        mail_text = mail or "(no mail arrived)"
        say(mail_text.rstrip("\n"))
        for step in after[1:]:
            run(step)
        # last: the pages, on the same inventory, history and check results
        web = lab_demo.try_web(lab)
        results.append(web)
        say("")
        say(f"== {web.title}")
        say(f"$ {web.command}")
        say(web.output.rstrip("\n"))
    except KeyboardInterrupt:
        typer.echo("opskit demo: interrupted; stopping the simulated devices", err=True)
        if lab is not None:
            lab.stop()
        raise typer.Exit(130) from None  # 128 + SIGINT, as a shell reports it
    finally:
        signal.signal(signal.SIGTERM, previous)
        if lab is not None and not keep:
            lab.stop()

    assert lab is not None
    ok = all(r.ok for r in results)
    summary = {
        "ok": ok,
        "directory": str(where),
        "inventory": str(lab.inventory),
        "history": str(where / "configs"),
        "kept_running": keep,
        "pids": lab.pids() if keep else [],
        "notes": lab.notes,
        "digest_mail": mail_text,
        "steps": [
            {
                "title": r.title,
                "command": r.command,
                "exit_code": r.exit_code,
                "ok": r.ok,
                "duration_s": r.duration_s,
                "output": r.output,
            }
            for r in results
        ],
    }
    if json_out:
        print_json(summary)
    else:
        failed = [r for r in results if not r.ok]
        say("")
        say("== Summary")
        say(
            f"{len(results) - len(failed)} of {len(results)} steps worked"
            + (f"; failed: {', '.join(r.command for r in failed)}" if failed else ".")
        )
        say(f"inventory:   {lab.inventory}")
        say(f"git history: {where / 'configs'}  (git -C {where / 'configs'} log -p)")
        if keep:
            pids = " ".join(str(p) for p in lab.pids())
            say(f"the simulated devices are still running; stop them with: kill {pids}")
        exe = _opskit_command()
        inv = f"-i {lab.inventory}"
        say("try next:")
        say(f"  {exe} {inv} inventory find A-003")
        say(f"  {exe} {inv} monitor check --format nagios")
        say(f"  {exe} {inv} backup status --max-age 1d")
        say("and the pages, for a phone at the rack and the admin's browser:")
        say(f"  {exe} {inv} web")
        say(
            "  then open http://127.0.0.1:8080/c/A-001 "
            "(this machine only until settings.web has users)"
        )
    sys.stdout.flush()
    raise typer.Exit(ExitCode.OK if ok else ExitCode.FAILED)


def _opskit_command() -> str:
    """How the user can type opskit: `opskit` when this one is on PATH, else its path."""
    import shutil
    from pathlib import Path

    mine = Path(sys.executable).parent / "opskit"
    found = shutil.which("opskit")
    if found and Path(found).resolve() == mine.resolve():
        return "opskit"
    return str(mine) if mine.exists() else "opskit"
