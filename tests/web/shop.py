"""A small shop for the web tests: an inventory with users, a backup history written by
opskit's own git store, the backup state and the last monitor/firmware results written
by the same writers the commands use.

Secrets are fake and distinctive (`SECRETS`), so a test can grep every page for them.
One device keeps its secrets in the history (`backup.keep_secrets`); the pages must
scrub them. A description and a config line hold `<script>`, which must show as text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ADMIN, ADMIN_PASSWORD = "ada", "Ada-Lovelace-Pw-1815"
TECH, TECH_PASSWORD = "tom", "Tom-At-The-Rack-Pw-42"
ADMIN_ENV = "OPSKIT_TEST_WEB_ADMIN_PW"
NET_PASSWORD_ENV = "OPSKIT_TEST_WEB_NET_PW"
NET_PASSWORD = "Net-Login-Secret-Xq7"
SCRIPT = '<script>alert("owned")</script>'
# Values that must never reach a page, a JSON answer or a log line.
SECRETS = (
    ADMIN_PASSWORD,
    TECH_PASSWORD,
    NET_PASSWORD,
    "EnableHash-Secret-1",
    "S3cret-Community-RO",
    "N3w-Community-RW",
    "Tacacs-Key-Secret-9",
    "MIIEpAIBAAKCAQEAsecretkeybody",
)

CORE_V1 = """\
version 17.9
hostname core-r1
enable secret 5 $1$EnableHash-Secret-1
username admin privilege 15 secret 9 $9$Tacacs-Key-Secret-9
!
interface GigabitEthernet0/0/1
 description to pp-1 port 1 (rear)
 ip address 10.0.0.1 255.255.255.0
!
interface GigabitEthernet0/0/2
 description spare
 shutdown
!
snmp-server community S3cret-Community-RO RO
tacacs-server key 7 Tacacs-Key-Secret-9
crypto pki certificate chain TP-self-signed
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAsecretkeybody
-----END RSA PRIVATE KEY-----
ntp server 192.0.2.123
end
"""
CORE_V2 = CORE_V1.replace(
    " description spare\n shutdown\n", " description to fw1 port 3\n no shutdown\n"
).replace(
    "snmp-server community S3cret-Community-RO RO\n", "snmp-server community N3w-Community-RW RW\n"
)
ACCESS_V1 = f"""\
version 15.2
hostname access-sw1
enable secret 5 <removed>
!
interface GigabitEthernet1/0/1
 description {SCRIPT}
!
interface GigabitEthernet1/0/2
 description printer
!
end
"""
ACCESS_V2 = ACCESS_V1.replace(" description printer\n", " description printer (2nd floor)\n")


def inventory_text(base_url: str, users: bool = True) -> str:
    """The shop's inventory.yaml (with or without web users)."""
    from opskit.web.auth import hash_password

    web = ""
    if users:
        tech_hash = hash_password(TECH_PASSWORD, ln=10)  # cheap for tests; default is 16
        web = f"""\
  web:
    base_url: {base_url}
    users:
      {ADMIN}: {{password_env: {ADMIN_ENV}, role: admin}}
      {TECH}: {{password_hash: "{tech_hash}", role: technician}}
"""
    else:
        web = f"  web:\n    base_url: {base_url}\n"
    return f"""\
# web test shop
settings:
  backup_repo: configs
  state_dir: state
{web}credentials:
  net:
    username: netops
    password_env: {NET_PASSWORD_ENV}
defaults:
  credentials: net
sites:
  hq: {{description: "Head office, server room R1"}}
  branch: {{description: Branch office}}
devices:
  core-r1:
    site: hq
    host: 192.0.2.1
    platform: cisco_xe
    role: core
    rack: {{name: R1, unit: 42}}
    description: Core router
    backup: {{keep_secrets: true}}
    ports: [Gi0/0/1-4]
  pp-1:
    site: hq
    platform: patch_panel
    rack: {{name: R1, unit: 41}}
    ports: [1-12]
  access-sw1:
    site: hq
    host: 192.0.2.11
    platform: cisco_ios
    role: access
    rack: {{name: R1, unit: 40}}
    description: 'Floor 1 {SCRIPT.replace("'", "''")} switch'
    tags: [floor1, poe]
    ports:
      Gi1/0/1-8: ""
      Gi1/0/9: uplink to branch
  srv-files:
    site: hq
    host: 192.0.2.21
    platform: linux
    rack: {{name: R1, unit: 20}}
    ports: {{eth0: LAN, eth1: backup network}}
  branch-r1:
    site: branch
    host: 198.51.100.1
    platform: cisco_xe
    rack: {{name: B1, unit: 10}}
    ports: [Gi0/0/1-2]
cables:
  - {{label: A-001, a: "access-sw1:Gi1/0/1", b: "pp-1:1", color: blue, length_m: 0.5,
      type: cat6a}}
  - {{label: A-002, a: "access-sw1:Gi1/0/2", b: "pp-1:2", color: blue, length_m: 0.5}}
  - {{label: A-003, a: "access-sw1:Gi1/0/3", b: "pp-1:3", color: green, length_m: 0.5}}
  - label: B-001
    a: {{device: pp-1, port: "1", side: rear}}
    b: "core-r1:Gi0/0/1"
    color: yellow
    length_m: 2
    type: cat6a
  - label: B-002
    a: {{device: pp-1, port: "2", side: rear}}
    b: "srv-files:eth1"
    color: yellow
    length_m: 3
  - label: U-001
    a: "access-sw1:Gi1/0/9"
    b: "branch-r1:Gi0/0/1"
    type: smf
    length_m: 120
    note: '{SCRIPT.replace("'", "''")} fibre'
"""


