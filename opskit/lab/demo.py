"""`opskit demo`: a small simulated shop on 127.0.0.1, and opskit's main job run on it.

The shop: three Cisco-like devices in one fake-switches process (core-r1 backed up over
SSH, access-sw1 over Telnet, branch-r1 by the runbook's `copy running-config tftp:` to
opskit's own TFTP server), snmpsim agents for them and for a UPS-MIB UPS, a NUT UPS
when NUT's upsd is installed, and an SMTP server (aiosmtpd) that receives the run
digests. It writes a matching inventory (with labeled cables through a patch panel, and
a `notify:` channel to that server), a firmware catalogue and the devices' secrets (files,
mode 0600) into the demo directory, then runs the real `opskit` commands against it, each
as its own process, exactly as a user would type them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opskit.lab.peers import Peer, free_port, wait_until

DATA = Path(__file__).resolve().parent / "data"

# Which recording each simulated device's SNMP agent serves (community = device name).
SNMP_RECORDINGS = {
    "core-r1": "cisco-router.snmprec",
    "access-sw1": "switch48-a.snmprec",
    "branch-r1": "cisco-router.snmprec",
}
UPS_RECORDING_CANDIDATES = ("ups-online.snmprec", "ups-mib-online.snmprec")
# The fake switches' logins (opskit.lab.fakeswitch defaults); fake secrets, demo only.
LAB_USERNAME, LAB_PASSWORD, LAB_ENABLE = "admin", "admin", "enablepw"


@dataclass(frozen=True, slots=True)
class Step:
    """One command the demo runs, and the exit codes that count as "it worked"."""

    title: str
    args: tuple[str, ...]
    ok_codes: tuple[int, ...] = (0,)


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step printed and how it ended."""

    title: str
    command: str
    exit_code: int
    ok: bool
    output: str
    duration_s: float


@dataclass
class DemoLab:
    """The running simulated shop: where its files are and the peers to stop."""

    directory: Path
    inventory: Path
    peers: list[Any] = field(default_factory=list)
    ssh_ports: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    nut: bool = False
    mail_dir: Path | None = None

    def pids(self) -> list[int]:
        """Process ids of every peer (for --keep and for the tests' leak check)."""
        out: list[int] = []
        for peer in self.peers:
            for proc in _processes_of(peer):
                out.append(proc.pid)
        return out

    def stop(self) -> None:
        """Stop every peer (SIGTERM, then SIGKILL); safe to call twice."""
        while self.peers:
            peer = self.peers.pop()
            with suppress(Exception):
                peer.stop()


def _processes_of(peer: Any) -> list[Any]:
    # FakeSwitches and SnmpAgent wrap one Peer (.peer); NutLab has upsd and its drivers;
    # the SMTP server is a Peer itself.
    if isinstance(peer, Peer):
        return [peer.proc]
    peers = [getattr(peer, "peer", None), getattr(peer, "upsd", None)]
    peers += list((getattr(peer, "drivers", None) or {}).values())
    return [p.proc for p in peers if p is not None]


def missing_requirements() -> list[str]:
    """What the demo needs that is not installed, as install hints (empty when all is there)."""
    missing = []
    try:
        import fake_switches  # noqa: F401
        import twisted  # noqa: F401
    except ImportError:
        missing.append(
            "fake-switches: pip install --no-deps fake-switches==1.5.0 && pip install -e '.[lab]'"
        )
    try:
        from opskit.lab.snmp import snmpsim_binary

        snmpsim_binary()
    except (ImportError, FileNotFoundError):
        missing.append("snmpsim: pip install -e '.[lab]'")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        missing.append("aiosmtpd (the demo's SMTP server): pip install -e '.[lab]'")
    if shutil.which("tftp") is None:
        missing.append(
            "tftp-hpa's client (the simulated router's TFTP push): apt-get install tftp-hpa"
        )
    return missing


