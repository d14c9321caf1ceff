#!/usr/bin/env bash
# bench/rate-limit.sh - how closely `tessera download --max-down RATE` holds a rate.
#
# For each rate, one file of RATE x SECONDS bytes is seeded by libtorrent (unlimited) on
# 127.0.0.1 and downloaded with --max-down RATE --json; the transfer time (the `seconds` of
# the `done` event: from the start of the run to the last piece verified, without process
# start-up and the trackers' shutdown) is compared with size / rate. The same file is then
# downloaded again without a cap: when that takes about as long, the machine (not the limiter)
# bounded the capped run. Prints one row per rate: expected s, measured s, achieved rate,
# error %, the steady rate (between 10 % and 90 % of the bytes, from the `progress` lines:
# start-up and the first connection left out) and its error, the uncapped time, and the
# capped run's CPU seconds (user + system).
# Needs python3-libtorrent, mktorrent and GNU time; traffic stays on 127.0.0.1.
#
#   bash bench/rate-limit.sh                      # RATES="1M 10M 100M" SECONDS_PER_RUN=10
#   RATES=10M SECONDS_PER_RUN=20 bash bench/rate-limit.sh
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
RATES=${RATES:-1M 10M 100M}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
B=${BENCH_DIR:-/tmp/tessera-bench-rate}
PORT=${SEED_PORT:-47311}

bytes_of() {
  local n=${1%[kKmMgG]} u=${1: -1}
  case $u in k|K) echo $((n * 1024));; m|M) echo $((n * 1048576));; g|G) echo $((n * 1073741824));; *) echo "$1";; esac
}

[ -f "$CLI" ] || (cd "$REPO" && npx tsc -p tsconfig.json)
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
rm -rf "$B" && mkdir -p "$B"
# Downloads into folder $2 (more options after it); prints the `seconds` of the `done` event, CPU times go to $2.time.
run_download() {
  local d=$1 out=$2; shift 2
  /usr/bin/time -f '%U %S' -o "$out.time" node "${NODE_ARGS[@]}" "$CLI" download "$d/t.torrent" -o "$out" --peer "127.0.0.1:$PORT" --no-dht --port 0 --json "$@" > "$out.log" 2> "$out.err"
  grep '"event":"done"' "$out.log" | sed 's/.*"seconds":\([0-9.]*\).*/\1/'
}

printf '%-8s %12s %10s %10s %14s %8s %12s %8s %11s %8s\n' rate bytes expect_s took_s achieved_B/s error% steady_B/s error% uncapped_s cpu_s
for rate in $RATES; do
  r=$(bytes_of "$rate")
  size=$((r * SECONDS_PER_RUN))
  d="$B/$rate" && mkdir -p "$d/data" "$d/seed"
  head -c "$size" /dev/urandom > "$d/data/payload-$rate.bin"
  mktorrent -l 18 -a http://127.0.0.1:9/announce -o "$d/t.torrent" "$d/data/payload-$rate.bin" > /dev/null
  /usr/bin/python3 "$REPO/test/helpers/lt-seed.py" --port "$PORT" --save "$d/data" --parent-pid $$ --timeout 600 "$d/t.torrent" > "$d/seed.log" 2>&1 &
  seeder=$!
  # The seeder hashes the file first: minutes for 1 GB on a loaded machine.
  for _ in $(seq 1 6000); do grep -q '^ready' "$d/seed.log" && break; sleep 0.1; done
  grep -q '^ready' "$d/seed.log" || { echo "$rate: the seeder did not start" >&2; exit 1; }
  took=$(run_download "$d" "$d/out" --max-down "$rate")
  cpu=$(awk '{ s = $1 + $2 } END { print s }' "$d/out.time")
  steady=$(node "$HERE/lib/steady-rate.mjs" "$d/out.log")
  uncapped=$(run_download "$d" "$d/free")
  kill "$seeder" 2>/dev/null || true
  wait "$seeder" 2>/dev/null || true
  cmp -s "$d/data/payload-$rate.bin" "$d/out/payload-$rate.bin" || { echo "$rate: the download differs from the source" >&2; exit 1; }
  awk -v rate="$rate" -v size="$size" -v r="$r" -v took="$took" -v free="$uncapped" -v cpu="$cpu" -v steady="$steady" 'BEGIN {
    expect = size / r
    printf "%-8s %12d %10.2f %10.2f %14.0f %+7.1f%% %12.0f %+7.1f%% %11.2f %8.2f\n", rate, size, expect, took, size / took, (took - expect) / expect * 100, steady, (steady - r) / r * 100, free, cpu }'
  rm -rf "$d"
done
