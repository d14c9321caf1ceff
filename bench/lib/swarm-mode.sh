# bench/lib/swarm-mode.sh - MODE=swarm of bench/run.sh (sourced by it; uses its helpers).
#
# Many modest seeders: SWARM_SEEDERS real libtorrent seeders (lt.py), each capped at an upload
# rate (global and local peer class, so the cap holds on loopback), serve one file of each
# size in SWARM_SIZES; the leechers run in rotation against the same swarm. Variants:
#   full     every seeder has every piece, all capped at SWARM_CAP
#   partial  each seeder holds a different random SWARM_PARTIAL share of the pieces (together all)
#   leave    half the seeders are stopped halfway (at size / aggregate cap / 2 s), restarted after the run
#   mixed    caps differ tenfold between seeders (geometric), same aggregate as `full`
# The "ideal" time is size / aggregate cap (1.5 x that for `leave`: half the cap for the second half).
#
#   MODE=swarm bash bench/run.sh
#   MODE=swarm SWARM_SIZES=268435456 SWARM_VARIANTS="full mixed" RUNS=1 bash bench/run.sh
#
# Environment (defaults): SWARM_SEEDERS=8  SWARM_CAP=8388608 (bytes/s per seeder)
#   SWARM_SIZES="268435456 1073741824"  SWARM_VARIANTS="full partial leave mixed"  SWARM_PARTIAL=0.6

SWARM_SEEDERS=${SWARM_SEEDERS:-8}
SWARM_CAP=${SWARM_CAP:-8388608}
SWARM_SIZES=${SWARM_SIZES:-268435456 1073741824}
SWARM_VARIANTS=${SWARM_VARIANTS:-full partial leave mixed}
SWARM_PARTIAL=${SWARM_PARTIAL:-0.6}
SWARM_PORT_BASE=${SWARM_PORT_BASE:-51100}
SWARM_PIECE_LOG2=20

swarm_label() { echo "swarm-$(($1 >> 20))M"; }

swarm_gen() { # size: data file + torrent (1 MiB pieces) under $B, hash appended to the whitelist
  local size=$1 name; name=$(swarm_label "$size")
  if [ "$(stat -c %s "$B/data/$name.bin" 2>/dev/null)" != "$size" ]; then
    log "generating $name.bin ($size B)"
    $PY "$HERE/lib/gen-data.py" big "$B/data/$name.bin" "$size"
    rm -f "$B/torrents/$name.torrent"
  fi
  [ -f "$B/torrents/$name.torrent" ] ||
    (cd "$B/data" && mktorrent -d -l $SWARM_PIECE_LOG2 -a "http://127.0.0.1:$TRACKER_PORT/announce" -o "$B/torrents/$name.torrent" "$name.bin") >/dev/null
  infohash "$B/torrents/$name.torrent" >> "$B/whitelist.txt"
}

swarm_cap() { # variant k -> upload cap of seeder k
  if [ "$1" = mixed ]; then
    # caps c * 10^(-k/(n-1)), scaled so they add up to n * SWARM_CAP
    awk -v n="$SWARM_SEEDERS" -v k="$2" -v cap="$SWARM_CAP" 'BEGIN {
      s = 0; for (i = 0; i < n; i++) s += 10 ^ (-i / (n - 1));
      printf "%d", n * cap * 10 ^ (-k / (n - 1)) / s }'
  else
    echo "$SWARM_CAP"
  fi
}

swarm_start_one() { # variant size k
  local variant=$1 size=$2 k=$3 name save args
  name=$(swarm_label "$size")
  save=$B/data
  args=()
  if [ "$variant" = partial ]; then
    save=$B/swarm-partial/$name-$k
    mkdir -p "$save"
    [ -f "$save/$name.bin" ] || $PY "$HERE/lib/gen-data.py" partial "$B/data/$name.bin" "$save/$name.bin" $((1 << SWARM_PIECE_LOG2)) "$SWARM_SEEDERS" "$k" "$SWARM_PARTIAL" >&2
    args=(--partial)
  fi
  mkdir -p "$B/seed-swarm"
  start_bg "swarm-$k" "$B/seed-swarm/log-$k" "$PY" "$HERE/lib/lt.py" seed --profile default --port $((SWARM_PORT_BASE + k)) \
    --save "$save" --up-limit "$(swarm_cap "$variant" "$k")" "${args[@]}" "$B/torrents/$name.torrent"
}

