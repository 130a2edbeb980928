#!/usr/bin/env bash
# Installs what the browser tests need, only what is missing, each piece on its own:
#   - headless Chromium and its driver from Debian's packages (chromium, chromium-driver) when
#     either command is missing;
#   - Node.js and npm from Debian's packages only when `node` or `npm` is missing (a Node.js
#     installed another way, NodeSource's say, conflicts with Debian's npm and is left alone);
#   - axe-core and Lighthouse from the npm registry into
#     ${TWITCHCAUSE_NODE_DIR:-~/.cache/twitchcause-node} (outside the repository).
# A failure is one line on stderr naming the missing piece and the command to run.
set -euo pipefail

say() { printf 'install_browser: %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
LOG="$(mktemp "${TMPDIR:-/tmp}/twitchcause-install.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
APT_UPDATED=""

# apt_install WHAT PACKAGE...: installs the packages with apt-get or fails in one line.
apt_install() {
    local what="$1"; shift
    local command="${SUDO:+$SUDO }apt-get install -y $*"
    if ! have apt-get; then
        say "$what missing and this machine has no apt-get; install $* and run again"
        exit 1
    fi
    if [ -n "$SUDO" ] && ! have sudo; then
        say "$what missing; run as root: apt-get install -y $*"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -qq >"$LOG" 2>&1 || true  # a stale index can still install
        APT_UPDATED=1
    fi
    if ! $SUDO apt-get install -y -qq "$@" >>"$LOG" 2>&1; then
        say "could not install $what ($(tail -n 1 "$LOG")); run: $command"
        exit 1
    fi
}

if ! have chromium || ! have chromedriver; then
    apt_install "Chromium and its driver" chromium chromium-driver
fi

node_packages=()
have node || node_packages+=(nodejs)
have npm || node_packages+=(npm)
if [ ${#node_packages[@]} -gt 0 ]; then
    apt_install "Node.js and npm" "${node_packages[@]}"
fi

NODE_DIR="${TWITCHCAUSE_NODE_DIR:-$HOME/.cache/twitchcause-node}"
if [ ! -f "$NODE_DIR/node_modules/axe-core/axe.min.js" ] || [ ! -x "$NODE_DIR/node_modules/.bin/lighthouse" ]; then
    mkdir -p "$NODE_DIR"
    if ! npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent axe-core@4 lighthouse@12 >"$LOG" 2>&1; then
        say "could not install axe-core and Lighthouse from the npm registry ($(tail -n 1 "$LOG")); run: npm install --prefix $NODE_DIR axe-core@4 lighthouse@12"
        exit 1
    fi
fi