def nut_available() -> bool:
    """True when NUT's upsd and dummy-ups driver are installed."""
    try:
        from opskit.lab.nut import nut_binaries

        nut_binaries()
    except (ImportError, FileNotFoundError, OSError):
        return False
    return True


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")


def _ups_recording() -> Path | None:
    snmp = DATA / "snmp"
    for name in UPS_RECORDING_CANDIDATES:
        if (snmp / name).exists():
            return snmp / name
    found = sorted(snmp.glob("ups-*online*.snmprec")) or sorted(snmp.glob("ups-*.snmprec"))
    return found[0] if found else None


def write_inventory(
    directory: Path,
    *,
    switches: Any,
    snmp_port: int,
    tftp_port: int,
    ups_snmp: bool,
    nut_port: int | None,
    smtp_port: int | None = None,
) -> Path:
    """Write the demo's inventory.yaml (and secrets/) describing the simulated shop."""
    secrets = directory / "secrets"
    _write_secret(secrets / "cli-password", LAB_PASSWORD)
    _write_secret(secrets / "enable", LAB_ENABLE)
    for device in (*SNMP_RECORDINGS, "ups-1"):
        _write_secret(secrets / f"community-{device}", device)
    core, access, branch = switches["core-r1"], switches["access-sw1"], switches["branch-r1"]
    lines = [
        "# opskit demo inventory: a small simulated shop on 127.0.0.1 (written by `opskit demo`).",
        "# Secrets live in secrets/ (files, mode 0600); nothing secret is written here.",
        "settings:",
        "  backup_repo: configs          # the git history of every device's config",
        "  state_dir: .opskit",
        "  firmware_catalog: firmware.yaml",
        "  workers: 8",
        "  tftp:",
        f'    listen: "127.0.0.1:{tftp_port}"   # opskit\'s own TFTP server binds here',
        '    address: "127.0.0.1"              # ...and the router is told this address',
        "  timeouts: {connect: 20, command: 60, snmp: 2}",
        "",
        "credentials:",
        "  lab-cli:",
        f"    username: {LAB_USERNAME}",
        "    password_file: secrets/cli-password",
        "    enable_password_file: secrets/enable",
    ]
    for device in (*SNMP_RECORDINGS, "ups-1"):
        lines += [f"  snmp-{device}:", f"    community_file: secrets/community-{device}"]
    if nut_port is not None:
        from opskit.lab.nut import MONITOR_PASSWORD, MONITOR_USER

        _write_secret(secrets / "nut-monitor", MONITOR_PASSWORD)
        lines += [
            "  nut-monitor:",
            f"    username: {MONITOR_USER}",
            "    password_file: secrets/nut-monitor",
        ]
    lines += [
        "",
        "defaults:",
        "  credentials: lab-cli",
        "",
        "sites:",
        "  hq: {address: 1 Main Street, description: Head office}",
        "  branch: {description: Branch office}",
        "",
        "devices:",
        "  core-r1:",
        "    site: hq",
        "    host: 127.0.0.1",
        f"    port: {core.ssh_port}",
        "    platform: cisco_xe",
        "    role: core",
        "    backup: {method: ssh}",
        f"    snmp: {{version: 2c, credentials: snmp-core-r1, port: {snmp_port}}}",
        "    ports: [FastEthernet0/1-12]",
        "  access-sw1:",
        "    site: hq",
        "    host: 127.0.0.1",
        f"    port: {access.telnet_port}",
        "    platform: cisco_ios",
        "    role: access",
        "    backup: {method: telnet}",
        f"    snmp: {{version: 2c, credentials: snmp-access-sw1, port: {snmp_port}}}",
        "    ports: [FastEthernet0/1-12]",
        "  branch-r1:",
        "    site: branch",
        "    host: 127.0.0.1",
        f"    port: {branch.ssh_port}",
        "    platform: cisco_xe",
        "    role: core",
        "    # The runbook's flow: log in, ping the TFTP server, copy running-config tftp:",
        "    backup: {method: tftp, via: ssh, ping: true}",
        f"    snmp: {{version: 2c, credentials: snmp-branch-r1, port: {snmp_port}}}",
        "    ports: [FastEthernet0/1-12]",
        "  pp-1:",
        "    site: hq",
        "    platform: patch_panel",
        "    ports: [1-24]",
    ]
    if ups_snmp:
        lines += [
            "  ups-1:",
            "    site: hq",
            "    host: 127.0.0.1",
            "    platform: ups_snmp",
            f"    snmp: {{version: 2c, credentials: snmp-ups-1, port: {snmp_port}}}",
        ]
    if nut_port is not None:
        lines += [
            "  ups-2:",
            "    site: hq",
            "    host: 127.0.0.1",
            "    platform: ups_nut",
            f"    nut: {{ups: rack1, port: {nut_port}, credentials: nut-monitor}}",
        ]
    lines += [
        "",
        "# Labeled cables: switch ports to the panel's front, the panel's rear to the router.",
        "cables:",
    ]
    for n in range(1, 5):
        label = f"A-{n:03d}"
        lines.append(
            f"  - {{label: {label}, a: 'access-sw1:FastEthernet0/{n}', b: 'pp-1:{n}', color: blue}}"
        )
    lines += [
        "  - {label: B-001, a: {device: pp-1, port: '1', side: rear}, b: 'core-r1:FastEthernet0/1',"
        " color: yellow}",
        "  - {label: B-002, a: {device: pp-1, port: '2', side: rear}, b: 'core-r1:FastEthernet0/2',"
        " color: yellow}",
        "  - {label: U-001, a: 'access-sw1:FastEthernet0/12',"
        " b: 'branch-r1:FastEthernet0/12', type: smf,"
        " length_m: 120}",
    ]
    if smtp_port is not None:
        lines += [
            "",
            "# One digest per backup run: the diffs of what changed, failures once, recoveries.",
            "notify:",
            "  - name: netops-mail",
            "    type: email",
            "    to: [netops@example.com]",
            "    from: opskit@demo.example",
            f"    smtp: {{host: 127.0.0.1, port: {smtp_port}}}   # the demo's own SMTP server",
            "    events: [changes, failures, recoveries]",
        ]
    path = directory / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FIRMWARE_CATALOG = """\
# opskit demo firmware catalogue (real release numbers; statuses are the demo's choice).
platforms:
  cisco_xe:
    releases:
      - version: "17.3.4a"
        status: vulnerable
        advisories: [cisco-sa-iosxe-webui-privesc-j22SaA4z]
      - {version: "17.6.6a", status: supported}
      - {version: "17.9.4a", status: supported}
      - {version: "17.9.5", status: recommended}
      - {version: "17.12.3", status: supported}
  cisco_ios:
    releases:
      - {version: "15.2(7)E4", status: supported}
      - {version: "15.2(7)E8", status: supported}
      - {version: "15.2(7)E10", status: recommended}
      - {version: "12.2(55)SE12", status: end-of-life}
policy:
  platforms:
    cisco_xe: {minimum: "17.6.6a", target: "17.9.5"}
    cisco_ios: {minimum: "15.2(7)E4"}
"""


