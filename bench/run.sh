#!/usr/bin/env bash
# bench/run.sh - Tessera against real BitTorrent clients on loopback (`npm run bench`).
#
# Stands up, inside a network namespace that has only `lo`: opentracker (whitelist), one real
# seeder (libtorrent, aria2 or Tessera), then runs leechers alternately on the same data and
# verifies every result byte for byte. Prints medians + Tessera's ratios to each anchor and
# writes a TSV of all runs. Needs root (network namespace) and Node 20.
#
#   bash bench/run.sh                              # MODE=download: 1 GiB file + 200 files/256 MiB
#   BIG_SIZE=268435456 RUNS=1 bash bench/run.sh    # quick
#   SEEDER=aria2 bash bench/run.sh                 # aria2 seeds instead of libtorrent (hp profile)
#   MODE=seed bash bench/run.sh                    # libtorrent leecher: from `tessera seed` vs from libtorrent
#   MODE=seed SEED_RSS_LEECHERS=50 bash bench/run.sh   # then 50 libtorrent leechers one after another
#                                                  # from `tessera seed`: its RSS after each (rss-*.tsv)
#   MODE=recheck bash bench/run.sh                 # `tessera download` on complete data (recheck speed)
#   MODE=swarm bash bench/run.sh                   # 8 upload-capped libtorrent seeders (see lib/swarm-mode.sh)
#
# Environment (defaults):
#   MODE=download|seed|recheck|swarm RUNS=3           TORRENTS="big multi"
#   LEECHERS="tessera lt aria2 webtorrent"   (also lt-hp; MODE=recheck default "tessera lt")
#   SEEDER=lt-hp|lt|aria2|webtorrent|tessera           TIMEOUT=180 (s per run)
#   BIG_SIZE=1073741824  MULTI_FILES=200  MULTI_SIZE=268435456
#   TESSERA_CLI=path/to/main.js (default dist/src/cli/main.js; built with tsc if missing)
#   TESSERA_ARGS="--verbose"   more leecher options (--verbose writes the once-a-second trace to the run's log)
#   TESSERA_CLI_B=other/build/src/cli/main.js   leecher `tessera-b`: a second build in the same rotation (A/B)
#   BUILD_DIR=/tmp/x   build the repo with `tsc --outDir /tmp/x` first and use that build
#   BENCH_DIR=/tmp/tessera-bench (data, logs, results)   WT_DIR=/tmp/tessera-bench-wt (webtorrent-cli)
#   NETNS=tessera-bench   RESULTS=$BENCH_DIR/results-<batch>.tsv   KEEP_FAILED=0
#   TESSERA_SEED_CMD='node {nodeargs} {cli} seed {torrent} {datadir} --port {port} --quiet'  (MODE=seed;
#     {nodeargs}: the flags of the CLI's shebang, as for every Tessera process the bench starts)
#   SEED_RSS_LEECHERS=0 (MODE=seed: sequential leechers for the seeder's RSS, on the first torrent)
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3                       # Debian's python3, where python3-libtorrent lives
MODE=${MODE:-download}
RUNS=${RUNS:-3}
TORRENTS=${TORRENTS:-big multi}
SEEDER=${SEEDER:-lt-hp}
if [ "$MODE" = recheck ]; then LEECHERS=${LEECHERS:-tessera lt}; else LEECHERS=${LEECHERS:-tessera lt aria2 webtorrent}; fi
TIMEOUT=${TIMEOUT:-180}
BIG_SIZE=${BIG_SIZE:-1073741824}
MULTI_FILES=${MULTI_FILES:-200}
MULTI_SIZE=${MULTI_SIZE:-268435456}
B=${BENCH_DIR:-/tmp/tessera-bench}
WT_DIR=${WT_DIR:-/tmp/tessera-bench-wt}
WT_CLI=$WT_DIR/node_modules/webtorrent-cli/bin/cmd.js
NETNS=${NETNS:-tessera-bench}
TRACKER_PORT=${TRACKER_PORT:-6969}
LEECH_PORT_BASE=${LEECH_PORT_BASE:-52000}
KEEP_FAILED=${KEEP_FAILED:-0}
TESSERA_SEED_CMD=${TESSERA_SEED_CMD:-'node {nodeargs} {cli} seed {torrent} {datadir} --port {port} --quiet'}
BATCH=$(date +%Y%m%d-%H%M%S)
RESULTS=${RESULTS:-$B/results-$BATCH.tsv}

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

