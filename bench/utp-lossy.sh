#!/usr/bin/env bash
# bench/utp-lossy.sh - bench/utp.sh over a bad path: each leecher reaches the uTP-only libtorrent
# seeder through the test tree's UDP relay (test/helpers/udp-relay.ts, as test/interop/utp-lossy
# uses it), which delays every datagram by 20–50 ms, so they overtake each other, and drops 1 %
# of them, both ways. Tessera against libtorrent's own uTP leecher on the same path and file:
# downloading from the libtorrent seeder (libtorrent's uTP sends), and, as "tessera-seed",
# libtorrent's leecher downloading from `tessera seed` (Tessera's uTP sends).
#
#   npm run build && bash bench/utp-lossy.sh          # 64 MiB, 1 run of each
#   SIZE=16777216 bash bench/utp-lossy.sh             # quick
#
# Environment: as bench/utp.sh; SIZE defaults to 64 MiB, RUNS to 1, RELAY to "20 50 0.01",
#   ROWS to all three, BENCH_DIR to /tmp/tessera-utp-lossy-bench.
set -euo pipefail
# The bench stays on loopback: no UPnP, PCP or NAT-PMP query to the machine's gateway.
export TESSERA_NO_PORT_MAPPING=1
export SIZE=${SIZE:-67108864} RUNS=${RUNS:-1} RELAY=${RELAY:-20 50 0.01} ROWS=${ROWS:-tessera libtorrent tessera-seed}
export BENCH_DIR=${BENCH_DIR:-/tmp/tessera-utp-lossy-bench}
exec bash "$(dirname "${BASH_SOURCE[0]}")/utp.sh"
