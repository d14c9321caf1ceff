#!/usr/bin/python3
"""A libtorrent-rasterbar 2.0 seeder (or partial seeder, or leecher) for Tessera's interop tests.

  lt-seed.py --port P --save DIR [--host ADDR] [--pieces SPEC --source SRC] [--upload-limit BPS]
             [--set KEY=VALUE]... [--leech --connect HOST:PORT] TORRENT...

Listens on 127.0.0.1:P only (--host ::1: on [::1]:P only, for the IPv6 tests); DHT, LSD, UPnP, NAT-PMP, PEX and uTP are off; plaintext
peers are accepted and outgoing connections are plaintext. Prints "ready" once every
torrent is checked and holds what it should, then seeds until SIGTERM/SIGINT.
SIGUSR1 = announce now. On exit it prints "uploaded=BYTES" (payload sent this run).

--pieces SPEC (e.g. "0-9,20,30-39") makes a partial seeder: the content of the
(single) torrent is copied from SRC (the folder that holds the torrent's content)
into DIR for those pieces only; the other pieces stay zero (sparse) and get priority
0, so this seeder holds exactly SPEC and never downloads the rest.

--set KEY=VALUE: any libtorrent setting, e.g. --set in_enc_policy=0 --set out_enc_policy=0
(encryption forced both ways).

--leech: download instead (DIR starts empty); prints "complete" and exits 0 once every torrent
is complete. --connect HOST:PORT dials that peer for every torrent (no tracker needed).

--parent-pid PID: exit when that process is gone (a test runner that died).
Must run under /usr/bin/python3 (Debian's python3-libtorrent).
"""
import argparse, os, sys, time
import libtorrent as lt

from lt_signals import Signals

ap = argparse.ArgumentParser()
ap.add_argument("torrents", nargs="+")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"], help="loopback address to listen on")
ap.add_argument("--save", required=True)
ap.add_argument("--pieces", help="pieces to hold, e.g. 0-9,20")
ap.add_argument("--source", help="folder holding the full content (with --pieces)")
ap.add_argument("--upload-limit", type=int, default=0, help="bytes per second, 0 = unlimited")
ap.add_argument("--parent-pid", type=int, default=0)
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra libtorrent setting")
ap.add_argument("--leech", action="store_true", help="download the torrents, exit 0 once complete")
ap.add_argument("--connect", help="HOST:PORT of a peer to dial for every torrent")
ap.add_argument("--timeout", type=float, default=120, help="seconds allowed for the initial check")
a = ap.parse_args()
if a.pieces is not None and (a.source is None or len(a.torrents) != 1):
    sys.exit("--pieces needs --source and exactly one torrent")


def parse_spec(spec, count):
    held = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        lo = int(lo)
        hi = int(hi) if hi else lo
        if lo < 0 or hi >= count or lo > hi:
            sys.exit("piece range %s outside 0..%d" % (part, count - 1))
        held.update(range(lo, hi + 1))
    return held


def is_pad(fs, i):
    return bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)


def copy_held(ti, held, src, dst):
    """Create every file at full size (sparse), then copy the byte ranges of held pieces.
    Pad files (BEP 47) are never on disk: libtorrent reads them as zeros."""
    fs = ti.files()
    for i in range(fs.num_files()):
        if is_pad(fs, i):
            continue
        path = os.path.join(dst, fs.file_path(i))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(fs.file_size(i))
    for piece in sorted(held):
        for sl in ti.map_block(piece, 0, ti.piece_size(piece)):
            if is_pad(fs, sl.file_index):
                continue
            rel = fs.file_path(sl.file_index)
            with open(os.path.join(src, rel), "rb") as fi, open(os.path.join(dst, rel), "r+b") as fo:
                fi.seek(sl.offset)
                fo.seek(sl.offset)
                fo.write(fi.read(sl.size))


settings = {
    "listen_interfaces": ("[::1]:%d" if a.host == "::1" else "127.0.0.1:%d") % a.port,
    "outgoing_interfaces": "",
    "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False,
    "dht_bootstrap_nodes": "",
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "in_enc_policy": 1,   # pe_enabled: plaintext and encrypted peers are accepted
    "out_enc_policy": 2,  # pe_disabled: connect out in plaintext
    "allow_multiple_connections_per_ip": True,
    "upload_rate_limit": a.upload_limit,
    "user_agent": "tessera-test-lt/" + lt.__version__,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
}
for kv in a.set:
    k, v = kv.split("=", 1)
    settings[k] = True if v == "true" else False if v == "false" else int(v) if v.lstrip("-").isdigit() else v
ses = lt.session(settings)
if a.upload_limit:
    # loopback peers fall in libtorrent's unlimited "local" peer class; put every address in
    # the global class so the upload limit applies to them too
    classes = lt.ip_filter()
    classes.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    classes.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(classes)

handles = []
expected = []
for t in a.torrents:
    ti = lt.torrent_info(t)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    if a.pieces is not None:
        held = parse_spec(a.pieces, ti.num_pieces())
        copy_held(ti, held, a.source, a.save)
        p.piece_priorities = [4 if i in held else 0 for i in range(ti.num_pieces())]
        expected.append(len(held))
    elif a.leech:
        expected.append(0)
    else:
        expected.append(ti.num_pieces())
    handles.append(ses.add_torrent(p))


def dial():
    if a.connect:
        host, _, port = a.connect.rpartition(":")
        for h in handles:
            if h.status().num_peers == 0:
                h.connect_peer((host, int(port)))


dial()
last_dial = time.time()

signals = Signals()


def checked(h, want):
    s = h.status()
    return s.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data) and s.num_pieces >= want


def announce_all():
    for h in handles:
        h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)


print("lt-seed listening on %s port %d, %d torrent(s), checking" % (a.host, a.port, len(handles)), flush=True)
t0 = time.time()
ready = False
while not signals.stop:
    if a.parent_pid and not os.path.exists("/proc/%d" % a.parent_pid):
        break
    if not ready:
        if all(checked(h, n) for h, n in zip(handles, expected)):
            ready = True
            announce_all()
            print("ready pieces=%s" % ",".join(str(h.status().num_pieces) for h in handles), flush=True)
        elif time.time() - t0 > a.timeout:
            print("not ready after %.0fs: pieces=%s of %s" % (
                a.timeout, [h.status().num_pieces for h in handles], expected), flush=True)
            sys.exit(1)
    if ready and a.leech:
        if all(h.status().is_seeding for h in handles):
            print("complete", flush=True)
            sys.exit(0)
        if time.time() - last_dial > 2:
            dial()
            last_dial = time.time()
    if signals.poke:
        signals.poke = False
        announce_all()
    ses.wait_for_alert(200)
    for al in ses.pop_alerts():
        if al.category() & lt.alert.category_t.error_notification:
            print("alert:", al.message(), flush=True)
# what this seeder sent, for tests that check how a leecher spread its requests
print("uploaded=%d" % sum(h.status().total_payload_upload for h in handles), flush=True)
sys.exit(0)