case $MODE in download|seed|recheck|swarm) ;; *) die "MODE must be download, seed, recheck or swarm" ;; esac
# shellcheck source=lib/swarm-mode.sh
. "$HERE/lib/swarm-mode.sh"
# shellcheck source=lib/node-args.sh
. "$HERE/lib/node-args.sh"
[ "$(id -u)" = 0 ] || die "run as root (it creates a network namespace)"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 50 ] || die "RUNS must be 1..50"
mkdir -p "$B"
# Tessera's resume records stay with the bench's files, never in the home folder; every run
# downloads into a fresh folder, so none of them starts from a record.
export XDG_STATE_HOME=$B/state
exec 9> "$B/lock"
flock -n 9 || die "another bench run holds $B/lock"

# ------------------------------------------------------------------ processes (by pid only)
declare -A BG_PID=()          # name -> pid of a background process we started
LEECH_PID=""
CREATED_NETNS=0

alive() { [ -r "/proc/$1/stat" ] && ! awk '{exit !($3 == "Z" || $3 == "X")}' "/proc/$1/stat" 2>/dev/null; }
descendants() { local c; for c in $(pgrep -P "$1" 2>/dev/null || true); do descendants "$c"; echo "$c"; done; }
kill_tree() { # pid: TERM the process and its descendants, wait up to 10 s, then KILL
  local root=$1 p all
  alive "$root" || return 0
  all="$(descendants "$root") $root"
  for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local any=0; for p in $all; do alive "$p" && any=1; done
    [ $any = 0 ] && break; sleep 0.1
  done
  for p in $all; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  wait "$root" 2>/dev/null || true
}
start_bg() { # name logfile cmd...  (in the netns; `ip netns exec` execs, so $! is the program)
  local name=$1 logf=$2; shift 2
  ip netns exec "$NETNS" "$@" > "$logf" 2>&1 < /dev/null &
  BG_PID[$name]=$!
}
stop_bg() { local p=${BG_PID[$1]:-}; [ -n "$p" ] && kill_tree "$p"; unset "BG_PID[$1]"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$LEECH_PID" ] && kill_tree "$LEECH_PID"
  local n; for n in "${!BG_PID[@]}"; do stop_bg "$n"; done
  [ $CREATED_NETNS = 1 ] && ip netns del "$NETNS" 2>/dev/null
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

proc_cpu() { # pid -> user+sys seconds so far
  awk -v tk="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / tk}' "/proc/$1/stat" 2>/dev/null || echo 0
}
seeder_cpu() { # seeder -> CPU seconds of its process(es) so far
  [ -n "${SEEDER_CPU_FN:-}" ] && { "$SEEDER_CPU_FN"; return; }
  local n s=0
  for n in "${!BG_PID[@]}"; do
    if [[ $n == "seed-$1" || $n =~ ^seed-$1-[0-9]+$ ]]; then
      s=$(awk -v a="$s" -v b="$(proc_cpu "${BG_PID[$n]}")" 'BEGIN{printf "%.2f", a + b}')
    fi
  done
  echo "$s"
}

# ------------------------------------------------------------------ dependencies
install_deps() {
  local missing=() c
  for c in opentracker:opentracker aria2c:aria2 mktorrent:mktorrent ip:iproute2 curl:curl openssl:openssl pgrep:procps flock:util-linux; do
    command -v "${c%%:*}" >/dev/null || missing+=("${c#*:}")
  done
  [ -x /usr/bin/time ] || missing+=(time)
  $PY -c 'import libtorrent' 2>/dev/null || missing+=(python3-libtorrent)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; }
  fi
  if [[ " $LEECHERS $SEEDER " == *" webtorrent "* ]]; then
    if [ ! -f "$WT_CLI" ]; then
      log "npm install webtorrent-cli@6.0.1 into $WT_DIR"
      mkdir -p "$WT_DIR"
      # --ignore-scripts: a dependency's preinstall insists on pnpm, and node-datachannel's
      # install script downloads a prebuilt binary (patched out below)
      (cd "$WT_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
        npm install --ignore-scripts --no-audit --no-fund webtorrent-cli@6.0.1 >&2)
    fi
    "$HERE/lib/patch-webtorrent.sh" "$WT_DIR"
  fi
}