@dataclass
class Shop:
    """Where the shop's files are."""

    directory: Path
    inventory: Path
    repo: Path
    state: Path
    commits: list[str]

    def env(self) -> dict[str, str]:
        """The environment the server needs (the admin's and the devices' passwords)."""
        return {ADMIN_ENV: ADMIN_PASSWORD, NET_PASSWORD_ENV: NET_PASSWORD}


def make_shop(directory: Path, base_url: str, users: bool = True) -> Shop:
    """Write the shop into `directory`: inventory, three backup runs, state files."""
    from opskit.store.git import GitStore
    from opskit.store.state import DeviceState, save_state
    from opskit.web.lastrun import record_last_run

    directory.mkdir(parents=True, exist_ok=True)
    inventory = directory / "inventory.yaml"
    inventory.write_text(inventory_text(base_url, users), encoding="utf-8")
    repo = directory / "configs"
    store = GitStore(repo)
    commits = []
    with store.lock():
        runs = [
            {"hq/core-r1.cfg": CORE_V1, "hq/access-sw1.cfg": ACCESS_V1},
            {"hq/access-sw1.cfg": ACCESS_V2},
            {"hq/core-r1.cfg": CORE_V2},
        ]
        for files in runs:
            names = ", ".join(p.split("/")[1][:-4] for p in files)
            commit = store.commit(files, f"opskit backup run: {len(files)} changed: {names}")
            assert commit is not None
            commits.append(commit)
    state = directory / "state"
    state.mkdir(exist_ok=True)
    now = "2026-11-25T09:54:15+00:00"
    save_state(
        state,
        {
            "core-r1": DeviceState(
                "core-r1", now, "ok", None, now, now, commits[2], "hq/core-r1.cfg", "ssh", 600
            ),
            "access-sw1": DeviceState(
                "access-sw1",
                now,
                "failed",
                "login failed: authentication rejected for user 'netops'",
                "2026-11-24T09:54:15+00:00",
                None,
                commits[1],
                "hq/access-sw1.cfg",
                "telnet",
                0,
            ),
        },
    )
    known = ["core-r1", "access-sw1", "srv-files", "branch-r1", "pp-1"]
    record_last_run(state, "monitor", MONITOR_REPORT, known)
    record_last_run(state, "firmware", FIRMWARE_REPORT, known)
    os.chmod(directory, 0o755)
    return Shop(directory, inventory, repo, state, commits)


def _reading(check: str, subject: str, status: str, message: str) -> dict[str, object]:
    return {
        "check": check, "subject": subject, "value": None, "unit": "", "status": status,
        "message": message, "warn": None, "crit": None, "warn_low": None, "crit_low": None,
        "min": None, "max": None, "labels": {}, "state": "", "graded": True,
    }  # fmt: skip


MONITOR_REPORT = {
    "ok": False,
    "status": "CRITICAL",
    "exit_code": 2,
    "devices": [
        {
            "device": "core-r1", "site": "hq", "kind": "snmp", "status": "CRITICAL",
            "error": None, "duration_s": 0.4, "info": {}, "problems": 2,
            "readings": [
                _reading("fan", "Fan 2", "CRITICAL", "Fan 2 critical"),
                _reading("memory", "I/O", "WARNING", "memory I/O 91% used"),
                _reading("uptime", "", "OK", "up 12 days"),
            ],
        },
        {
            "device": "access-sw1", "site": "hq", "kind": "snmp", "status": "OK",
            "error": None, "duration_s": 0.5, "info": {}, "problems": 0,
            "readings": [_reading("uptime", "", "OK", "up 40 days")],
        },
    ],
}  # fmt: skip
FIRMWARE_REPORT = {
    "ok": False,
    "status": "CRITICAL",
    "exit_code": 2,
    "devices": [
        {
            "device": "core-r1", "site": "hq", "platform": "cisco_xe", "running": "17.9.4",
            "status": "vulnerable", "exit_code": 2, "target": "17.9.6a", "newest": "17.12.3",
            "reasons": ["17.9.4 is vulnerable (cisco-sa-iosxe-webui-privesc-j22SaA4z)"],
        },
        {
            "device": "access-sw1", "site": "hq", "platform": "cisco_ios",
            "running": "15.2(7)E10", "status": "current", "exit_code": 0, "target": None,
            "newest": "15.2(7)E10", "reasons": [],
        },
    ],
}  # fmt: skip
