"""Real device recordings from the `snmpsim-data` wheel (BSD-2), fetched at test set-up.

The package is not installed (it pins pysmi<2, which conflicts with snmpsim's pysmi 2):
`pip download --no-deps` puts the wheel in a cache directory and the few recordings the
tests use are unzipped next to it. Pre-fetch (e.g. in CI before the tests, or offline
preparation) with:

    python -m tests.lab.snmpsim_data
"""

from __future__ import annotations

import bz2
import os
import subprocess
import sys
import zipfile
from pathlib import Path

SNMPSIM_DATA_VERSION = "1.0.1"
# Recording name (its snmpsim community) -> path inside the wheel.
RECORDINGS = {
    "cisco-c3560": "snmpsim_data/data/network/switch/cisco-c3560.snmprec.bz2",
    "cisco-c3750": "snmpsim_data/data/network/switch/cisco-c3750.snmprec.bz2",
    "eaton-93e-80": "snmpsim_data/data/UPS/eaton-93e-80.snmprec.bz2",
    "arista-dcs-7150s-52-cl": "snmpsim_data/data/cloud/arista-dcs-7150s-52-cl.snmprec.bz2",
}


def cache_dir() -> Path:
    """Where the wheel and the unzipped recordings are kept between runs."""
    base = os.environ.get("OPSKIT_TEST_CACHE") or Path.home() / ".cache" / "opskit-tests"
    return Path(base) / f"snmpsim-data-{SNMPSIM_DATA_VERSION}"


def _wheel(cache: Path) -> Path:
    found = sorted(cache.glob("snmpsim_data-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            f"snmpsim-data=={SNMPSIM_DATA_VERSION}",
            "-d",
            str(cache),
        ],
        check=True,
        timeout=600,
    )
    found = sorted(cache.glob("snmpsim_data-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip download left no snmpsim_data wheel in {cache}")
    return found[0]


def snmpsim_recording(name: str) -> Path:
    """The `.snmprec` file of a recording (downloaded, unzipped, decompressed on first use).

    Decompressed because snmpsim seeks in the file for every request, and a seek in a
    bz2 stream decompresses it from the start: GETBULKs then take seconds.

    Args:
        name: a key of RECORDINGS (the snmpsim community it is served under).
    """
    cache = cache_dir()
    target = cache / Path(RECORDINGS[name]).name.removesuffix(".bz2")
    if target.exists():
        return target
    with zipfile.ZipFile(_wheel(cache)) as zf:
        data = bz2.decompress(zf.read(RECORDINGS[name]))
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


if __name__ == "__main__":
    for key in RECORDINGS:
        print(snmpsim_recording(key))
