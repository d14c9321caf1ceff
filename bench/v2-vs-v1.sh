#!/usr/bin/env bash
# The same 1 GiB file as a v1 torrent (SHA-1 pieces) and as a v2-only torrent (BEP 52: SHA-256
# merkle trees over 16 KiB leaves), both made by libtorrent and seeded by one libtorrent on
# 127.0.0.1 (DHT, LSD, UPnP, NAT-PMP, uTP off); tessera downloads each in turn. Each output is
# compared with the source; /usr/bin/time gives wall, user and system seconds and peak RSS.
# Then the hashing alone, in one process over the file in memory: SHA-1 per piece against the
# merkle piece hash (leaves and tree), as tessera verifies them.
#   bash bench/v2-vs-v1.sh              # 1 GiB, 1 MiB pieces, 2 rounds
#   SIZE=268435456 ROUNDS=1 bash bench/v2-vs-v1.sh
set -euo pipefail
SIZE=${SIZE:-1073741824}
PIECE=${PIECE:-1048576}
ROUNDS=${ROUNDS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=${TESSERA_CLI:-$ROOT/dist/src/cli/main.js}
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
dir=$(mktemp -d /tmp/tessera-v2-bench.XXXXXX)
seed_pid=
cleanup() { if [ -n "$seed_pid" ]; then kill "$seed_pid" 2>/dev/null || true; wait "$seed_pid" 2>/dev/null || true; fi; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/data"
head -c "$SIZE" /dev/urandom > "$dir/data/big.bin"
/usr/bin/python3 - "$dir" "$PIECE" <<'PY'
import sys, libtorrent as lt
d, piece = sys.argv[1], int(sys.argv[2])
for name, flags in (('v1', lt.create_torrent.v1_only), ('v2', lt.create_torrent.v2_only)):
    fs = lt.file_storage()
    lt.add_files(fs, d + '/data/big.bin')
    ct = lt.create_torrent(fs, piece, flags=flags)
    lt.set_piece_hashes(ct, d + '/data')
    open('%s/%s.torrent' % (d, name), 'wb').write(lt.bencode(ct.generate()))
PY
port=$(( 20000 + RANDOM % 20000 ))
/usr/bin/python3 "$ROOT/test/helpers/lt-seed.py" --port "$port" --save "$dir/data" --timeout 600 "$dir/v1.torrent" "$dir/v2.torrent" > "$dir/seed.log" 2>&1 & seed_pid=$!
for _ in $(seq 600); do grep -q '^ready' "$dir/seed.log" && break; kill -0 "$seed_pid" 2>/dev/null || { cat "$dir/seed.log"; exit 1; }; sleep 1; done
grep -q '^ready' "$dir/seed.log" || { echo "libtorrent not ready"; cat "$dir/seed.log"; exit 1; }
T=(/usr/bin/time -o "$dir/time" -f '%e s wall, %U s user, %S s sys, %M KiB peak RSS')
echo "size $SIZE bytes, piece length $PIECE, $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  for v in v1 v2; do
    out="$dir/out-$v"; rm -rf "$out"; mkdir -p "$out"
    "${T[@]}" node "${NODE_ARGS[@]}" "$CLI" download "$dir/$v.torrent" -o "$out" --no-dht --no-port-mapping -q --port 0 --peer "127.0.0.1:$port" > "$dir/$v.log" 2>&1 || true
    cmp -s "$out/big.bin" "$dir/data/big.bin" && same=identical || same=DIFFERENT
    echo "round $round tessera $v: $(cat "$dir/time") ($same)"
    rm -rf "$out"
  done
done
node --input-type=module - "$dir/data/big.bin" "$PIECE" "$ROOT" <<'JS'
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const [file, pieceArg, root] = process.argv.slice(2);
const { merkleRoot } = await import(`${root}/dist/src/metainfo/merkle.js`);
const piece = Number(pieceArg);
const data = readFileSync(file);
const cpu = (label, fn) => {
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const u = process.cpuUsage(u0);
  console.log(`hash only ${label}: ${((u.user + u.system) / 1e6).toFixed(2)} s CPU, ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s wall`);
};
const sha1 = () => {
  for (let at = 0; at < data.length; at += piece) createHash('sha1').update(data.subarray(at, at + piece)).digest();
};
const merkle = () => {
  for (let at = 0; at < data.length; at += piece) merkleRoot(data.subarray(at, at + piece), piece / 16384);
};
// A first pass brings the whole buffer into memory; then each hash twice, alternating.
sha1();
for (let round = 1; round <= 2; round++) {
  cpu(`round ${round}, SHA-1 per piece (v1)`, sha1);
  cpu(`round ${round}, merkle piece hash, SHA-256 leaves and tree (v2)`, merkle);
}
JS
