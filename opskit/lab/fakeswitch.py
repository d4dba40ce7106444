"""N fake Cisco IOS switches (SSH + Telnet, fake-switches on Twisted) in one process.

Usage::

    python -m opskit.lab.fakeswitch NAME:SSH_PORT:TELNET_PORT [NAME:SSH_PORT:TELNET_PORT ...]

Prints ``READY`` on stdout once every port is bound (127.0.0.1 only); stop with SIGTERM.

Credentials: SSH user ``admin`` / password ``admin``, enable secret ``enablepw`` (change with
``--username/--password/--enable-secret``). Telnet asks for Username/Password and accepts
anything (fake-switches does not check).

``show running-config`` renders a template (``opskit/lab/data/backup/
fakeswitch-running-config.txt`` by default, or ``FAKESW_RUNNING_CONFIG``) in which
``{hostname}`` is the switch name and ``{model}`` the vlans/interfaces/routes that
fake-switches models, so a change made through the CLI (``interface Fa0/1`` /
``description x``) shows in the config. ``{last_change}`` moves when the modelled part
changes; ``{clock_period}`` changes on every read (volatile lines for the backup tests);
``{reads}`` counts the reads of that switch's config (1, 2, ...: a config that really
changes on every backup, to count backups in the history).
A template without ``{model}`` is returned verbatim.

Beyond stock fake-switches:

* ``copy running-config tftp:`` / ``copy running-config tftp://HOST/FILE`` asks IOS's
  ``Address or name of remote host []?`` and ``Destination filename [NAME-confg]?``, then
  really uploads the config with tftp-hpa's client (``tftp -m binary HOST PORT -c put``);
* ``copy tftp: running-config`` / ``copy tftp://HOST/FILE running-config`` downloads a
  file the same way and applies its lines to the modelled config;
* the TFTP port comes from ``FAKESW_TFTP_PORT`` (default 69), since IOS URLs carry none;
* ``ping HOST`` answers ``!!!!!`` (100 percent) for 127.x addresses and ``.....`` otherwise;
* ``end`` leaves configuration mode (netmiko's ``send_config_set`` needs it).

Environment: ``FAKESW_RUNNING_CONFIG``, ``FAKESW_SHOW_VERSION`` (verbatim ``show version``),
``FAKESW_APPLY_CONFIG`` (IOS lines applied to the model at start), ``FAKESW_TFTP_PORT``,
``FAKESW_LOGLEVEL`` (default WARNING). Telnet: a bare CR from the client is turned into
CRLF (Twisted holds a bare CR until the next byte, which stalls netmiko's login by ~7 s).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

TFTP_TIMEOUT = 60.0


def _read_env_file(env: str) -> str | None:
    path = os.environ.get(env)
    return Path(path).read_text() if path else None


def default_running_config() -> str:
    """The packaged running-config template (secrets and volatile lines included)."""
    return (
        resources.files("opskit.lab")
        .joinpath("data/backup/fakeswitch-running-config.txt")
        .read_text()
    )


def _timestamp(t: float) -> str:
    return time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(t))


def _tftp_target(url: str, default_host: str = "") -> tuple[str, str]:
    """(host, file) from ``tftp:``, ``tftp:file``, ``tftp://host/file``."""
    m = re.match(r"^tftp:(?://([^/]*)/?)?(.*)$", url)
    if not m:
        return default_host, ""
    return (m.group(1) or default_host), m.group(2)


