#!/usr/bin/env bash
# bench/utp.sh - uTP against libtorrent's own: one file from a libtorrent seeder that speaks uTP
# only (TCP off both ways), downloaded over 127.0.0.1 by `tessera download` and by a libtorrent
# leecher that also speaks uTP only, alternating. Prints wall and CPU seconds and peak RSS of
# each leecher per run and checks every copy byte for byte. (`tessera download --no-utp` gets
# nothing from this seeder: the Tessera row is uTP.)
#
#   bash bench/utp.sh                         # 1 GiB, 2 runs of each
#   SIZE=268435456 RUNS=1 bash bench/utp.sh   # quick
#
# Environment: SIZE (bytes, default 1073741824), RUNS (default 2),
#   BENCH_DIR (default /tmp/tessera-utp-bench), TESSERA_CLI (default dist/src/cli/main.js).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
LT=$REPO/bench/lib/lt.py
B=${BENCH_DIR:-/tmp/tessera-utp-bench}
SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-2}
# shellcheck source=bench/lib/one-file.sh
source "$REPO/bench/lib/one-file.sh"

seed_port=$(free_port)
/usr/bin/python3 "$LT" seed --utp-only --port "$seed_port" --save "$B/data" "$B/big.torrent" > "$B/seed.log" 2>&1 &
seeder=$!
trap 'kill "$seeder" 2>/dev/null || true; wait "$seeder" 2>/dev/null || true' EXIT
for _ in $(seq 1200); do grep -q '^ready' "$B/seed.log" && break; sleep 0.5; done
grep -q '^ready' "$B/seed.log" || { echo "seeder not ready: $(tail -3 "$B/seed.log")" >&2; exit 1; }

printf 'leecher\trun\twall_s\tcpu_s\tpeak_rss_mib\n'
for run in $(seq "$RUNS"); do
  for leecher in tessera libtorrent; do
    rm -rf "$B/out"
    mkdir -p "$B/out"
    case $leecher in
      tessera) cmd=(node "$CLI" download "$B/big.torrent" -o "$B/out" --peer "127.0.0.1:$seed_port" --no-dht --port 0 --quiet) ;;
      libtorrent) cmd=(/usr/bin/python3 "$LT" leech --utp-only --port "$(free_port)" --save "$B/out" --connect "127.0.0.1:$seed_port" "$B/big.torrent") ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$B/time" "${cmd[@]}" > "$B/$leecher.log" 2>&1
    cmp "$B/data/big.bin" "$B/out/big.bin"
    read -r wall user sys rss < "$B/time"
    printf '%s\t%s\t%s\t%.2f\t%d\n' "$leecher" "$run" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024))
  done
done
