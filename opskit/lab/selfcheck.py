"""Prove the lab peers run here: start one fake switch and log in to it once over SSH.

``python -m opskit.lab.selfcheck`` is install.sh's last step. An import check is not
enough: fake-switches is installed without its dependencies, and the module that needed
the missing one (tftpy) was only imported once the switch started. Exits 0 and prints one
line when the switch answered ``show running-config``; exits 1 with the reason otherwise.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def check_fake_switch() -> str:
    """Start a fake switch on 127.0.0.1, log in over SSH with netmiko, read its config.

    Returns:
        The switch's hostname line, as proof it answered.

    Raises:
        RuntimeError: the switch did not start or did not answer.
    """
    from opskit.lab.fakeswitch import FakeSwitches

    with tempfile.TemporaryDirectory(prefix="opskit-selfcheck-") as tmp:
        lab = FakeSwitches(["selfcheck"], log=Path(tmp) / "fakeswitch.log", telnet=False)
        try:
            conn = lab["selfcheck"].connect()
            try:
                config = str(conn.send_command("show running-config", read_timeout=20))
            finally:
                conn.disconnect()
        finally:
            lab.stop()
    hostname = next((ln for ln in config.splitlines() if ln.startswith("hostname ")), "")
    if not hostname:
        raise RuntimeError(f"the fake switch answered without a config: {config[:200]!r}")
    return hostname


def main() -> int:
    """Run the check; one line on stdout (ok) or stderr (the failure)."""
    try:
        line = check_fake_switch()
    except Exception as exc:
        print(f"opskit lab self-check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"opskit lab self-check: a fake switch started and answered ({line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