def run_tftp(host: str, action: str, local: str, remote: str) -> tuple[bool, str]:
    """Run tftp-hpa's client; (ok, message). tftp-hpa exits 0 on server errors."""
    port = os.environ.get("FAKESW_TFTP_PORT", "69")
    try:
        proc = subprocess.run(
            ["tftp", "-m", "binary", host, port, "-c", action, local, remote],
            capture_output=True,
            text=True,
            timeout=TFTP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return False, "tftp client not installed"
    except subprocess.TimeoutExpired:
        return False, "Timed out"
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "Error code" in out or "timed out" in out.lower():
        return False, out.splitlines()[-1] if out else f"tftp exited {proc.returncode}"
    return True, out


@dataclass(frozen=True)
class FakeSwitch:
    """One running fake switch: where to reach it and how to log in."""

    name: str
    ssh_port: int
    telnet_port: int
    username: str = "admin"
    password: str = "admin"
    enable_secret: str = "enablepw"
    host: str = "127.0.0.1"

    def connect(self) -> Any:
        """A logged-in, enabled netmiko session over SSH (the caller disconnects it)."""
        from netmiko import ConnectHandler

        conn = ConnectHandler(
            device_type="cisco_ios",
            host=self.host,
            port=self.ssh_port,
            username=self.username,
            password=self.password,
            secret=self.enable_secret,
            use_keys=False,
            allow_agent=False,
            timeout=20,
        )
        conn.enable()
        return conn


class FakeSwitches:
    """Start ``python -m opskit.lab.fakeswitch`` for some switches; ``stop()`` ends it.

    >>> lab = FakeSwitches(["sw1", "sw2"], log=tmp / "fs.log", tftp_port=6969)  # doctest: +SKIP
    >>> lab["sw1"].ssh_port  # doctest: +SKIP
    """

    def __init__(
        self,
        names: Sequence[str],
        log: Path,
        *,
        tftp_port: int | None = None,
        running_config: Path | None = None,
        env: Mapping[str, str] | None = None,
        telnet: bool = True,
        timeout: float = 30.0,
    ) -> None:
        from opskit.lab.peers import Peer, free_port, wait_until

        extra = dict(env or {})
        if tftp_port is not None:
            extra["FAKESW_TFTP_PORT"] = str(tftp_port)
        if running_config is not None:
            extra["FAKESW_RUNNING_CONFIG"] = str(running_config)
        # Ports picked now may be taken by the time the process binds them (another
        # process, or the same free port handed out twice): try again with new ones.
        for attempt in range(3):
            used: set[int] = set()

            def port(used: set[int] = used) -> int:
                p = free_port()
                while p in used:
                    p = free_port()
                used.add(p)
                return p

            self.switches: dict[str, FakeSwitch] = {
                n: FakeSwitch(n, port(), port() if telnet else 0) for n in names
            }
            specs = [f"{s.name}:{s.ssh_port}:{s.telnet_port}" for s in self.switches.values()]
            self.peer = Peer(
                [sys.executable, "-m", "opskit.lab.fakeswitch", *specs], log, env=extra
            )
            try:
                wait_until(
                    lambda: "READY" in self.peer.log_text() or not self.peer.alive(),
                    timeout=timeout,
                    what="fake switches",
                )
            except BaseException:
                self.peer.stop()
                raise
            if self.peer.alive():
                return
            text = self.peer.log_text()
            self.peer.stop()
            if "CannotListenError" not in text or attempt == 2:
                raise RuntimeError(f"fake switches exited: {text[-500:]}")

    def __getitem__(self, name: str) -> FakeSwitch:
        return self.switches[name]

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        self.peer.stop()


def main(argv: list[str] | None = None) -> None:
    """Start the switches named by the NAME:SSH_PORT:TELNET_PORT specs; run until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m opskit.lab.fakeswitch")
    parser.add_argument("specs", nargs="*", default=["sw1:2222:2323"])
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--enable-secret", default="enablepw")
    args = parser.parse_args(argv)

    logging.basicConfig(level=os.environ.get("FAKESW_LOGLEVEL", "WARNING"))

    from fake_switches import switch_factory
    from fake_switches.cisco import cisco_core
    from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
    from fake_switches.cisco.command_processor.config_interface import (
        ConfigInterfaceCommandProcessor,
    )
    from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
    from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
    from fake_switches.cisco.command_processor.enabled import (
        EnabledCommandProcessor,
        build_running_interface,
        build_running_vlan,
        build_static_routes,
    )
    from fake_switches.command_processing.switch_tftp_parser import SwitchTftpParser
    from fake_switches.terminal.telnet import SwitchTelnetShell
    from fake_switches.transports.ssh_service import SwitchSshService
    from fake_switches.transports.telnet_service import SwitchTelnetFactory
    from twisted.internet import reactor

    template = _read_env_file("FAKESW_RUNNING_CONFIG")
    if template is None:
        template = default_running_config()
    show_version_text = _read_env_file("FAKESW_SHOW_VERSION")
    apply_config = _read_env_file("FAKESW_APPLY_CONFIG")
    started = time.time()
    # per switch: last rendered model text and when it last changed
    model_state: dict[str, tuple[str, float]] = {}

    class LabConfig(ConfigCommandProcessor):
        def process_command(self, line: str) -> bool:
            # "end" leaves configuration mode from any sub-mode (interface, vlan, ...)
            if line.strip() == "end":
                self.sub_processor = None
                self.is_done = True
                return True
            return bool(super().process_command(line))

    def config_processor() -> Any:
        return LabConfig(
            config_vlan=ConfigVlanCommandProcessor(),
            config_vrf=ConfigVRFCommandProcessor(),
            config_interface=ConfigInterfaceCommandProcessor(),
        )

    def render_model(conf: Any) -> str:
        lines: list[str] = []
        for vlan in conf.vlans:
            lines += [*build_running_vlan(vlan), "!"]
        for port in conf.get_physical_ports() + conf.get_vlan_ports():
            lines += [*build_running_interface(port), "!"]
        for route in conf.static_routes:
            lines.append(build_static_routes(route))
        if conf.static_routes:
            lines.append("!")
        return "\n".join(lines)

    reads: dict[str, int] = {}  # per switch: running-configs rendered so far

    def render_config(conf: Any) -> str:
        """The config body as IOS would copy it (no 'Building configuration...')."""
        name = conf.name
        model = render_model(conf)
        last_model, changed_at = model_state.get(name, (model, started))
        if model != last_model:
            changed_at = time.time()
        model_state[name] = (model, changed_at)
        reads[name] = reads.get(name, 0) + 1
        text = template
        for key, value in (
            ("{reads}", str(reads[name])),
            ("{hostname}", name),
            ("{model}", model),
            ("{last_change}", _timestamp(changed_at)),
            ("{nvram_updated}", _timestamp(started)),
            ("{clock_period}", str(17179869 + random.randint(0, 99999))),
        ):
            text = text.replace(key, value)
        return text.rstrip("\n") + "\n"

    class LabEnabled(EnabledCommandProcessor):
        def show_run(self) -> None:
            body = render_config(self.switch_configuration)
            self.write_line("Building configuration...")
            self.write_line("")
            self.write_line(f"Current configuration : {len(body)} bytes")
            for line in body.rstrip("\n").split("\n"):
                self.write_line(line)
            self.write_line("")

        def show_version(self) -> None:
            if show_version_text is None:
                super().show_version()
                return
            self.write_line(show_version_text.replace("{hostname}", self.switch_configuration.name))

        # --- ping -------------------------------------------------------------------
        def do_ping(self, *args: str) -> None:
            host = args[0] if args else ""
            self.write_line("Type escape sequence to abort.")
            self.write_line(f"Sending 5, 100-byte ICMP Echos to {host}, timeout is 2 seconds:")
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = host == "localhost"
            if ok:
                self.write_line("!!!!!")
                self.write_line(
                    "Success rate is 100 percent (5/5), round-trip min/avg/max = 1/1/1 ms"
                )
            else:
                self.write_line(".....")
                self.write_line("Success rate is 0 percent (0/5)")

        # --- copy -------------------------------------------------------------------
        def do_copy(self, *args: str) -> None:
            if len(args) != 2:
                self._invalid()
                return
            source, dest = args
            if "running-config".startswith(source.split(":")[-1] or "x") and dest.startswith(
                "tftp:"
            ):
                host, fname = _tftp_target(dest)
                default_name = fname or f"{self.switch_configuration.name.lower()}-confg"
                self._ask(
                    f"Address or name of remote host [{host}]? ",
                    lambda h: self._ask(
                        f"Destination filename [{default_name}]? ",
                        lambda f: self._push(h or host, f or default_name),
                    ),
                )
            elif source.startswith("tftp:") and "running-config".startswith(
                dest.split(":")[-1] or "x"
            ):
                host, fname = _tftp_target(source)
                self._ask(
                    f"Address or name of remote host [{host}]? ",
                    lambda h: self._ask(
                        f"Source filename [{fname}]? ",
                        lambda f: self._ask(
                            "Destination filename [running-config]? ",
                            lambda _d: self._pull(h or host, f or fname),
                        ),
                    ),
                )
            else:
                self._invalid()

        def _invalid(self) -> None:
            self.write_line("% Invalid input detected at '^' marker.")
            self.write_line("")

        def _ask(self, question: str, then: Callable[[str], None]) -> None:
            self.write(question)
            self.continue_to(lambda line: then(line.strip()))

        def _push(self, host: str, fname: str) -> None:
            if not host or not fname:
                self.write_line("%Error parsing filename (Bad address or name)")
                return
            body = render_config(self.switch_configuration)
            with tempfile.TemporaryDirectory(prefix="fakesw-") as tmp:
                local = Path(tmp) / "running-config"
                local.write_bytes(body.encode())
                t0 = time.monotonic()
                ok, msg = run_tftp(host, "put", str(local), fname)
                secs = max(time.monotonic() - t0, 0.001)
            if ok:
                self.write_line("!!")
                size = len(body.encode())
                self.write_line(
                    f"{size} bytes copied in {secs:.3f} secs ({int(size / secs)} bytes/sec)"
                )
            else:
                self.write_line(f"%Error opening tftp://{host}/{fname} ({msg})")

        def _pull(self, host: str, fname: str) -> None:
            if not host or not fname:
                self.write_line("%Error parsing filename (Bad address or name)")
                return
            self.write_line(f"Accessing tftp://{host}/{fname}...")
            with tempfile.TemporaryDirectory(prefix="fakesw-") as tmp:
                local = Path(tmp) / "download"
                t0 = time.monotonic()
                ok, msg = run_tftp(host, "get", fname, str(local))
                secs = max(time.monotonic() - t0, 0.001)
                data = local.read_bytes() if ok and local.exists() else b""
            if not ok:
                self.write_line(f"%Error opening tftp://{host}/{fname} ({msg})")
                return
            self.write_line(f"Loading {fname} from {host} (via Loopback0): !")
            self.write_line(f"[OK - {len(data)} bytes]")
            text = data.decode("utf-8", "replace").replace("\r\n", "\n")
            apply_lines(self.switch_configuration, text)
            self.write_line("")
            self.write_line(
                f"{len(data)} bytes copied in {secs:.3f} secs ({int(len(data) / secs)} bytes/sec)"
            )

    def apply_lines(conf: Any, text: str) -> None:
        """Feed IOS config lines to the modelled config (what fake-switches models)."""

        class Reader:
            @staticmethod
            def read_tftp(_server: Any, _filename: Any) -> str:
                return text

        SwitchTftpParser(conf, reader=Reader).parse(None, None, config_processor())

    class LabCiscoCore(cisco_core.BaseCiscoSwitchCore):
        def new_command_processor(self) -> Any:
            return LabEnabled(config=config_processor())

    class LabTelnetShell(SwitchTelnetShell):
        # Twisted's Telnet holds a bare b"\r" until the next byte (RFC 854 CR NUL / CR LF);
        # netmiko sends "username\r", which would stall its login by 7-10 s.
        def dataReceived(self, data: bytes) -> None:
            super().dataReceived(re.sub(rb"\r(?![\n\0])", b"\r\n", data))

    class LabTelnetFactory(SwitchTelnetFactory):
        def protocol(self) -> Any:
            return LabTelnetShell(self.switch_core)

    factory = switch_factory.SwitchFactory(mapping={"lab_cisco": LabCiscoCore})
    listen: Any = reactor
    for spec in args.specs:
        try:
            name, ssh_port, telnet_port = spec.split(":")
        except ValueError:
            parser.error(f"bad spec {spec!r}: want NAME:SSH_PORT:TELNET_PORT")
        # `password` is the enable secret and must be str (compared with the typed line).
        core = factory.get("lab_cisco", hostname=name, password=args.enable_secret)
        if apply_config:
            apply_lines(core.switch_configuration, apply_config)
        # SSH passwords must be bytes (Twisted's in-memory checker).
        SwitchSshService(
            "127.0.0.1", int(ssh_port), core, {args.username: args.password.encode()}
        ).hook_to_reactor(listen)
        if int(telnet_port):
            listen.listenTCP(int(telnet_port), LabTelnetFactory(core), interface="127.0.0.1")
    listen.callWhenRunning(partial(print, "READY", flush=True))
    listen.run()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as exc:  # e.g. CannotListenError: port in use
        sys.stderr.write(f"fakeswitch: {type(exc).__name__}: {exc}\n")
        sys.exit(1)
