#!/usr/bin/python3
"""summary.py RESULTS.tsv [BATCH]: medians per (mode, torrent, seeder, leecher), Tessera's
ratios to each anchor measured in the same batch, and the speed goals. Markdown output.
Only runs with rc=0 and a byte-identical result count; the others are "fails"."""
import csv, os, statistics as st, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
if len(sys.argv) > 2:
    rows = [r for r in rows if r["batch"] == sys.argv[2]]
if not rows:
    sys.exit("summary: no rows")

groups = {}
for r in rows:
    groups.setdefault((r["mode"], r["torrent"], r["seeder"], r["leecher"]), []).append(r)

def med(rs, col):
    v = [float(r[col]) for r in rs if r[col] not in ("", None)]
    return st.median(v) if v else float("nan")

stats = {}
print("| mode | torrent | seeder | leecher | ok/runs | wall s | MB/s | CPU s | peak RSS MiB | seeder CPU s | fails |")
print("| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3] != "tessera", k[3])):
    rs = groups[k]
    ok = [r for r in rs if r["rc"] == "0" and r["verified"] == "OK"]
    fails = len(rs) - len(ok)
    if not ok:
        print("| %s | %s | %s | %s | 0/%d | – | – | – | – | – | %d |" % (k + (len(rs), fails)))
        continue
    s = dict(wall=med(ok, "wall_s"), mbps=med(ok, "MBps"), cpu=med(ok, "cpu_s"), rss=med(ok, "maxrss_mib"),
             scpu=med(ok, "seeder_cpu_s"), n=len(ok), fails=fails)
    stats[k] = s
    print("| %s | %s | %s | %s | %d/%d | %.2f | %.0f | %.2f | %.0f | %.2f | %d |" % (k + (len(ok), len(rs), s["wall"], s["mbps"], s["cpu"], s["rss"], s["scpu"], fails)))

def ratio(a, b):
    return a / b if b > 0 else float("nan")

lines = []
for (mode, tor, seeder, leecher), t in sorted(stats.items()):
    if mode in ("download", "recheck", "swarm") and leecher == "tessera":
        for (m2, t2, s2, l2), a in sorted(stats.items()):
            if (m2, t2, s2) == (mode, tor, seeder) and l2 != "tessera":
                lines.append("| %s | %s | %s | tessera / %s | %.2f | %.2f | %.2f |" % (
                    mode, tor, seeder, l2, ratio(t["wall"], a["wall"]), ratio(t["cpu"], a["cpu"]), ratio(t["rss"], a["rss"])))
    if mode == "seed" and seeder == "tessera":
        for (m2, t2, s2, l2), a in sorted(stats.items()):
            if (m2, t2, l2) == (mode, tor, leecher) and s2 != "tessera":
                lines.append("| %s | %s | %s leecher | seeder tessera / %s | %.2f | %.2f (seeder CPU) | – |" % (
                    mode, tor, leecher, s2, ratio(t["wall"], a["wall"]), ratio(t["scpu"], a["scpu"])))
if lines:
    print("\n| mode | torrent | seeder | ratio | time | CPU | RSS |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: |")
    print("\n".join(lines))

# speed goals (download mode): time <= 0.8x libtorrent and <= 0.5x aria2, CPU <= libtorrent and
# < 1/2 webtorrent, peak RSS <= 100 MiB on the single big file; multi-file time <= libtorrent.
goals = []
def goal(name, tor, seeder, leecher, metric, factor, strict=False):
    t = stats.get(("download", tor, seeder, "tessera"))
    if leecher is None:
        if t is None:
            goals.append("| %s | %s | no successful tessera run |" % (name, seeder)); return
        v, lim = t[metric], factor
    else:
        a = stats.get(("download", tor, seeder, leecher))
        if t is None or a is None:
            goals.append("| %s | %s | not measured |" % (name, seeder)); return
        v, lim = t[metric], factor * a[metric]
    met = v < lim if strict else v <= lim
    unit = "MiB" if metric == "rss" else "s"
    goals.append("| %s | %s | %s (%.2f %s vs limit %.2f %s) |" % (name, seeder, "MET" if met else "not met", v, unit, lim, unit))
for seeder in sorted({k[2] for k in stats if k[0] == "download"}):
    goal("big: time ≤ 0.8 × libtorrent", "big", seeder, "lt", "wall", 0.8)
    goal("big: time ≤ 0.5 × aria2", "big", seeder, "aria2", "wall", 0.5)
    goal("big: CPU ≤ libtorrent", "big", seeder, "lt", "cpu", 1.0)
    goal("big: CPU < ½ webtorrent", "big", seeder, "webtorrent", "cpu", 0.5, strict=True)
    goal("big: peak RSS ≤ 100 MiB", "big", seeder, None, "rss", 100)
    goal("multi: time ≤ libtorrent", "multi", seeder, "lt", "wall", 1.0)
if goals:
    print("\n| goal | seeder | result |")
    print("| --- | --- | --- |")
    print("\n".join(goals))

# swarm goals: time <= 1.1 x size / aggregate cap (the "ideal" run.sh wrote), and <= every anchor
ideal = {}
if os.path.exists(os.environ.get("SWARM_IDEAL", "")):
    for line in open(os.environ["SWARM_IDEAL"]):
        tor, seeder, t = line.rstrip("\n").split("\t")
        ideal[(tor, seeder)] = float(t)
swarm = []
for (mode, tor, seeder, leecher), t in sorted(stats.items()):
    if mode != "swarm" or leecher != "tessera":
        continue
    if (tor, seeder) in ideal:
        lim = 1.1 * ideal[(tor, seeder)]
        swarm.append("| %s %s: time ≤ 1.1 × ideal | %s (%.2f s vs limit %.2f s) |" % (tor, seeder, "MET" if t["wall"] <= lim else "not met", t["wall"], lim))
    for (m2, t2, s2, l2), a in sorted(stats.items()):
        if (m2, t2, s2) == (mode, tor, seeder) and l2 != "tessera":
            swarm.append("| %s %s: time ≤ %s | %s (%.2f s vs %.2f s) |" % (tor, seeder, l2, "MET" if t["wall"] <= a["wall"] else "not met", t["wall"], a["wall"]))
if swarm:
    print("\n| swarm goal | result |")
    print("| --- | --- |")
    print("\n".join(swarm))
