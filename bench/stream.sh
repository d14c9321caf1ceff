#!/usr/bin/env bash
# bench/stream.sh - `tessera stream` from a throttled seeder: time to first byte and seek stalls.
#
# One file of SIZE bytes is seeded by libtorrent on 127.0.0.1, its upload capped at SEED_RATE
# bytes/s. `tessera stream` starts on it (fresh output folder) and prints the file's URL; then:
#   url_s   seconds from the start of `tessera stream` to the URL on standard output;
#   ttfb_s  a GET of bytes 0..1 MiB sent as soon as the URL is known: time to its first byte;
#   read_s  the same GET: time to its last byte;
#   seek_N  after READ_S seconds of play, a GET of 1 MiB at N % of the file (forward seeks,
#           in order 50, 90): time to its first byte (the stall a player sees) and to its last.
# Then the stream is stopped (SIGINT) and its CPU seconds and peak RSS are printed. Each seek
# lands where nothing was fetched yet (the stream fetches from the read position onwards).
# Needs python3-libtorrent, mktorrent, curl and GNU time; traffic stays on 127.0.0.1.
#
#   bash bench/stream.sh                                    # SIZE=1 GiB SEED_RATE=50 MiB/s
#   SIZE=268435456 bash bench/stream.sh                     # 256 MiB
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLI=${TESSERA_CLI:-$REPO/dist/src/cli/main.js}
SIZE=${SIZE:-1073741824}
SEED_RATE=${SEED_RATE:-52428800}
READ_S=${READ_S:-3}
B=${BENCH_DIR:-/tmp/tessera-bench-stream}
PORT=${SEED_PORT:-47321}
HTTP_PORT=${HTTP_PORT:-47322}
MiB=1048576

seeder=""
streamer=""
cleanup() {
  for p in $streamer $seeder; do kill "$p" 2>/dev/null || true; done
  for p in $streamer $seeder; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

now() { date +%s.%N; }
# GET of [from, from + 1 MiB): "first_byte_s last_byte_s", checked against the source.
get_range() {
  local from=$1 to=$(($1 + MiB - 1)) out="$B/range.bin" t
  t=$(curl -sS -o "$out" -r "$from-$to" -w '%{time_starttransfer} %{time_total}' "$URL")
  cmp -s "$out" <(tail -c +"$((from + 1))" "$B/data/stream.bin" | head -c "$MiB") || { echo "range $from: wrong bytes" >&2; exit 1; }
  echo "$t"
}

[ -f "$CLI" ] || (cd "$REPO" && npx tsc -p tsconfig.json)
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
rm -rf "$B" && mkdir -p "$B/data"
head -c "$SIZE" /dev/urandom > "$B/data/stream.bin"
mktorrent -l 20 -a http://127.0.0.1:9/announce -o "$B/t.torrent" "$B/data/stream.bin" > /dev/null
/usr/bin/python3 "$REPO/test/helpers/lt-seed.py" --port "$PORT" --save "$B/data" --upload-limit "$SEED_RATE" --parent-pid $$ --timeout 600 "$B/t.torrent" > "$B/seed.log" 2>&1 &
seeder=$!
for _ in $(seq 1 6000); do grep -q '^ready' "$B/seed.log" && break; sleep 0.1; done
grep -q '^ready' "$B/seed.log" || { echo "the seeder did not start" >&2; exit 1; }

t0=$(now)
/usr/bin/time -f '%U %S %M' -o "$B/time.txt" node "${NODE_ARGS[@]}" "$CLI" stream "$B/t.torrent" -o "$B/out" --peer "127.0.0.1:$PORT" --no-dht --port 0 --http-port "$HTTP_PORT" --quiet > "$B/urls.txt" 2> "$B/stream.err" &
streamer=$!
URL=""
for _ in $(seq 1 6000); do URL=$(head -n 1 "$B/urls.txt"); [ -n "$URL" ] && break; sleep 0.01; done
[ -n "$URL" ] || { echo "no URL from tessera stream" >&2; cat "$B/stream.err" >&2; exit 1; }
url_s=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')
read -r ttfb_s read_s <<< "$(get_range 0)"
sleep "$READ_S"
read -r seek50_first seek50_last <<< "$(get_range $((SIZE / 2 / MiB * MiB)))"
read -r seek90_first seek90_last <<< "$(get_range $((SIZE * 9 / 10 / MiB * MiB)))"
node_pid=$(pgrep -P "$streamer" node || true)
[ -n "$node_pid" ] && kill -INT "$node_pid"
wait "$streamer" || true
streamer=""
read -r user sys rss <<< "$(tail -n 1 "$B/time.txt")"

printf 'size %d B, seeder capped at %d B/s, 1 MiB pieces\n' "$SIZE" "$SEED_RATE"
printf '%-26s %8s\n' measure seconds
printf '%-26s %8.3f\n' 'start -> URL printed' "$url_s" 'first byte (GET 0-1MiB)' "$ttfb_s" 'last byte (GET 0-1MiB)' "$read_s" \
  'seek 50%: first byte' "$seek50_first" 'seek 50%: last byte' "$seek50_last" 'seek 90%: first byte' "$seek90_first" 'seek 90%: last byte' "$seek90_last"
printf 'tessera stream: %s s user, %s s system, peak RSS %d KiB\n' "$user" "$sys" "$rss"
rm -rf "$B"
