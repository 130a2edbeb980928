#!/usr/bin/env bash
# Installs what the browser tests need when missing: headless Chromium and its driver from
# Debian's packages, and axe-core and Lighthouse from the npm registry into
# ${TWITCHCAUSE_NODE_DIR:-~/.cache/twitchcause-node} (outside the repository).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium chromium-driver nodejs npm >/dev/null
fi
NODE_DIR="${TWITCHCAUSE_NODE_DIR:-$HOME/.cache/twitchcause-node}"
if [ ! -f "$NODE_DIR/node_modules/axe-core/axe.min.js" ] || [ ! -x "$NODE_DIR/node_modules/.bin/lighthouse" ]; then
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent axe-core@4 lighthouse@12
fi
