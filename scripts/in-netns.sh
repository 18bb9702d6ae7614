#!/usr/bin/env bash
# Runs a command in a private network namespace, so that WebRTC traffic between
# test browsers never touches the machine's real interface.
#
#   scripts/in-netns.sh [--veth] COMMAND...
#
# By default the namespace has only loopback up (enough for Chromium with its
# loopback flags). --veth adds a veth pair with a default route to its other
# end: Firefox gathers no ICE candidate without a non-loopback interface. Its
# traffic still never leaves the namespace; servers keep listening on 127.0.0.1.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
setup='ip link set lo up'
if [ "${1:-}" = "--veth" ]; then
  shift
  setup="$setup && ip link add v0 type veth peer name v1 \
    && ip addr add 198.18.0.1/24 dev v0 && ip addr add 198.18.0.2/24 dev v1 \
    && ip link set v0 up && ip link set v1 up && ip route add default via 198.18.0.2 dev v0"
fi
exec unshare --net sh -c "$setup"' && exec "$@"' sh "$@"