resolve_cli() {
  if [ -n "${TESSERA_CLI:-}" ]; then :
  elif [ -n "${BUILD_DIR:-}" ]; then
    log "building Tessera into $BUILD_DIR"
    (cd "$REPO" && npx tsc -p tsconfig.json --outDir "$BUILD_DIR") >&2 || log "warning: tsc reported errors (using what it emitted)"
    echo '{"type":"module"}' > "$BUILD_DIR/package.json"   # .js files are ES modules
    TESSERA_CLI=$BUILD_DIR/src/cli/main.js
  else
    TESSERA_CLI=$REPO/dist/src/cli/main.js
    if [ ! -f "$TESSERA_CLI" ]; then log "building Tessera (npx tsc -p tsconfig.json)"; (cd "$REPO" && npx tsc -p tsconfig.json) >&2; fi
  fi
  [ -f "$TESSERA_CLI" ] || die "no Tessera build at $TESSERA_CLI"
  TESSERA_CLI=$(readlink -f "$TESSERA_CLI")
  read_node_args NODE_ARGS "$TESSERA_CLI" || die "cannot read the node flags of $TESSERA_CLI"
  NODE_ARGS_B=()
  if [ -n "${TESSERA_CLI_B:-}" ]; then
    read_node_args NODE_ARGS_B "$TESSERA_CLI_B" || die "cannot read the node flags of $TESSERA_CLI_B"
  fi
}

