# Sourced by the one-file benchmarks (mse-cost.sh, utp.sh) after they set REPO, CLI and B:
# builds Tessera if needed, writes $B/data/big.bin of SIZE random bytes and $B/big.torrent once
# (again when SIZE changes), and defines free_port.
[ -f "$CLI" ] || (cd "$REPO" && npx tsc -p tsconfig.json)
mkdir -p "$B/data"
if [ "$(stat -c %s "$B/data/big.bin" 2>/dev/null || echo 0)" != "$SIZE" ]; then
  head -c "$SIZE" /dev/urandom > "$B/data/big.bin"
  rm -f "$B/big.torrent"
fi
[ -f "$B/big.torrent" ] || node "$CLI" create "$B/data/big.bin" -o "$B/big.torrent" > /dev/null

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
