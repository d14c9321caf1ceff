#!/usr/bin/python3
"""libtorrent-rasterbar 2.0 (Debian python3-libtorrent) seeder / leecher for bench/run.sh.

  lt.py seed  --port P --save DIR TORRENT...   check the data, print "ready", seed until SIGTERM
  lt.py leech --port P --save DIR TORRENT      download (or recheck existing data), exit 0 when complete

  --profile default|hp   libtorrent defaults (what qBittorrent starts from) or
                         lt.high_performance_seed()
  --up-limit BYTES       seed: cap upload at BYTES/s, loopback peers included (libtorrent exempts
                         local peers from upload_rate_limit: the cap goes on the global and the
                         local peer class)
  --partial              seed: the data holds only some pieces; seed those, never download
                         (upload mode), "ready" once checked
  --utp-only             uTP in and out, TCP off both ways (uTP is otherwise off)
  --connect HOST:PORT    leech: dial this peer (besides what the trackers give)
DHT, LSD, PEX, UPnP and NAT-PMP are off; listens on 127.0.0.1 only; connects out in plaintext.
SIGUSR1 makes a seeder re-announce at once. Run with /usr/bin/python3.
"""
import argparse, signal, sys, time
import libtorrent as lt

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["seed", "leech"])
ap.add_argument("torrents", nargs="+")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--save", required=True)
ap.add_argument("--profile", default="default", choices=["default", "hp"])
ap.add_argument("--timeout", type=float, default=600)
ap.add_argument("--up-limit", type=int, default=0)
ap.add_argument("--partial", action="store_true")
ap.add_argument("--utp-only", action="store_true")
ap.add_argument("--connect")
a = ap.parse_args()

settings = lt.high_performance_seed() if a.profile == "hp" else {}
settings.update({
    "listen_interfaces": "127.0.0.1:%d" % a.port,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "dht_bootstrap_nodes": "",
    "enable_outgoing_utp": a.utp_only, "enable_incoming_utp": a.utp_only,
    "enable_outgoing_tcp": not a.utp_only, "enable_incoming_tcp": not a.utp_only,
    "allow_multiple_connections_per_ip": True,   # every bench peer is 127.0.0.1
    # connect out in plaintext; accept both (aria2 may open with an obfuscated handshake)
    "out_enc_policy": int(lt.enc_policy.disabled), "in_enc_policy": int(lt.enc_policy.enabled),
    "user_agent": "tessera-bench-lt/" + lt.__version__,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
})
ses = lt.session(settings)
if a.up_limit > 0:
    for cls in (lt.session.global_peer_class_id, lt.session.local_peer_class_id):
        pc = ses.get_peer_class(cls)
        pc["upload_limit"] = a.up_limit
        ses.set_peer_class(cls, pc)

handles = []
for path in a.torrents:
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(path)
    p.save_path = a.save
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    if a.partial:
        p.flags |= lt.torrent_flags.upload_mode
    handles.append(ses.add_torrent(p))

stop = poke = False
def on_term(*_):
    global stop
    stop = True
def on_usr1(*_):
    global poke
    poke = True
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
signal.signal(signal.SIGUSR1, on_usr1)

def reannounce():
    for h in handles:
        h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)

def drain(out):
    for al in ses.pop_alerts():
        if al.category() & lt.alert.category_t.error_notification:
            print("alert: " + al.message(), file=out, flush=True)

t0 = time.time()
if a.mode == "seed":
    print("lt seeder on 127.0.0.1:%d (%s profile), checking %d torrent(s)" % (a.port, a.profile, len(handles)), flush=True)
    ready = False
    last = t0
    while not stop:
        checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
        if not ready and all(h.status().is_seeding or (a.partial and h.status().state not in checking) for h in handles):
            ready = True
            reannounce()
            print("ready after %.1f s" % (time.time() - t0), flush=True)
        if poke:
            poke = False
            reannounce()
        ses.wait_for_alert(100)
        drain(sys.stdout)
        if time.time() - last >= 10:
            last = time.time()
            for h in handles:
                s = h.status()
                print("%s: peers=%d up=%.1f MB/s total_up=%d MiB" % (s.name, s.num_peers, s.upload_rate / 1e6, s.all_time_upload >> 20), flush=True)
    sys.exit(0)

h = handles[0]
if a.connect:
    host, _, port = a.connect.rpartition(":")
    h.connect_peer((host, int(port)))
rc = 1
while not stop:
    if h.status().is_seeding:
        rc = 0
        break
    if time.time() - t0 > a.timeout:
        print("timeout", file=sys.stderr)
        break
    ses.wait_for_alert(200)
    drain(sys.stderr)
s = h.status()
dt = time.time() - t0
print("lt leech %s: %s in %.2f s (%.1f MB/s), peers=%d" % (s.name, "complete" if rc == 0 else "INCOMPLETE", dt, s.total_wanted_done / dt / 1e6, s.num_peers), flush=True)
ses.remove_torrent(h)   # closes the files; the session destructor flushes the disk cache
del ses
sys.exit(rc)