# ------------------------------------------------------------------ data + torrents
gen_data() {
  local D=$B/data T=$B/torrents
  mkdir -p "$D" "$T"
  local stamp="big=$BIG_SIZE multi=$MULTI_FILES/$MULTI_SIZE gen=$(sha1sum < "$HERE/lib/gen-data.py" | cut -c1-12)"
  if [ "$(cat "$D/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$D/big.bin" ] || [ ! -d "$D/multi" ]; then
    rm -f "$D/stamp" "$T"/*.torrent
    log "generating data: big.bin ($BIG_SIZE B), multi/ ($MULTI_FILES files, $MULTI_SIZE B)"
    $PY "$HERE/lib/gen-data.py" big "$D/big.bin" "$BIG_SIZE"
    $PY "$HERE/lib/gen-data.py" multi "$D/multi" "$MULTI_FILES" "$MULTI_SIZE"
    echo "$stamp" > "$D/stamp"
  fi
  local ann="http://127.0.0.1:$TRACKER_PORT/announce"
  # big: 1 MiB pieces; multi: 256 KiB pieces. The *-b copies differ only by a `source` key
  # (another info hash, same data) so a second seeder can serve them side by side (MODE=seed).
  [ -f "$T/big.torrent" ]    || (cd "$D" && mktorrent -d -l 20 -a "$ann" -o "$T/big.torrent" big.bin) >/dev/null
  [ -f "$T/multi.torrent" ]  || (cd "$D" && mktorrent -d -l 18 -a "$ann" -o "$T/multi.torrent" multi) >/dev/null
  [ -f "$T/big-b.torrent" ]  || (cd "$D" && mktorrent -d -l 20 -s tessera-bench-b -a "$ann" -o "$T/big-b.torrent" big.bin) >/dev/null
  [ -f "$T/multi-b.torrent" ] || (cd "$D" && mktorrent -d -l 18 -s tessera-bench-b -a "$ann" -o "$T/multi-b.torrent" multi) >/dev/null
  local t; for t in big multi big-b multi-b; do infohash "$T/$t.torrent"; done > "$B/whitelist.txt"
}
infohash() { $PY -c 'import libtorrent as lt,sys; print(lt.torrent_info(sys.argv[1]).info_hashes().v1)' "$1"; }
content_name() { case $1 in big*) echo big.bin ;; multi*) echo multi ;; swarm-*) echo "$1.bin" ;; esac; }
content_size() { case $1 in big*) echo "$BIG_SIZE" ;; multi*) echo "$MULTI_SIZE" ;; swarm-*) stat -c %s "$B/data/$1.bin" ;; esac; }
urlenc() { echo "$1" | sed 's/../%&/g'; }
scrape_seeders() { # infohash -> seeders the tracker lists
  ip netns exec "$NETNS" curl -s --max-time 2 "http://127.0.0.1:$TRACKER_PORT/scrape?info_hash=$(urlenc "$1")" |
    grep -ao 'completei[0-9]*e' | head -1 | tr -dc 0-9
}

# ------------------------------------------------------------------ tracker
start_tracker() {
  # Debian's opentracker only serves whitelisted info hashes, refuses to run as root (drops to
  # tracker.user) and chroots to tracker.rootdir; rootdir / keeps the whitelist path valid.
  chmod 755 "$B"; chmod 644 "$B/whitelist.txt"
  cat > "$B/opentracker.conf" <<EOF
listen.tcp 127.0.0.1:$TRACKER_PORT
listen.udp 127.0.0.1:$TRACKER_PORT
access.whitelist $B/whitelist.txt
tracker.rootdir /
tracker.user _opentracker
EOF
  start_bg tracker "$B/opentracker.log" opentracker -f "$B/opentracker.conf"
  local i ih q
  for i in $(seq 50); do
    ip netns exec "$NETNS" curl -s --max-time 1 "http://127.0.0.1:$TRACKER_PORT/scrape" >/dev/null 2>&1 && break; sleep 0.1
  done
  alive "${BG_PID[tracker]}" || { cat "$B/opentracker.log" >&2; die "opentracker did not start"; }
  # the whitelist must be loaded: announce a dummy peer per hash until no "failure", then withdraw it
  while read -r ih; do
    q="info_hash=$(urlenc "$ih")&peer_id=-TBCHECK-000000000000&port=9&uploaded=0&downloaded=0&left=1&compact=1"
    for i in $(seq 60); do
      ip netns exec "$NETNS" curl -s --max-time 1 "http://127.0.0.1:$TRACKER_PORT/announce?$q&event=started" | grep -q failure || break
      [ $((i % 10)) = 0 ] && kill -HUP "${BG_PID[tracker]}"   # reload the whitelist
      sleep 0.1
    done
    [ "$i" -lt 60 ] || die "opentracker rejects whitelisted hash $ih"
    ip netns exec "$NETNS" curl -s --max-time 1 "http://127.0.0.1:$TRACKER_PORT/announce?$q&event=stopped" >/dev/null || true
  done < "$B/whitelist.txt"
  log "opentracker on 127.0.0.1:$TRACKER_PORT (pid ${BG_PID[tracker]})"
}

# ------------------------------------------------------------------ seeders
seeder_port() { case $1 in aria2) echo 51010 ;; lt) echo 51020 ;; lt-hp) echo 51030 ;; webtorrent) echo 51040 ;; tessera) echo 51050 ;; esac; }
start_seeder() { # client torrent-names...
  local c=$1; shift
  local port name=seed-$c dir=$B/seed-$c t k=0
  port=$(seeder_port "$c") || die "unknown seeder $c"
  mkdir -p "$dir"
  local -a T=(); for t in "$@"; do T+=("$B/torrents/$t.torrent"); done
  case $c in
  lt|lt-hp)
    local prof=default; [ "$c" = lt-hp ] && prof=hp
    start_bg "$name" "$dir/log" "$PY" "$HERE/lib/lt.py" seed --profile "$prof" --port "$port" --save "$B/data" "${T[@]}" ;;
  aria2)
    start_bg "$name" "$dir/log" aria2c --no-conf --dir="$B/data" --seed-ratio=0.0 --bt-seed-unverified=true \
      --check-integrity=false --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
      --listen-port="$port" --dht-listen-port=$((port + 1000)) --disable-ipv6=true --file-allocation=none \
      --summary-interval=0 --console-log-level=notice --bt-max-peers=0 --max-overall-upload-limit=0 \
      --max-upload-limit=0 --bt-max-open-files=400 "${T[@]}" ;;
  webtorrent)
    start_bg "$name" "$dir/log" node "$WT_CLI" download "${T[@]}" --out "$B/data" --keep-seeding \
      --torrent-port "$port" --port $((port + 1)) --quiet ;;
  tessera)   # one process per torrent, ports port, port+1, ...
    for t in "${T[@]}"; do
      local cmd=$TESSERA_SEED_CMD
      cmd=${cmd//\{nodeargs\}/${NODE_ARGS[*]}}; cmd=${cmd//\{cli\}/$TESSERA_CLI}; cmd=${cmd//\{torrent\}/$t}; cmd=${cmd//\{datadir\}/$B/data}; cmd=${cmd//\{port\}/$((port + k))}
      # shellcheck disable=SC2086
      start_bg "$name-$k" "$dir/log-$k" $cmd
      k=$((k + 1))
    done ;;
  *) die "unknown seeder $c" ;;
  esac
  # ready = the tracker lists a seeder for every torrent (lt re-announces on SIGUSR1)
  local i ok p
  for i in $(seq 480); do
    for p in "${!BG_PID[@]}"; do [[ $p == "$name"* ]] && ! alive "${BG_PID[$p]}" && { tail -n 20 "$dir"/log* >&2; return 1; }; done
    ok=1; for t in "${T[@]}"; do [ "$(scrape_seeders "$(infohash "$t")")" -ge 1 ] 2>/dev/null || ok=0; done
    [ $ok = 1 ] && break
    [[ $c == lt* ]] && [ $((i % 8)) = 0 ] && kill -USR1 "${BG_PID[$name]}" 2>/dev/null
    sleep 0.25
  done
  [ $ok = 1 ] || { log "seeder $c not listed by the tracker after 120 s (see $dir)"; return 1; }
  log "seeder $c on 127.0.0.1:$port ($*)"
}

# ------------------------------------------------------------------ leechers
leecher_cmd() { # leecher torrent outdir port -> CMD array
  local l=$1 t=$2 out=$3 p=$4
  case $l in
  # Every bench peer is 127.0.0.1: the per-IP connection cap is lifted, as lt.py does for
  # libtorrent (allow_multiple_connections_per_ip); with the default of 3, Tessera reached only
  # 3 of MODE=swarm's 8 seeders.
  # shellcheck disable=SC2086
  tessera) CMD=(node "${NODE_ARGS[@]}" "$TESSERA_CLI" download "$t" -o "$out" --quiet --port "$p" --no-dht --max-peers-per-ip 100 ${TESSERA_ARGS:-}) ;;
  # shellcheck disable=SC2086
  tessera-b) CMD=(node "${NODE_ARGS_B[@]}" "${TESSERA_CLI_B:?tessera-b needs TESSERA_CLI_B}" download "$t" -o "$out" --quiet --port "$p" --no-dht --max-peers-per-ip 100 ${TESSERA_ARGS:-}) ;;
  lt)      CMD=("$PY" "$HERE/lib/lt.py" leech --profile default --port "$p" --save "$out" --timeout "$TIMEOUT" "$t") ;;
  lt-hp)   CMD=("$PY" "$HERE/lib/lt.py" leech --profile hp --port "$p" --save "$out" --timeout "$TIMEOUT" "$t") ;;
  aria2)   CMD=(aria2c --no-conf --dir="$out" --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false
             --enable-peer-exchange=false --listen-port="$p" --dht-listen-port=$((p + 1)) --disable-ipv6=true
             --file-allocation=falloc --summary-interval=0 --console-log-level=warn --bt-max-peers=0
             --max-overall-download-limit=0 "$t") ;;
  webtorrent) CMD=(node "$WT_CLI" download "$t" --out "$out" --torrent-port "$p" --port $((p + 1)) --quiet) ;;
  *) die "unknown leecher $l" ;;
  esac
}
next_port() { # a fresh listen port per run: a seeder may back off from an ip:port it has seen
  local c=0; [ -f "$B/port.counter" ] && c=$(cat "$B/port.counter")
  echo $(( (c + 1) % 2000 )) > "$B/port.counter"
  echo $((LEECH_PORT_BASE + 2 * c))
}
verify() { # torrent-name outdir: byte-identical content, same set of files
  local src=$B/data/$(content_name "$1") dst=$2/$(content_name "$1")
  if [ -f "$src" ]; then cmp -s "$src" "$dst"; else diff -rq --no-dereference "$src" "$dst" >/dev/null 2>&1; fi
}

printf 'batch\tdate\tmode\tseeder\ttorrent\tleecher\trun\tsize_bytes\twall_s\tuser_s\tsys_s\tcpu_s\tmaxrss_mib\tMBps\tseeder_cpu_s\trc\tverified\tport\tcmd\n' > "$RESULTS.tmp"
one_run() { # mode seeder torrent-name torrent-file leecher run
  local mode=$1 seeder=$2 tname=$3 tfile=$4 l=$5 r=$6 port rd out size
  port=$(next_port); size=$(content_size "$tname")
  rd=$B/runs/$BATCH/$mode-$seeder-$tname-$l-$r; out=$rd/out
  rm -rf "$rd"; mkdir -p "$out"
  if [ "$mode" = recheck ]; then cp -r "$B/data/$(content_name "$tname")" "$out/"; sync; fi
  leecher_cmd "$l" "$tfile" "$out" "$port"
  printf '%q ' "${CMD[@]}" > "$rd/cmd"
  local s0 s1 t0 t1 rc=0
  s0=$(seeder_cpu "$seeder"); t0=$(date +%s.%N)
  ip netns exec "$NETNS" /usr/bin/time -f '%e %U %S %M' -o "$rd/time" \
    timeout -k 5 "$TIMEOUT" "${CMD[@]}" > "$rd/log" 2>&1 < /dev/null &
  LEECH_PID=$!
  local hook_pid=""
  if [ -n "${RUN_HOOK:-}" ]; then "$RUN_HOOK" & hook_pid=$!; fi   # e.g. seeders leaving mid-run
  wait "$LEECH_PID" || rc=$?
  LEECH_PID=""
  [ -n "$hook_pid" ] && kill_tree "$hook_pid"
  t1=$(date +%s.%N); s1=$(seeder_cpu "$seeder")
  local ok=FAIL; verify "$tname" "$out" && ok=OK
  local e u s m
  read -r e u s m < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$rd/time" | tail -1) || true
  local wall cpu rss mbps scpu
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
  cpu=$(awk -v u="${u:-0}" -v s="${s:-0}" 'BEGIN{printf "%.2f", u + s}')
  rss=$(awk -v m="${m:-0}" 'BEGIN{printf "%.0f", m / 1024}')
  mbps=$(awk -v z="$size" -v w="$wall" 'BEGIN{printf "%.1f", z / w / 1e6}')
  scpu=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b - a}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$BATCH" "$(date -Is)" "$mode" "$seeder" \
    "$tname" "$l" "$r" "$size" "$wall" "${u:-}" "${s:-}" "$cpu" "$rss" "$mbps" "$scpu" "$rc" "$ok" "$port" "$(cat "$rd/cmd")" >> "$RESULTS.tmp"
  printf '%-8s %-7s %-11s run %d: %7.2f s %7.1f MB/s  cpu %6.2f s  rss %5s MiB  seeder cpu %5.2f s  rc=%s %s\n' \
    "$mode" "$tname" "$l" "$r" "$wall" "$mbps" "$cpu" "$rss" "$scpu" "$rc" "$ok" >&2
  if [ $ok = OK ] || [ "$KEEP_FAILED" != 1 ]; then rm -rf "$out"; fi
  [ $ok = OK ] || log "  failed run: log in $rd/log"
  sync; sleep 1   # flush, and let the seeder see the disconnect before the next run
}
proc_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
seed_rss() { # torrent-name count: libtorrent leechers one after another from `tessera seed`, its RSS after each
  local t=$1 n=$2 pid=${BG_PID[seed-tessera-0]} i
  local out=$B/rss-$BATCH.tsv
  printf 'leecher\twall_s\trc\tverified\tseeder_rss_mib\tseeder_hwm_mib\tseeder_cpu_s\n' > "$out"
  log "seeder RSS: $n libtorrent leechers one after another from tessera seed (pid $pid), $t; before: $(($(proc_kib "$pid" VmRSS) / 1024)) MiB"
  for i in $(seq "$n"); do
    local port rd t0 t1 rc=0 ok=FAIL
    port=$(next_port); rd=$B/runs/$BATCH/rss-$i; rm -rf "$rd"; mkdir -p "$rd/out"
    leecher_cmd "$SEED_LEECHER" "$B/torrents/$t.torrent" "$rd/out" "$port"
    t0=$(date +%s.%N)
    ip netns exec "$NETNS" timeout -k 5 "$TIMEOUT" "${CMD[@]}" > "$rd/log" 2>&1 < /dev/null & LEECH_PID=$!
    wait "$LEECH_PID" || rc=$?
    LEECH_PID=""; t1=$(date +%s.%N)
    verify "${t%-b}" "$rd/out" && ok=OK
    [ $ok = OK ] && rm -rf "$rd"
    sleep 1   # the seeder sees the disconnect and lets the leecher's buffers go
    printf '%d\t%s\t%d\t%s\t%d\t%d\t%s\n' "$i" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')" "$rc" "$ok" \
      "$(($(proc_kib "$pid" VmRSS) / 1024))" "$(($(proc_kib "$pid" VmHWM) / 1024))" "$(proc_cpu "$pid")" >> "$out"
  done
  log "seeder RSS after each leecher (MiB): $(cut -f5 "$out" | tail -n +2 | xargs)"
  log "seeder peak RSS (VmHWM): $(tail -1 "$out" | cut -f6) MiB; failed leechers: $(awk -F'\t' 'NR > 1 && ($3 != 0 || $4 != "OK")' "$out" | wc -l); table: $out"
}
rotate() { # k words... -> the words rotated left by k
  local k=$1; shift; local a=("$@") n=$#
  local i; for ((i = 0; i < n; i++)); do echo "${a[$(((i + k) % n))]}"; done
}

# ------------------------------------------------------------------ main
install_deps
resolve_cli
if ! ip netns list | grep -qw "^$NETNS"; then ip netns add "$NETNS"; CREATED_NETNS=1; fi
ip netns exec "$NETNS" ip link set lo up
[ "$(ip netns exec "$NETNS" ip -o link | awk -F': ' '{print $2}' | xargs)" = lo ] || die "netns $NETNS has links other than lo"
if [ "$MODE" = swarm ]; then
  mkdir -p "$B/data" "$B/torrents"; : > "$B/whitelist.txt"
  for s in $SWARM_SIZES; do swarm_gen "$s"; done
else
  gen_data
fi
start_tracker

log "batch $BATCH: MODE=$MODE RUNS=$RUNS TORRENTS='$TORRENTS' LEECHERS='$LEECHERS' SEEDER=$SEEDER"
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version)"
log "tessera: $TESSERA_CLI (repo $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$REPO" status --porcelain 2>/dev/null | grep -q . && echo ', with uncommitted changes'))"

case $MODE in
download)
  start_seeder "$SEEDER" $TORRENTS || die "seeder $SEEDER failed"
  for t in $TORRENTS; do
    for r in $(seq "$RUNS"); do
      # alternate the leechers, and rotate who goes first, so drift hits all of them alike
      for l in $(rotate $((r - 1)) $LEECHERS); do one_run download "$SEEDER" "$t" "$B/torrents/$t.torrent" "$l" "$r"; done
    done
  done ;;
seed)
  # the baseline seeder serves TORRENT, Tessera serves TORRENT-b (same data, other info hash),
  # both run side by side; the libtorrent leecher alternates between them
  SEED_LEECHER=${SEED_LEECHER:-lt}
  start_seeder "$SEEDER" $TORRENTS || die "seeder $SEEDER failed"
  tb=(); for t in $TORRENTS; do tb+=("$t-b"); done
  have_tessera=1
  start_seeder tessera "${tb[@]}" || { have_tessera=0; log "tessera seed did not start (see $B/seed-tessera/): measuring the baseline only"; }
  seeders=("$SEEDER"); [ $have_tessera = 1 ] && seeders+=(tessera)
  for t in $TORRENTS; do
    for r in $(seq "$RUNS"); do
      # rotate who goes first, as the download mode does, so drift within a pair hits both alike
      for s in $(rotate $((r - 1)) "${seeders[@]}"); do
        if [ "$s" = tessera ]; then one_run seed tessera "$t" "$B/torrents/$t-b.torrent" "$SEED_LEECHER" "$r"
        else one_run seed "$SEEDER" "$t" "$B/torrents/$t.torrent" "$SEED_LEECHER" "$r"; fi
      done
    done
  done
  [ $have_tessera = 1 ] && [ "${SEED_RSS_LEECHERS:-0}" -gt 0 ] && seed_rss "${tb[0]}" "$SEED_RSS_LEECHERS" ;;
swarm)
  run_swarm_mode ;;
recheck)
  for t in $TORRENTS; do
    for r in $(seq "$RUNS"); do
      for l in $(rotate $((r - 1)) $LEECHERS); do one_run recheck none "$t" "$B/torrents/$t.torrent" "$l" "$r"; done
    done
  done ;;
esac

mv "$RESULTS.tmp" "$RESULTS"
echo
echo "## Tessera bench $BATCH (MODE=$MODE, $RUNS run(s) each, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
SWARM_IDEAL="$B/swarm-ideal-$BATCH.tsv" $PY "$HERE/lib/summary.py" "$RESULTS" | tee "$B/summary-$BATCH.md"
echo
echo "all runs: $RESULTS"