swarm_wait_ready() { # k...
  local k i
  for k in "$@"; do
    for i in $(seq 1200); do
      grep -q '^ready' "$B/seed-swarm/log-$k" 2>/dev/null && break
      alive "${BG_PID[swarm-$k]}" || { tail -n 20 "$B/seed-swarm/log-$k" >&2; die "swarm seeder $k died"; }
      sleep 0.1
    done
    grep -q '^ready' "$B/seed-swarm/log-$k" || die "swarm seeder $k not ready after 120 s"
  done
}

# The seeders' CPU so far, and that of the seeders that left during this run (`leave`: counted
# as they left, since a stopped process has no CPU time to read any more).
swarm_seeder_cpu() {
  local k s
  s=$(cat "$B/swarm-left-cpu" 2>/dev/null || echo 0)
  for k in $(seq 0 $((SWARM_SEEDERS - 1))); do
    s=$(awk -v a="$s" -v b="$(proc_cpu "${BG_PID[swarm-$k]:-0}")" 'BEGIN{printf "%.2f", a + b}')
  done
  echo "$s"
}

# One run's hook for `leave`: stop the second half of the seeders halfway through the ideal time.
swarm_leave_half() {
  sleep "$SWARM_LEAVE_AFTER"
  local k s=0
  for k in $(seq $((SWARM_SEEDERS / 2)) $((SWARM_SEEDERS - 1))); do
    s=$(awk -v a="$s" -v b="$(proc_cpu "${BG_PID[swarm-$k]}")" 'BEGIN{printf "%.2f", a + b}')
    kill -TERM "${BG_PID[swarm-$k]}" 2>/dev/null || true
  done
  echo "$s" > "$B/swarm-left-cpu"
}

run_swarm_mode() {
  local size variant k r l name seeder ideal
  for size in $SWARM_SIZES; do
    name=$(swarm_label "$size")
    for variant in $SWARM_VARIANTS; do
      seeder="lt-x$SWARM_SEEDERS-$variant"
      ideal=$(awk -v z="$size" -v n="$SWARM_SEEDERS" -v c="$SWARM_CAP" -v v="$variant" 'BEGIN{t = z / (n * c); if (v == "leave") t *= 1.5; printf "%.2f", t}')
      log "swarm $name $variant: $SWARM_SEEDERS seeders, aggregate cap $((SWARM_SEEDERS * SWARM_CAP)) B/s, ideal $ideal s"
      printf '%s\t%s\t%s\n' "$name" "$seeder" "$ideal" >> "$B/swarm-ideal-$BATCH.tsv"
      for k in $(seq 0 $((SWARM_SEEDERS - 1))); do swarm_start_one "$variant" "$size" "$k"; done
      swarm_wait_ready $(seq 0 $((SWARM_SEEDERS - 1)))
      sleep 2   # let the tracker hear every seeder's announce
      for r in $(seq "$RUNS"); do
        for l in $(rotate $((r - 1)) $LEECHERS); do
          if [ "$variant" = leave ]; then
            SWARM_LEAVE_AFTER=$(awk -v t="$ideal" 'BEGIN{printf "%.2f", t / 3}')   # ideal/1.5/2
            RUN_HOOK=swarm_leave_half
          else
            RUN_HOOK=""
          fi
          echo 0 > "$B/swarm-left-cpu"
          SEEDER_CPU_FN=swarm_seeder_cpu one_run swarm "$seeder" "$name" "$B/torrents/$name.torrent" "$l" "$r"
          if [ "$variant" = leave ]; then
            for k in $(seq $((SWARM_SEEDERS / 2)) $((SWARM_SEEDERS - 1))); do stop_bg "swarm-$k"; swarm_start_one "$variant" "$size" "$k"; done
            swarm_wait_ready $(seq $((SWARM_SEEDERS / 2)) $((SWARM_SEEDERS - 1)))
            sleep 2
          fi
        done
      done
      for k in $(seq 0 $((SWARM_SEEDERS - 1))); do stop_bg "swarm-$k"; done
    done
  done
  RUN_HOOK=""
}
