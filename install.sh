#!/usr/bin/env bash
# Install opskit into its own virtual environment, with the lab peers `opskit demo` starts.
#   bash install.sh                  opskit + what the demo needs, in ./.venv
#   bash install.sh --test           also every peer and tool the test suite uses (CI runs this)
#   bash install.sh --venv DIR       another place for the virtual environment
#   bash install.sh --clear          empty the virtual environment first (CI does)
# It never writes to the system Python: Debian 12's python3 refuses `pip install` outside a
# venv (PEP 668). The Python is the first `python3` on PATH (or $PYTHON), 3.11 or newer.
# Afterwards run `.venv/bin/opskit`, or put .venv/bin on your PATH.
set -euo pipefail
cd "$(dirname "$0")"

VENV=".venv"
TEST=0
CLEAR=()
while [ $# -gt 0 ]; do
    case "$1" in
        --test) TEST=1 ;;
        --venv) VENV="$2"; shift ;;
        --venv=*) VENV="${1#--venv=}" ;;
        --clear) CLEAR=(--clear) ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see bash install.sh --help)" >&2; exit 2 ;;
    esac
    shift
done

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
    echo "install.sh: no $PYTHON on PATH; install Python 3.11 or newer (Debian: apt install python3)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "install.sh: $("$PYTHON" --version 2>&1) is too old; opskit needs Python 3.11 or newer" >&2
    exit 2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages: python3-venv (Debian's python3 has no venv/ensurepip without it),
# tftp-hpa's client (how the simulated router pushes its config to opskit's TFTP server),
# NUT's upsd + dummy-ups (the simulated UPS), git (the history).
apt_packages=(python3-venv git tftp-hpa nut-server nut-client)
extras="lab"
if [ "$TEST" = 1 ]; then
    # The tests' real peers: atftp (a second TFTP client), tftpd-hpa (the TFTP benchmark's
    # baseline), net-snmp's agent and tools, Prometheus and promtool, Prometheus's
    # snmp_exporter (the monitor serve benchmark's baseline), and NSS certutil +
    # openssl for the NUT STARTTLS test (Debian's upsd keeps its certificate in NSS),
    # bsdutils' logger (a real syslog sender for backup listen), chromium for the web pages'
    # browser tests (driven by playwright's Python package, which never downloads a browser
    # of its own here), redis-server (the shard leases of `opskit worker`; tests start their
    # own on a free port), openssh-client (git pushing to an SSH remote; git only recommends it).
    apt_packages+=(atftp tftpd-hpa snmp snmpd prometheus prometheus-snmp-exporter libnss3-tools
                   openssl bsdutils chromium redis-server openssh-client)
    extras="lab,test"
fi
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    if [ "${OPSKIT_APT_UPDATED:-0}" != 1 ]; then $SUDO apt-get update -qq; fi
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtual environment: no system site-packages, so nothing installed elsewhere on the
# machine can stand in for a missing dependency.
if [ ${#CLEAR[@]} -gt 0 ] || [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "${CLEAR[@]}" "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
# playwright (a test dependency) drives Debian's chromium: it must never fetch its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pip_quietly() {  # pip's output only when it fails (it warns a lot that is expected)
    if ! "${PIP[@]}" install -q "$@" >"$log" 2>&1; then
        cat "$log" >&2; echo "install.sh: pip install $* failed (above)" >&2; exit 1
    fi
}
pip_quietly --upgrade pip
# fake-switches 1.5.0 pins Twisted<17, which does not build on Python 3.11: install it
# without its deps; the lab extra brings the ones it imports (tftpy, netaddr, lxml, ...)
# with a current Twisted. pip then warns about that pin; the warning is expected.
pip_quietly --no-deps "fake-switches==1.5.0"
pip_quietly -e ".[$extras]"

# Proof that the peers run, not only import: start one fake switch and log in over SSH.
"$VENV/bin/python" -m opskit.lab.selfcheck

echo "install.sh: opskit is installed in $VENV; run $VENV/bin/opskit (or add $VENV/bin to PATH)"