def start_demo_lab(directory: Path, say: Callable[[str], None]) -> DemoLab:
    """Start the simulated shop in `directory` and write its inventory; `lab.stop()` ends it.

    On a failure the peers started so far are stopped before the error propagates.

    Raises:
        RuntimeError: a peer did not start (its log tail is in the message).
    """
    from opskit.lab.fakeswitch import FakeSwitches
    from opskit.lab.snmp import start_snmpsim

    directory.mkdir(parents=True, exist_ok=True)
    logs = directory / "lab"
    logs.mkdir(exist_ok=True)
    lab = DemoLab(directory=directory, inventory=directory / "inventory.yaml")
    try:
        tftp_port = free_port(socket.SOCK_DGRAM)
        say("starting 3 simulated Cisco devices (SSH + Telnet) ...")
        switches = FakeSwitches(
            list(SNMP_RECORDINGS), logs / "fakeswitches.log", tftp_port=tftp_port
        )
        lab.peers.append(switches)
        lab.ssh_ports = {name: sw.ssh_port for name, sw in switches.switches.items()}

        say("starting SNMP agents (snmpsim) ...")
        files = []
        work = logs / "snmp"
        work.mkdir(exist_ok=True)
        for device, recording in SNMP_RECORDINGS.items():
            copy = work / f"{device}.snmprec"
            shutil.copyfile(DATA / "snmp" / recording, copy)
            files.append(copy)
        ups_file = _ups_recording()
        if ups_file is not None:
            copy = work / "ups-1.snmprec"
            shutil.copyfile(ups_file, copy)
            files.append(copy)
        agent = start_snmpsim(files, logs / "snmpsim")
        lab.peers.append(agent)

        nut_port = None
        if nut_available():
            from opskit.lab.nut import start_nut

            say("starting NUT upsd with a dummy-ups UPS ...")
            nut = start_nut(logs / "nut", ("rack1",))
            lab.peers.append(nut)
            nut_port = nut.port
            lab.nut = True
        else:
            lab.notes.append(
                "NUT's upsd is not installed: the NUT UPS is skipped "
                "(apt-get install nut-server nut-client)"
            )
        say("starting an SMTP server (aiosmtpd) for the digest mails ...")
        smtp_port = free_port()
        lab.mail_dir = logs / "mail"
        smtp = Peer(
            [sys.executable, "-m", "opskit.lab.smtp", "--port", str(smtp_port),
             "--dir", str(lab.mail_dir)],
            logs / "smtp.log",
        )  # fmt: skip
        lab.peers.append(smtp)
        wait_until(lambda: "READY" in smtp.log_text() or not smtp.alive(), what="SMTP server")
        if not smtp.alive():
            raise RuntimeError(f"the SMTP server did not start: {smtp.log_text()[-400:]}")
        lab.inventory = write_inventory(
            directory,
            switches=switches,
            snmp_port=agent.port,
            tftp_port=tftp_port,
            ups_snmp=ups_file is not None,
            nut_port=nut_port,
            smtp_port=smtp_port,
        )
        (directory / "firmware.yaml").write_text(FIRMWARE_CATALOG, encoding="utf-8")
        (directory / "demo-peers.json").write_text(json.dumps({"pids": lab.pids()}) + "\n")
    except BaseException:
        lab.stop()
        raise
    return lab


