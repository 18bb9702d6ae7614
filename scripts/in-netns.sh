#!/usr/bin/env bash
# Runs a command in a private network namespace with only loopback up, so that
# WebRTC traffic between test browsers never touches the machine's real interface.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
exec unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
