#!/usr/bin/env bash
# wrk against swarmcast-origin and against nginx (Debian nginx-light), both
# serving the same files in the same run: small (2 KiB, playlist-sized),
# segment (200 KiB, a 2 s 360p segment) and large (1 MiB). Both get 2 workers
# (nginx worker_processes 2; the origin's tokio runtime has one per core).
# Each file is measured nginx, origin, origin, nginx and each server's two
# runs averaged, so load that drifts during the run (the 2-core machine is
# shared) does not favour whichever server runs first.
# Prints requests/s and the origin/nginx ratio per file.
# Usage: bench/origin/run.sh [SECONDS] [CONNECTIONS]
# (needs a release build in ${CARGO_TARGET_DIR:-target})
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}; CONN=${2:-32}
work=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"; mkdir -p "$work/www" "$work/nginx"
head -c 2048 /dev/urandom >"$work/www/small.ts"
head -c 204800 /dev/urandom >"$work/www/segment.ts"
head -c 1048576 /dev/urandom >"$work/www/large.ts"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; types { video/mp2t ts; }
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:18190; root $work/www; } }
CONF
nginx -c "$work/nginx/nginx.conf" & pids+=($!)
RUST_LOG=error,warp=off "${CARGO_TARGET_DIR:-target}/release/swarmcast-origin" --listen 127.0.0.1:18191 --root "$work/www" >/dev/null & pids+=($!)
sleep 1
rps() { wrk -t2 -c"$CONN" -d"${DUR}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
printf '%-8s %14s %14s %7s\n' file nginx_req_s origin_req_s ratio
for f in small segment large; do
  n1=$(rps "http://127.0.0.1:18190/$f.ts"); o1=$(rps "http://127.0.0.1:18191/$f.ts")
  o2=$(rps "http://127.0.0.1:18191/$f.ts"); n2=$(rps "http://127.0.0.1:18190/$f.ts")
  n=$(echo "($n1 + $n2) / 2" | bc -l); o=$(echo "($o1 + $o2) / 2" | bc -l)
  printf '%-8s %14.0f %14.0f %7.2f\n' "$f" "$n" "$o" "$(echo "$o / $n" | bc -l)"
done
