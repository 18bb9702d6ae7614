#!/usr/bin/env bash
# Tracker benchmark (issue 3). Not a test: run it by hand, it stops by itself.
#
#   bench/tracker/run.sh [throughput|scale|all]      (default: all)
#
# throughput: aquatic_ws_load_test drives, for DURATION seconds each and with
#   the same settings, aquatic_ws (1 socket + 1 swarm worker), swarmcast-tracker
#   (1 worker) and bittorrent-tracker (node), all over wss with a self-signed
#   cert. Server on core 0, load tester on core 1. Prints responses/s, the
#   ratio to aquatic_ws, server CPU and peak RSS (VmHWM).
# scale: SCALE_PEERS idle peers connect and announce (from SCALE_PROCS client
#   processes: one process may hold only 20,000 files) to aquatic_ws and to
#   swarmcast-tracker over plain ws; prints each server's RSS per peer.
#
# Settings (environment): DURATION=30 CONNECTIONS=16 OFFERS=10 TORRENTS=10000
#   SCALE_PEERS=15000 SCALE_PROCS=3 SCALE_TORRENTS=100
#   BASELINE_TRACKER=path/to/swarmcast-tracker: throughput also measures that
#   build (e.g. main's) as "swarmcast-baseline", for a ratio from the same run.
# Output and tools go to bench/out/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out/tracker
TOOLS=$ROOT/bench/out/tools
MODE=${1:-all}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-16}
OFFERS=${OFFERS:-10}
TORRENTS=${TORRENTS:-10000}
SCALE_PEERS=${SCALE_PEERS:-15000}
SCALE_PROCS=${SCALE_PROCS:-3}
SCALE_TORRENTS=${SCALE_TORRENTS:-100}
TRACKER=$ROOT/target/release/swarmcast-tracker
AQUATIC=$TOOLS/bin/aquatic_ws
LOADTEST=$TOOLS/bin/aquatic_ws_load_test
export PATH=$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH
mkdir -p "$OUT"

log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

install_tools() {
  for crate in aquatic_ws aquatic_ws_load_test; do
    [ -x "$TOOLS/bin/$crate" ] && continue
    log "installing $crate into $TOOLS (a few minutes)"
    # The registry mirror may lack a version pinned in the crate's lockfile.
    nice -n 19 cargo install --quiet --root "$TOOLS" --locked "$crate" ||
      nice -n 19 cargo install --quiet --root "$TOOLS" "$crate"
  done
  log "building swarmcast-tracker (release)"
  cargo build --quiet --release -p swarmcast-tracker
}

