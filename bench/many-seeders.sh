#!/usr/bin/env bash
# bench/many-seeders.sh - one Tessera leecher against N Tessera seeders (`npm run bench:swarm`).
#
# On 127.0.0.1 only: the built-in tracker (`tessera tracker`), N `tessera seed` processes over
# one copy of the data, then `tessera download`, timed with /usr/bin/time and checked with cmp.
# Runs the same download from 1 seeder first, so the two throughputs compare in one batch.
# The seeders' columns are their CPU and minor page faults during the download (from /proc): on
# one machine they share the cores with the leecher. Page faults are counted because a page's
# first touch is dear on some virtual machines (`node bench/many-files.mjs` prints its cost).
#
#   bash bench/many-seeders.sh                    # N=20, 1 GiB
#   SEEDERS=10 SIZE=268435456 bash bench/many-seeders.sh
#   LEECH_ARGS=--verbose bash bench/many-seeders.sh  # the leecher's trace in $BENCH_DIR/leech-N.log
#   SEED_ARGS='--encryption off' LEECH_ARGS='--quiet --encryption off' bash bench/many-seeders.sh
#                                                    # plaintext: Tessera peers choose RC4 by default
#   SEED_NICE=19 bash bench/many-seeders.sh          # seeders yield the cores to the leecher, as if elsewhere
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
SEEDERS=${SEEDERS:-20}
SIZE=${SIZE:-1073741824}
B=${BENCH_DIR:-/tmp/tessera-bench-swarm}
# Below Linux's ephemeral range (32768-60999), where an outgoing connection may hold a port.
HTTP_PORT=${HTTP_PORT:-20969}
BASE_PORT=${BASE_PORT:-21000}
[ -f "$CLI" ] || (cd "$REPO" && npx tsc -p tsconfig.json)
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
[[ $SEEDERS =~ ^[0-9]+$ ]] && [ "$SEEDERS" -ge 1 ] && [ "$SEEDERS" -le 50 ] || { echo "SEEDERS must be 1..50" >&2; exit 2; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

mkdir -p "$B/data"
# Tessera's resume records stay with the bench's files, never in the home folder.
export XDG_STATE_HOME=$B/state
if [ ! -f "$B/data/big.bin" ] || [ "$(stat -c %s "$B/data/big.bin")" != "$SIZE" ]; then
  /usr/bin/python3 "$HERE/lib/gen-data.py" big "$B/data/big.bin" "$SIZE"
fi
node "$CLI" tracker --http-port "$HTTP_PORT" --udp-port "$((HTTP_PORT + 1))" --host 127.0.0.1 > "$B/tracker.log" 2>&1 &
pids+=($!)
node "$CLI" create "$B/data/big.bin" -o "$B/big.torrent" --piece-length 1048576 --tracker "http://127.0.0.1:$HTTP_PORT/announce" > /dev/null
HASH=$(node "$CLI" info --json "$B/big.torrent" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["infoHash"])')
SCRAPE="http://127.0.0.1:$HTTP_PORT/scrape?info_hash=$(/usr/bin/python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(bytes.fromhex(sys.argv[1])))' "$HASH")"

start_seeders() { # count: adds that many seeders to those already running
  local first=$(( ${#pids[@]} ))
  for i in $(seq "$first" "$((first + $1 - 1))"); do
    nice -n "${SEED_NICE:-0}" node "${NODE_ARGS[@]}" "$CLI" seed "$B/big.torrent" "$B/data" --port "$((BASE_PORT + i))" --max-peers-per-ip 64 ${SEED_ARGS:-} --quiet > "$B/seed-$i.log" 2>&1 &
    pids+=($!)
  done
  # every seeder rechecks 1 GiB before it announces: wait for the tracker to list them all
  for _ in $(seq 1 600); do
    for i in $(seq "$first" "$((first + $1 - 1))"); do
      kill -0 "${pids[$i]}" 2>/dev/null || { echo "seeder $i exited: $(tail -n 1 "$B/seed-$i.log")" >&2; exit 1; }
    done
    n=$(curl -s "$SCRAPE" | grep -ao '8:completei[0-9]*' | head -1 | cut -c12- || true)
    [ "${n:-0}" -ge "$((${#pids[@]} - 1))" ] && return 0  # every pid but the tracker's
    sleep 0.5
  done
  echo "seeders did not announce in time" >&2; exit 1
}

# CPU ticks (1/100 s) and minor page faults of every seeder so far: the tracker is pids[0].
seeders_usage() {
  local p ticks=0 faults=0 t f
  for p in "${pids[@]:1}"; do
    read -r t f < <(awk '{print $14 + $15, $10}' "/proc/$p/stat")
    ticks=$((ticks + t)); faults=$((faults + f))
  done
  echo "$ticks $faults"
}

run() { # label
  rm -rf "$B/out"
  local t c0 f0 c1 f1
  read -r c0 f0 <<< "$(seeders_usage)"
  /usr/bin/time -o "$B/time" -f '%e %U %S %M %R' node "${NODE_ARGS[@]}" "$CLI" download "$B/big.torrent" -o "$B/out" ${LEECH_ARGS:---quiet} --no-dht --max-peers-per-ip 64 --port "$((BASE_PORT - 1))" > "$B/leech-$1.log" 2>&1
  read -r c1 f1 <<< "$(seeders_usage)"
  t=$(tail -1 "$B/time")
  cmp -s "$B/out/big.bin" "$B/data/big.bin" || { echo "$1: output differs" >&2; exit 1; }
  read -r wall user sys rss faults <<< "$t"
  awk -v l="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v pf="$faults" -v n="$SIZE" -v c="$((c1 - c0))" -v sf="$((f1 - f0))" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.2f | %.0f | %d | %.2f | %d |\n", l, w, n / w / 1e6, u + s, r / 1024, pf, c / 100, sf }'
}

echo "| seeders | wall s | MB/s | CPU s | peak RSS MiB | page faults | seeders' CPU s | seeders' page faults |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
start_seeders 1
run 1
start_seeders "$((SEEDERS - 1))"
run "$SEEDERS"
