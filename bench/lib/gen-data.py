#!/usr/bin/python3
"""Deterministic, incompressible benchmark data for bench/run.sh.

  gen-data.py big   OUT_FILE SIZE_BYTES            one file
  gen-data.py multi OUT_DIR  N_FILES TOTAL_BYTES   N files of mixed sizes in nested folders
  gen-data.py partial SRC DST PIECE_LEN N K FRACTION  seeder K's random share of SRC's pieces

Bytes are AES-128-CTR keystream (openssl enc over /dev/zero) with a fixed key/IV, so every
machine produces the same bytes. The multi set's file sizes come from random.Random(20240601):
about a third tiny (1 B..16 KiB), 40 % small (16..512 KiB), the rest 0.5..4 MiB, plus four
large files with odd sizes that absorb the remainder (files straddle piece boundaries).
"""
import os, random, shutil, subprocess, sys

KEY = "7465737365726120626e656e63686b31"  # fixed: output must be reproducible


def keystream(iv):
    return subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", KEY, "-iv", iv],
                            stdin=open("/dev/zero", "rb"), stdout=subprocess.PIPE, bufsize=0)


def copy(src, dst, n):
    while n > 0:
        b = src.read(min(n, 4 << 20))
        if not b:
            raise SystemExit("gen-data: short read from openssl")
        dst.write(b)
        n -= len(b)


def big(path, size):
    p = keystream("00000000000000000000000000000b16")
    with open(path + ".tmp", "wb") as f:
        copy(p.stdout, f, size)
    p.kill(); p.wait()
    os.replace(path + ".tmp", path)


def sizes_for(n, total):
    r = random.Random(20240601)
    out = []
    for _ in range(n - 4):
        k = r.random()
        out.append(r.randint(1, 16 << 10) if k < 0.35 else
                   r.randint(16 << 10, 512 << 10) if k < 0.75 else
                   r.randint(512 << 10, 4 << 20))
    rest = total - sum(out)
    if rest < 4 << 20:
        raise SystemExit("gen-data: total too small for that many files")
    big4 = [rest // 4 + 1013 * i for i in range(3)]
    big4.append(rest - sum(big4))
    out += big4
    r.shuffle(out)
    return out


def multi(outdir, n, total):
    p = keystream("00000000000000000000000000000171")
    tmp = outdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    sizes = sizes_for(n, total)
    for i, s in enumerate(sizes):
        d = os.path.join(tmp, ["", "a", "b/c", "b/d/e", "with space"][i % 5])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%03d.bin" % i), "wb") as f:
            copy(p.stdout, f, s)
    p.kill(); p.wait()
    shutil.rmtree(outdir, ignore_errors=True)
    os.replace(tmp, outdir)
    print("multi: %d files, %d bytes" % (len(sizes), sum(sizes)), file=sys.stderr)


def partial(src, dst, piece_len, n, k, fraction):
    """A sparse copy of SRC holding seeder K's share (of N) of the pieces: piece i when
    i % N == K (so N seeders together hold every piece), plus others at random (seeded by K)
    up to FRACTION of all pieces on average."""
    size = os.path.getsize(src)
    count = (size + piece_len - 1) // piece_len
    extra = max(0.0, (fraction - 1.0 / n) / (1.0 - 1.0 / n))
    r = random.Random(1000 + k)
    held = [i for i in range(count) if r.random() < extra or i % n == k]
    with open(src, "rb") as fi, open(dst + ".tmp", "wb") as fo:
        fo.truncate(size)
        for i in held:
            fi.seek(i * piece_len)
            fo.seek(i * piece_len)
            fo.write(fi.read(piece_len))
    os.replace(dst + ".tmp", dst)
    print("partial %s: %d of %d pieces" % (dst, len(held), count))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "big":
        big(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 8 and sys.argv[1] == "partial":
        partial(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "multi":
        multi(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
