#!/usr/bin/env bash
# bench/utp.sh - uTP against libtorrent's own: one file from a libtorrent seeder that speaks uTP
# only (TCP off both ways), downloaded over 127.0.0.1 by `tessera download` (row "tessera") and by
# a libtorrent leecher that also speaks uTP only (row "libtorrent"), alternating; optionally also
# by that libtorrent leecher from `tessera seed` (row "tessera-seed": Tessera's uTP sending).
# Prints wall seconds and MB/s per row and run, the CPU seconds and peak RSS of Tessera's
# process (the leecher's for "libtorrent"), Tessera's wall-time ratio to the "libtorrent" row of
# the same run, and checks every copy byte for byte. (`tessera download --no-utp` gets nothing
# from this seeder: the Tessera row is uTP.)
#
#   bash bench/utp.sh                         # 1 GiB, 2 runs of each
#   SIZE=268435456 RUNS=1 bash bench/utp.sh   # quick
#
# Environment: SIZE (bytes, default 1073741824), RUNS (default 2),
#   ROWS (default "tessera libtorrent"; add tessera-seed for the upload),
#   RELAY ("MIN_MS MAX_MS LOSS": each leecher reaches its seeder through a fresh copy of the
#   test tree's lossy UDP relay, see bench/utp-lossy.sh; needs `npm run build`),
#   BENCH_DIR (default /tmp/tessera-utp-bench), TESSERA_CLI (default dist/src/cli/main.js).
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
LT=$REPO/bench/lib/lt.py
B=${BENCH_DIR:-/tmp/tessera-utp-bench}
SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-2}
RELAY=${RELAY:-}
ROWS=${ROWS:-tessera libtorrent}
# shellcheck source=bench/lib/one-file.sh
source "$REPO/bench/lib/one-file.sh"

seed_port=$(free_port)
/usr/bin/python3 "$LT" seed --utp-only --port "$seed_port" --save "$B/data" "$B/big.torrent" > "$B/seed.log" 2>&1 &
seeder=$!
relay=
tseed=
stop_relay() { [ -z "$relay" ] || { kill "$relay" 2>/dev/null || true; wait "$relay" 2>/dev/null || true; relay=; }; }
# `tessera seed` runs under /usr/bin/time ($tseed); Ctrl-C goes to the seed itself, which exits 130.
stop_tseed() { [ -z "$tseed" ] || { kill -INT "$(pgrep -P "$tseed")" 2>/dev/null || true; wait "$tseed" 2>/dev/null || true; tseed=; }; }
trap 'stop_relay; stop_tseed; kill "$seeder" 2>/dev/null || true; wait "$seeder" 2>/dev/null || true' EXIT
for _ in $(seq 1200); do grep -q '^ready' "$B/seed.log" && break; sleep 0.5; done
grep -q '^ready' "$B/seed.log" || { echo "seeder not ready: $(tail -3 "$B/seed.log")" >&2; exit 1; }

# Sets `port`, the one a leecher dials: seeder port $1's, or a fresh relay's in front of it (seeded by run $2).
start_path() {
  port=$1
  [ -n "$RELAY" ] || return 0
  read -r min max loss <<< "$RELAY"
  rm -f "$B/relay.log"   # the redirect below truncates it only once the child runs: no stale port
  node "$REPO/bench/lib/udp-relay.mjs" "$1" "$min" "$max" "$loss" "$2" > "$B/relay.log" 2>&1 &
  relay=$!
  for _ in $(seq 100); do grep -qs '^relay on port' "$B/relay.log" && break; sleep 0.1; done
  port=$(awk '/^relay on port/ { print $4 }' "$B/relay.log")
  [ -n "$port" ] || { echo "relay did not start: $(cat "$B/relay.log")" >&2; exit 1; }
}

printf 'row\trun\twall_s\tMB_s\tcpu_s\tpeak_rss_mib\trelay\n'
for run in $(seq "$RUNS"); do
  declare -A wall_of=()
  for row in $ROWS; do
    rm -rf "$B/out"
    mkdir -p "$B/out"
    if [ "$row" = tessera-seed ]; then
      tport=$(free_port)
      rm -f "$B/tseed.log"
      /usr/bin/time -f '%U %S %M' -o "$B/tseed.time" node "${NODE_ARGS[@]}" "$CLI" seed "$B/big.torrent" "$B/data" --port "$tport" --quiet > "$B/tseed.log" 2>&1 &
      tseed=$!
      for _ in $(seq 600); do grep -qs 'listening on port' "$B/tseed.log" && break; sleep 0.5; done
      grep -q 'listening on port' "$B/tseed.log" || { echo "tessera seed not ready: $(tail -3 "$B/tseed.log")" >&2; exit 1; }
      start_path "$tport" "$run"
    else
      start_path "$seed_port" "$run"
    fi
    case $row in
      tessera) cmd=(node "${NODE_ARGS[@]}" "$CLI" download "$B/big.torrent" -o "$B/out" --peer "127.0.0.1:$port" --no-dht --port 0 --quiet) ;;
      libtorrent | tessera-seed) cmd=(/usr/bin/python3 "$LT" leech --utp-only --timeout 7200 --port "$(free_port)" --save "$B/out" --connect "127.0.0.1:$port" "$B/big.torrent") ;;
      *) echo "unknown row $row" >&2; exit 1 ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$B/time" "${cmd[@]}" > "$B/$row.log" 2>&1
    stop_tseed
    stop_relay
    cmp "$B/data/big.bin" "$B/out/big.bin"
    read -r wall user sys rss < "$B/time"
    # The upload's CPU and memory are the Tessera seed's (its last line follows "Command exited with non-zero status").
    [ "$row" != tessera-seed ] || read -r user sys rss < <(tail -n 1 "$B/tseed.time")
    wall_of[$row]=$wall
    printf '%s\t%s\t%s\t%.2f\t%.2f\t%d\t%s\n' "$row" "$run" "$wall" "$(echo "$SIZE / $wall / 1000000" | bc -l)" \
      "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$([ -n "$RELAY" ] && grep '^relay:' "$B/relay.log" || echo -)"
  done
  for row in tessera tessera-seed; do
    [ -n "${wall_of[$row]:-}" ] && [ -n "${wall_of[libtorrent]:-}" ] || continue
    printf '# run %s: %s wall / libtorrent wall = %.2f\n' "$run" "$row" "$(echo "${wall_of[$row]} / ${wall_of[libtorrent]}" | bc -l)"
  done
  printf '# run %s: load average %s\n' "$run" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
