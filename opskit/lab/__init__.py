"""Simulated peers on loopback, shared by the test suite and `opskit demo`.

Nothing here is used by opskit's real work; it starts fake switches, SNMP agents, NUT and
TFTP peers on 127.0.0.1 for tests and the demo. Its extra packages are in the `lab` extra.
"""

from opskit.lab.peers import Peer, free_port, wait_until

__all__ = ["Peer", "free_port", "wait_until"]