def latest_mail(lab: DemoLab) -> str | None:
    """The newest mail the demo's SMTP server received, as received (headers and body)."""
    if lab.mail_dir is None or not lab.mail_dir.is_dir():
        return None
    mails = sorted(lab.mail_dir.glob("*.eml"))
    if not mails:
        return None
    return mails[-1].read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")


def change_description(lab: DemoLab, device: str, interface: str, text: str) -> None:
    """Make a config change on a simulated device through its CLI (as an admin would)."""
    from netmiko import ConnectHandler

    from opskit.inventory import load_inventory

    dev = load_inventory(lab.inventory).devices[device]
    conn = ConnectHandler(
        device_type="cisco_ios",
        host=dev.host,
        port=lab.ssh_ports[device],
        username=LAB_USERNAME,
        password=LAB_PASSWORD,
        secret=LAB_ENABLE,
        fast_cli=True,
    )
    try:
        conn.enable()
        conn.send_config_set([f"interface {interface}", f"description {text}"])
    finally:
        conn.disconnect()


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]")


def run_step(step: Step, lab: DemoLab, timeout: float = 300.0, color: bool = False) -> StepResult:
    """Run one `opskit` command against the demo inventory as its own process.

    The command runs on a pseudo-terminal, so it renders exactly as it does when a user
    types it (tables, colours); `color=False` strips the escape codes for a pipe.
    """
    import pty
    import select
    import subprocess

    argv = [sys.executable, "-m", "opskit", "-i", str(lab.inventory), *step.args]
    shown = "opskit " + " ".join(step.args)
    started = time.monotonic()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("OPSKIT_INVENTORY", None)
    if not color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        cwd=lab.directory,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = started + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                proc.kill()
                break
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(10)
    output = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    if not color:
        output = _ANSI.sub("", output)
        # progress bars redraw a line with bare CRs: keep what each line ended as
        output = "\n".join(line.rsplit("\r", 1)[-1] for line in output.split("\n"))
    if timed_out:
        code = 3
        output += f"opskit: error: step timed out after {timeout:.0f}s\n"
    return StepResult(
        title=step.title,
        command=shown,
        exit_code=code,
        ok=code in step.ok_codes,
        output=output,
        duration_s=round(time.monotonic() - started, 2),
    )


