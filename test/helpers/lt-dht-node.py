#!/usr/bin/python3
"""A libtorrent-rasterbar 2.0 DHT node that seeds one torrent, for Tessera's DHT interop test.

  lt-dht-node.py --port P --bootstrap 127.0.0.1:Q --save DIR TORRENT

Listens (TCP and the DHT's UDP) on 127.0.0.1:P only (--host ::1: on [::1]:P, the IPv6 DHT of
BEP 32, bootstrapped from --bootstrap [::1]:Q). The DHT's only bootstrap node is the
loopback one given; LSD, UPnP, NAT-PMP, uTP and PEX are off, so nothing public is contacted.
The DHT restrictions that assume a public internet (one node per IP, verified node ids,
"dark internet" ranges) are off, since every node of the test network is on 127.0.0.1.

Prints "dht-nodes N" each time libtorrent's routing table size changes and "ready" once the
torrent is checked and complete. Once both the torrent is ready and the routing table holds a
node, announces the torrent into the DHT and prints "announcing" (an announce before the DHT
has nodes would reach nobody). "dht-reply peers=N" reports a get_peers of ours that found
peers. SIGUSR1 = announce again. Seeds until SIGTERM/SIGINT.

--parent-pid PID: exit when that process is gone (a test runner that died).
Must run under /usr/bin/python3 (Debian's python3-libtorrent).
"""
import argparse, os, sys, time
import libtorrent as lt

from lt_signals import Signals

ap = argparse.ArgumentParser()
ap.add_argument("torrent")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bootstrap", required=True, help="host:port of a loopback DHT node ([::1]:port with --host ::1)")
ap.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"], help="loopback address to listen on (TCP and the DHT)")
ap.add_argument("--save", required=True)
ap.add_argument("--parent-pid", type=int, default=0)
ap.add_argument("--timeout", type=float, default=60, help="seconds allowed for the initial check")
a = ap.parse_args()
if not a.bootstrap.startswith("127." if a.host == "127.0.0.1" else "[::1]:"):
    sys.exit("--bootstrap must be a loopback address, got %s" % a.bootstrap)

settings = {
    "listen_interfaces": ("[::1]:%d" if a.host == "::1" else "127.0.0.1:%d") % a.port,
    "outgoing_interfaces": "",
    "enable_dht": True,
    "dht_bootstrap_nodes": a.bootstrap,
    "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    # all test nodes share 127.0.0.1: libtorrent would otherwise keep one node per IP (/24)
    "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
    # our nodes' ids are random, not derived from their IP (BEP 42)
    "dht_prefer_verified_node_ids": False, "dht_enforce_node_id": False,
    "dht_ignore_dark_internet": False,
    # the test network is small and fast; don't hold back queries to a single IP. A high DHT
    # upload limit, not 0: libtorrent 2.0.8 dies of SIGFPE (division by zero) with 0 here.
    "dht_block_ratelimit": 1000, "dht_upload_rate_limit": 1000000,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "in_enc_policy": 1,   # pe_enabled: plaintext and encrypted peers are accepted
    "out_enc_policy": 2,  # pe_disabled
    "allow_multiple_connections_per_ip": True,
    "user_agent": "tessera-test-lt/" + lt.__version__,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification
    | lt.alert.category_t.dht_notification | lt.alert.category_t.tracker_notification,
}
ses = lt.session(settings)

ti = lt.torrent_info(a.torrent)
p = lt.add_torrent_params()
p.ti = ti
p.save_path = a.save
p.flags &= ~lt.torrent_flags.auto_managed
p.flags &= ~lt.torrent_flags.paused
p.flags |= lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
h = ses.add_torrent(p)

signals = Signals()

print("lt-dht-node listening on %s port %d, bootstrap %s" % (a.host, a.port, a.bootstrap), flush=True)
t0 = time.time()
ready = False
announced = False
last_nodes = -1
last_stats = 0.0
while not signals.stop:
    if a.parent_pid and not os.path.exists("/proc/%d" % a.parent_pid):
        break
    if not ready:
        s = h.status()
        if s.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data) and s.num_pieces == ti.num_pieces():
            ready = True
            print("ready", flush=True)
        elif time.time() - t0 > a.timeout:
            print("not ready after %.0fs: %d of %d pieces" % (a.timeout, s.num_pieces, ti.num_pieces()), flush=True)
            sys.exit(1)
    if ready and last_nodes > 0 and not announced:
        announced = True
        signals.poke = True
    if signals.poke:
        signals.poke = False
        h.force_dht_announce()
        print("announcing", flush=True)
    if time.time() - last_stats > 0.2:
        last_stats = time.time()
        ses.post_dht_stats()
    ses.wait_for_alert(100)
    for al in ses.pop_alerts():
        if isinstance(al, lt.dht_stats_alert):
            n = sum(b["num_nodes"] for b in al.routing_table)
            if n != last_nodes:
                last_nodes = n
                print("dht-nodes %d" % n, flush=True)
        elif isinstance(al, lt.dht_reply_alert):
            print("dht-reply peers=%d" % al.num_peers, flush=True)
        elif al.category() & lt.alert.category_t.error_notification:
            print("alert:", al.message(), flush=True)
sys.exit(0)