make_cert() {
  [ -f "$OUT/key.pem" ] && return
  # PEM, PKCS#8 key: what rustls-pemfile (aquatic) and node's https both read.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=localhost -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# aquatic_ws config: its defaults, with our address, TLS choice and one worker each.
aquatic_config() { # ADDR TLS(true|false)
  "$AQUATIC" -p | sed -e "s|^address = .*|address = \"$1\"|" \
    -e "s|^enable_tls = .*|enable_tls = $2|" \
    -e "s|^tls_certificate_path = .*|tls_certificate_path = \"$OUT/cert.pem\"|" \
    -e "s|^tls_private_key_path = .*|tls_private_key_path = \"$OUT/key.pem\"|" \
    -e "s|^socket_workers = .*|socket_workers = 1|" -e "s|^swarm_workers = .*|swarm_workers = 1|"
}

# Starts server NAME on 127.0.0.1:PORT pinned to core 0; TLS is "tls" or "plain".
# Sets SERVER_PID.
start_server() { # NAME PORT TLS
  local addr=127.0.0.1:$2 cmd
  case $1 in
    aquatic_ws)
      aquatic_config "$addr" "$([ "$3" = tls ] && echo true || echo false)" >"$OUT/aquatic_ws.toml"
      cmd=("$AQUATIC" -c "$OUT/aquatic_ws.toml") ;;
    swarmcast-tracker | swarmcast-baseline)
      # The load tester's peers each hop through up to TORRENTS swarms on one
      # connection; lift the per-connection swarm cap (default 1024) so they are
      # served like aquatic_ws serves them instead of refused.
      local bin=$TRACKER; [ "$1" = swarmcast-baseline ] && bin=$BASELINE_TRACKER
      cmd=("$bin" --listen "$addr" --workers 1 --max-swarms-per-connection "$TORRENTS")
      [ "$3" = tls ] && cmd+=(--tls-cert "$OUT/cert.pem" --tls-key "$OUT/key.pem") ;;
    bittorrent-tracker)
      cmd=(node bench/tracker/reference-server.mjs "$addr")
      [ "$3" = tls ] && cmd+=("$OUT/cert.pem" "$OUT/key.pem") ;;
  esac
  taskset -c 0 "${cmd[@]}" >"$OUT/$1.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  if ! wait_port "$2"; then
    log "$1 did not start; its log ($OUT/$1.log):"
    tail -n 20 "$OUT/$1.log" >&2
    kill "$SERVER_PID" 2>/dev/null || true
    return 1
  fi
}

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# One throughput run against NAME; prints "NAME responses/s cpu% peak_rss_kib".
throughput_one() {
  local name=$1 port; port=$(free_port)
  if ! start_server "$name" "$port" tls; then echo "$name - - - -"; return; fi
  sed -e "s|^server_address = .*|server_address = \"127.0.0.1:$port\"|" \
    -e "s|^num_connections_per_worker = .*|num_connections_per_worker = $CONNECTIONS|" \
    -e "s|^duration = .*|duration = $DURATION|" \
    -e "s|^offers_per_request = .*|offers_per_request = $OFFERS|" \
    -e "s|^number_of_torrents = .*|number_of_torrents = $TORRENTS|" \
    <("$LOADTEST" -p) >"$OUT/load-test.toml"
  local t0 c0 t1 c1 hz; hz=$(getconf CLK_TCK)
  t0=$(date +%s.%N); c0=$(cpu_ticks "$SERVER_PID")
  log "$name: load test for ${DURATION}s after $CONNECTIONS connections are up"
  # The load tester only starts its clock once every connection is up: bound it.
  timeout $((DURATION + 60)) taskset -c 1 "$LOADTEST" -c "$OUT/load-test.toml" >"$OUT/load-$name.log" 2>&1 || true
  t1=$(date +%s.%N); c1=$(cpu_ticks "$SERVER_PID")
  local rps errs cpu rss
  rps=$(awk '/^Average responses per second:/ {print $5}' "$OUT/load-$name.log")
  # Error replies count as responses for the load tester: average them over the
  # same intervals as its report (those after the one where all connections were up).
  errs=$(awk '/^Max connections reached/ {on = 1; skip = 1} on && /Error responses:/ {if (skip) skip = 0; else {sum += $4; n++}}
    END {printf "%.0f", n ? sum / n : 0}' "$OUT/load-$name.log")
  cpu=$(echo "$c0 $c1 $hz $t0 $t1" | awk '{printf "%.0f", 100 * ($2 - $1) / $3 / ($5 - $4)}')
  rss=$(status_kib "$SERVER_PID" VmHWM)
  stop_server
  echo "$name ${rps:--} $cpu $rss $errs"
}

throughput() {
  log "throughput: $CONNECTIONS connections, $OFFERS offers per announce, $TORRENTS torrents, ${DURATION}s, wss"
  local rows=() name
  for name in aquatic_ws swarmcast-tracker ${BASELINE_TRACKER:+swarmcast-baseline} bittorrent-tracker; do
    rows+=("$(throughput_one "$name")")
  done
  printf '%s\n' "${rows[@]}" >"$OUT/throughput.txt"
  awk -v conns="$CONNECTIONS" -v offers="$OFFERS" -v dur="$DURATION" '
    NR == 1 { base = $2 }
    { rows[NR] = $0 }
    END {
      printf "\nthroughput over wss (%d connections, %d offers/announce, %ds, server on core 0):\n", conns, offers, dur
      printf "%-20s %14s %10s %10s %8s %14s\n", "server", "responses/s", "vs aquatic", "errors/s", "CPU %", "peak RSS MiB"
      for (i = 1; i <= NR; i++) {
        split(rows[i], f, " ")
        ratio = (base > 0 && f[2] != "-") ? sprintf("%.2fx", f[2] / base) : "-"
        rss = f[4] != "-" ? sprintf("%.1f", f[4] / 1024) : "-"
        printf "%-20s %14s %10s %10s %8s %14s\n", f[1], f[2], ratio, f[5], f[3], rss
      }
    }' "$OUT/throughput.txt"
}

# Connects SCALE_PEERS idle announced peers to NAME; prints "NAME rss_before rss_after peers".
scale_one() {
  local name=$1 port; port=$(free_port)
  if ! start_server "$name" "$port" plain; then echo "$name - - 0"; return; fi
  sleep 0.5
  local before; before=$(status_kib "$SERVER_PID" VmRSS)
  local per=$(( (SCALE_PEERS + SCALE_PROCS - 1) / SCALE_PROCS )) i clients=() ready=0
  log "$name: $SCALE_PEERS idle peers from $SCALE_PROCS processes"
  for i in $(seq 1 "$SCALE_PROCS"); do
    taskset -c 1 node bench/tracker/idle-peers.mjs "ws://127.0.0.1:$port" "$per" "$SCALE_TORRENTS" "$((10 + i))" 120 \
      >"$OUT/idle-$name-$i.log" 2>&1 &
    clients+=($!); PIDS+=($!)
  done
  for i in $(seq 1 "$SCALE_PROCS"); do
    until grep -q '^ready' "$OUT/idle-$name-$i.log" 2>/dev/null; do
      kill -0 "${clients[$((i - 1))]}" 2>/dev/null || break
      sleep 0.5
    done
    ready=$((ready + $(awk '/^ready/ {print $2}' "$OUT/idle-$name-$i.log")))
  done
  sleep 2
  local after; after=$(status_kib "$SERVER_PID" VmRSS)
  for i in "${clients[@]}"; do kill "$i" 2>/dev/null || true; wait "$i" 2>/dev/null || true; done
  stop_server
  echo "$name $before $after $ready"
}

scale() {
  local rows=() name
  for name in aquatic_ws swarmcast-tracker; do rows+=("$(scale_one "$name")"); done
  printf '%s\n' "${rows[@]}" >"$OUT/scale.txt"
  awk '
    BEGIN { printf "\nconnection scale (plain ws, idle announced peers):\n%-20s %8s %12s %12s %14s\n", "server", "peers", "RSS before", "RSS after", "KiB per peer" }
    NR == 1 && $4 > 0 { base = ($3 - $2) / $4 }
    {
      per = "-"
      if ($4 > 0) per = sprintf("%.2f", ($3 - $2) / $4)
      if ($4 > 0 && base > 0) per = per sprintf(" (%.2fx)", ($3 - $2) / $4 / base)
      printf "%-20s %8d %9.1f MiB %9.1f MiB %16s\n", $1, $4, $2 / 1024, $3 / 1024, per
    }' "$OUT/scale.txt"
}

install_tools
make_cert
case $MODE in
  throughput) throughput ;;
  scale) scale ;;
  all) throughput; scale ;;
  *) echo "usage: $0 [throughput|scale|all]" >&2; exit 2 ;;
esac
