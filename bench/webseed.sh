#!/usr/bin/env bash
# 1 GiB from an nginx web seed (BEP 19) on 127.0.0.1: curl fetching the file, aria2c and
# tessera downloading the .torrent whose url-list names the server. Each output is compared
# with the source; /usr/bin/time gives wall, user and system seconds and peak RSS.
#   bash bench/webseed.sh              # 1 GiB, 2 rounds
#   SIZE=268435456 ROUNDS=1 bash bench/webseed.sh
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1
SIZE=${SIZE:-1073741824}
ROUNDS=${ROUNDS:-2}
CLI=${TESSERA_CLI:-$(cd "$(dirname "$0")/.." && pwd)/dist/src/cli/main.js}
# shellcheck source=bench/lib/node-args.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-args.sh"
read_node_args NODE_ARGS "$CLI" || exit 1
dir=$(mktemp -d /tmp/tessera-webseed-bench.XXXXXX)
nginx_pid=
cleanup() { if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/data" "$dir/nginx/tmp"
head -c "$SIZE" /dev/urandom > "$dir/data/big.bin"
port=$(( 20000 + RANDOM % 20000 ))
cat > "$dir/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/nginx/access.log;
  default_type application/octet-stream;
  client_body_temp_path $dir/nginx/tmp;
  proxy_temp_path $dir/nginx/tmp;
  fastcgi_temp_path $dir/nginx/tmp;
  uwsgi_temp_path $dir/nginx/tmp;
  scgi_temp_path $dir/nginx/tmp;
  sendfile on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $dir/data; }
}
CONF
[ "$(id -u)" = 0 ] && sed -i '2a user root root;' "$dir/nginx/nginx.conf"
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" & nginx_pid=$!
sleep 1
mktorrent -l 20 -a http://127.0.0.1:9/announce -w "http://127.0.0.1:$port/" -o "$dir/big.torrent" "$dir/data/big.bin" > /dev/null
T=(/usr/bin/time -o "$dir/time" -f '%e s wall, %U s user, %S s sys, %M KiB peak RSS')
for round in $(seq "$ROUNDS"); do
  for tool in curl aria2c tessera; do
    out="$dir/out-$tool"; rm -rf "$out"; mkdir -p "$out"
    case $tool in
      curl) cmd=(curl -s -o "$out/big.bin" "http://127.0.0.1:$port/big.bin") ;;
      aria2c) cmd=(aria2c -q -d "$out" --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false --seed-time=0 --file-allocation=none --summary-interval=0 "$dir/big.torrent") ;;
      tessera) cmd=(node "${NODE_ARGS[@]}" "$CLI" download "$dir/big.torrent" -o "$out" --no-dht -q --port 0) ;;
    esac
    "${T[@]}" "${cmd[@]}" > "$dir/$tool.log" 2>&1 || true
    t=$(cat "$dir/time")
    cmp -s "$out/big.bin" "$dir/data/big.bin" && same=identical || same=DIFFERENT
    echo "round $round $tool: $t ($same)"
    rm -rf "$out"
  done
done
echo "nginx requests: curl $(grep -c '"curl/' "$dir/nginx/access.log" || true), aria2c $(grep -c '"aria2/' "$dir/nginx/access.log" || true), tessera $(grep -c '"Tessera' "$dir/nginx/access.log" || true)"
