#!/usr/bin/env bash
# Install opskit and the lab peers `opskit demo` starts (Debian 12, Python 3.11).
#   bash install.sh           opskit + what the demo needs
#   bash install.sh --test    also every peer and tool the test suite uses (CI runs this)
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PIP="${PIP:-python3 -m pip}"

# Debian packages: tftp-hpa's client is how the simulated router pushes its config to
# opskit's TFTP server; NUT's upsd + dummy-ups is the simulated UPS; git keeps the history.
apt_packages=(git tftp-hpa nut-server nut-client)
extras="lab"
if [ "${1:-}" = "--test" ]; then
    # The tests' real peers: atftp (a second TFTP client), tftpd-hpa (the TFTP benchmark's
    # baseline), net-snmp's agent and tools, Prometheus and promtool, and NSS certutil +
    # openssl for the NUT STARTTLS test (Debian's upsd keeps its certificate in NSS).
    apt_packages+=(atftp tftpd-hpa snmp snmpd prometheus libnss3-tools openssl)
    extras="lab,test"
fi
export DEBIAN_FRONTEND=noninteractive
if [ "${OPSKIT_APT_UPDATED:-0}" != 1 ]; then $SUDO apt-get update -qq; fi
$SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null

# fake-switches 1.5.0 pins Twisted<17, which does not build on Python 3.11: install it
# without its deps; the lab extra brings its real deps with a current Twisted. pip then
# warns about that pin; the warning is expected.
$PIP install -q --no-deps "fake-switches==1.5.0"
$PIP install -q -e ".[$extras]" 2>&1 | grep -v "fake-switches .* requires Twisted" || true
python3 -c "import opskit, fake_switches, twisted, snmpsim" # the installs above worked
