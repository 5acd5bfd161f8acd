#!/usr/bin/env bash
# Set up Companion on a fresh Debian/Ubuntu machine; safe to run again.
#   ./bootstrap.sh          system packages + .venv with companion installed
#   ./bootstrap.sh --test   the same, plus what the test suite needs
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# install_missing PKG...: apt-get install the Debian packages that are not installed yet
install_missing() {
    local missing=() pkg sudo=""
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "bootstrap: installing system packages: ${missing[*]}" >&2
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_missing espeak-ng ffmpeg
# the site test drives Debian's Chromium with selenium (never a downloaded browser)
if [ "$want_test" = 1 ]; then
    install_missing chromium chromium-driver
fi

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv" >&2
    python3 -m venv .venv
fi
extra=""
[ "$want_test" = 1 ] && extra="[test]"
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}" >"$log" 2>&1
then
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
    rm -f "$log"
    echo "bootstrap: pip install failed" >&2
    exit 1
fi
rm -f "$log"
.venv/bin/python -c "import companion" || { echo "bootstrap: install failed" >&2; exit 1; }
echo "bootstrap: ready (.venv/bin/companion)" >&2
