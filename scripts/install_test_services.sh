#!/usr/bin/env bash
# Install Debian's PostgreSQL 15, Redis and docker-compose 1.29 for the tests that use real services
# (tests/services), if any is missing. The tests start their own throwaway servers; no system service is
# started or enabled here. Quick when everything is present.
set -euo pipefail
missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
# --no-install-recommends: the servers and their clients only, nothing the tests do not use.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
