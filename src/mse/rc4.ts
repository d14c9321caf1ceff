/**
 * RC4, written out because OpenSSL 3 (and so `node:crypto`) no longer offers it by default.
 * MSE uses it only as a stream cipher for obfuscation, with the first 1024 bytes of each
 * keystream discarded as the spec requires.
 *
 * The state is one Uint8Array and the loop keeps i, j in locals: this is the hot path of an
 * encrypted transfer, run over whole socket chunks in place.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`an RC4 key is 1–256 bytes, got ${key.length}`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const t = s[k]!;
      j = (j + t + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = t;
    }
  }

  /** XOR the keystream into `buf[start, end)` in place (encryption and decryption alike). */
  process(buf: Uint8Array, start = 0, end = buf.length): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      buf[k]! ^= s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
  }

  /** A processed copy of `bytes`, leaving the input untouched (callers may share it). */
  processCopy(bytes: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(bytes.length);
    out.set(bytes);
    this.process(out);
    return out;
  }

  /** Advance the keystream by `n` bytes. */
  discard(n: number): void {
    this.process(new Uint8Array(n));
  }

  /** An independent copy of the current state (to look ahead in the keystream). */
  clone(): Rc4 {
    const c = new Rc4(this.s);
    c.s.set(this.s);
    c.i = this.i;
    c.j = this.j;
    return c;
  }
}
