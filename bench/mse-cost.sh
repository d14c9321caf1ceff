#!/usr/bin/env bash
# bench/mse-cost.sh - what protocol encryption costs: `tessera seed` -> `tessera download` of one
# file over 127.0.0.1, with --encryption require (MSE, RC4 both ways) and --encryption off
# (plaintext), alternating. Prints wall and CPU seconds (user + system) of each side per run and
# checks every copy byte for byte. Both sides hash the whole file in every mode (the seed
# verifies it at start, the leecher each piece), so the CPU difference is RC4's.
#
#   bash bench/mse-cost.sh                       # 1 GiB, 2 runs of each mode
#   SIZE=268435456 RUNS=1 bash bench/mse-cost.sh # quick
#
# Environment: SIZE (bytes, default 1073741824), RUNS (default 2),
#   BENCH_DIR (default /tmp/tessera-mse-bench), TESSERA_CLI (default dist/src/cli/main.js).
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
B=${BENCH_DIR:-/tmp/tessera-mse-bench}
SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-2}
# shellcheck source=bench/lib/one-file.sh
source "$REPO/bench/lib/one-file.sh"

printf 'mode\trun\tdownload_wall_s\tdownload_cpu_s\tseed_cpu_s\n'
for run in $(seq "$RUNS"); do
  for mode in off require; do
    port=$(free_port)
    rm -rf "$B/out" "$B/seed.log"
    /usr/bin/time -f '%U %S' -o "$B/seed.time" node "${NODE_ARGS[@]}" "$CLI" seed "$B/big.torrent" "$B/data" --port "$port" --encryption "$mode" --quiet > "$B/seed.log" 2>&1 &
    timer=$!
    for _ in $(seq 600); do grep -q 'listening on port' "$B/seed.log" && break; sleep 0.5; done
    grep -q 'listening on port' "$B/seed.log" || { echo "seed not ready: $(tail -3 "$B/seed.log")" >&2; kill "$(pgrep -P "$timer")"; exit 1; }
    /usr/bin/time -f '%e %U %S' -o "$B/download.time" \
      node "${NODE_ARGS[@]}" "$CLI" download "$B/big.torrent" -o "$B/out" --peer "127.0.0.1:$port" --no-dht --port 0 --encryption "$mode" --quiet > /dev/null
    cmp "$B/data/big.bin" "$B/out/big.bin"
    kill -INT "$(pgrep -P "$timer")"
    wait "$timer" || true   # the seed exits 130 on Ctrl-C
    read -r dwall duser dsys < "$B/download.time"
    read -r suser ssys < <(tail -n 1 "$B/seed.time")   # after a "Command exited with non-zero status" line
    printf '%s\t%s\t%s\t%.2f\t%.2f\n' "$mode" "$run" "$dwall" "$(echo "$duser + $dsys" | bc)" "$(echo "$suser + $ssys" | bc)"
  done
done