def default_directory() -> Path:
    """A new temporary directory for a demo run."""
    return Path(tempfile.mkdtemp(prefix="opskit-demo-"))


WEB_CABLE, WEB_DEVICE = "A-001", "access-sw1"


def try_web(lab: DemoLab, timeout: float = 60.0) -> StepResult:
    """The demo's last step: `opskit web` on the demo's inventory, asked for three pages
    (a cable, a device, its last config change) as a phone or browser would, then stopped.
    """
    import subprocess
    import urllib.request

    from opskit.lab.peers import wait_until

    port = free_port()
    argv = [sys.executable, "-m", "opskit", "-i", str(lab.inventory), "web", "--listen",
            f"127.0.0.1:{port}", "--json"]  # fmt: skip
    shown = f"opskit web --listen 127.0.0.1:{port}"
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "OPSKIT_INVENTORY"}
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=lab.directory,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    code = 0
    base = f"http://127.0.0.1:{port}"

    def get(path: str, accept: str = "application/json") -> tuple[int, bytes]:
        request = urllib.request.Request(base + path, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status), resp.read()

    try:
        wait_until(lambda: get("/static/opskit.css")[0] == 200, timeout=timeout, what="web")
        lines.append(f"serving {base}/ (no users: this machine only)")
        status, body = get(f"/c/{WEB_CABLE}")
        cable = json.loads(body)
        hops = cable["path"]["hops"]
        route = " -> ".join(
            [f"{hops[0]['a']['device']} {hops[0]['a']['port']}"]
            + [f"{h['b']['device']} {h['b']['port']}" for h in hops]
        )
        lines.append(f"GET /c/{WEB_CABLE}  {status}  {route}")
        status, body = get(f"/d/{WEB_DEVICE}")
        device = json.loads(body)
        cabled = sum(1 for p in device["ports"] if p["cable"])
        health = (device.get("health") or {}).get("status", "-")
        firmware = (device.get("firmware") or {}).get("status", "-")
        backup = (device.get("backup") or {}).get("status", "-")
        lines.append(
            f"GET /d/{WEB_DEVICE}  {status}  {len(device['ports'])} ports ({cabled} cabled), "
            f"backup {backup}, health {health}, firmware {firmware}"
        )
        status, body = get(f"/d/{WEB_DEVICE}/diff", accept="text/html")
        added = body.count(b'<tr class="add">')
        lines.append(f"GET /d/{WEB_DEVICE}/diff  {status}  the last change: {added} line added")
    except Exception as exc:  # the step failed: say how, stop the server below
        code = 1
        lines.append(f"opskit web did not answer as expected: {type(exc).__name__}: {exc}")
    finally:
        proc.terminate()
        try:
            exit_code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            exit_code = proc.wait(5)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    if exit_code != 0:
        code = code or 1
        lines.append(f"opskit web ended with exit {exit_code}: {err.strip()[-500:]}")
    lines.append("(stopped)")
    return StepResult(
        title="The same on a phone or a browser: opskit web",
        command=shown,
        exit_code=code,
        ok=code == 0,
        output="\n".join(lines) + "\n",
        duration_s=round(time.monotonic() - started, 2),
    )
