#!/usr/bin/env bash
# Install Debian's chromium for the UI tests (tests/e2e), if it is missing. Playwright drives it through
# executable_path=/usr/bin/chromium; `playwright install` (a download from outside the registries) is never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
