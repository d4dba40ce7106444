"""Real SNMP recordings (snmpsim-data wheel, BSD-2) trimmed to what discovery reads.

The full recordings take snmpsim seconds to index (650,000 rows for an MX960); discovery
reads only the system group and a vendor version OID, so those rows are copied verbatim
into small `.snmprec` files (still sorted, still the devices' own values).
"""

from __future__ import annotations

import bz2
import zipfile
from pathlib import Path

from tests.lab.snmpsim_data import _wheel, cache_dir

# community (file stem) -> path in the wheel
REAL = {
    "cisco-c3750": "snmpsim_data/data/network/switch/cisco-c3750.snmprec.bz2",
    "cisco-n5000": "snmpsim_data/data/network/switch/cisco-n5000.snmprec.bz2",
    "arista-7150s": "snmpsim_data/data/cloud/arista-dcs-7150s-52-cl.snmprec.bz2",
    "juniper-mx960": "snmpsim_data/data/network/router/juniper-mx960-16-1r6-7-a.snmprec.bz2",
    "fortinet-xcu": "snmpsim_data/data/network/firewall/fortinet-xcu.snmprec.bz2",
    "paloalto-pa5000": "snmpsim_data/data/network/firewall/paloalto-pa-5000.snmprec.bz2",
    "procurve-6120xg": "snmpsim_data/data/network/switch/hpe-procurve-516733-b21.snmprec.bz2",
    "linux-el6": "snmpsim_data/data/os/linux/unknown-001.snmprec.bz2",
    "eaton-93e": "snmpsim_data/data/UPS/eaton-93e-80.snmprec.bz2",
}
KEEP = (
    "1.3.6.1.2.1.1.",
    "1.3.6.1.4.1.12356.101.4.1.1.0|",
    "1.3.6.1.4.1.25461.2.1.2.1.1.0|",
    "1.3.6.1.2.1.33.1.1.",
)


def trimmed_recordings(target: Path) -> list[Path]:
    """Write the trimmed recordings into `target`; returns the files."""
    target.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(_wheel(cache_dir())) as zf:
        for community, member in REAL.items():
            text = bz2.decompress(zf.read(member)).decode("latin-1")
            rows = [ln for ln in text.splitlines() if ln.startswith(KEEP)]
            path = target / f"{community}.snmprec"
            path.write_text("\n".join(rows) + "\n", encoding="latin-1")
            out.append(path)
    return out
