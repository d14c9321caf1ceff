/**
 * RC4, the cipher of an MSE payload stream, in two implementations behind `StreamCipher`:
 * OpenSSL's, faster (470-510 MiB/s against 250-430 for this loop on the benchmark machine,
 * BENCHMARKS.md), which OpenSSL 3 (and so `node:crypto`) offers only from its legacy
 * provider (`node --openssl-legacy-provider`, as the CLI starts); and this one, written out,
 * which the handshake always uses (it forks the keystream with `clone()` to find the peer's
 * verification constant) and which stays the payload cipher wherever OpenSSL has no RC4. MSE
 * uses RC4 only as a stream cipher for obfuscation, with the first 1024 bytes of each
 * keystream discarded as the spec requires.
 *
 * The state is one Uint8Array and the loop keeps i, j in locals: without OpenSSL this is the
 * hot path of an encrypted transfer, run over whole socket chunks in place.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

/** The keystream of one direction of a payload stream, from where the handshake left it. */
export interface StreamCipher {
  /** `bytes` XORed with the next keystream bytes, in a new buffer; `bytes` is left untouched (callers may share it). */
  processCopy(bytes: Uint8Array): Buffer;
  /**
   * `chunk` XORed with the next keystream bytes, where the caller gives `chunk` up: the
   * result is `chunk` itself, changed in place, or a new buffer, whichever is cheaper.
   */
  processOwned(chunk: Buffer): Buffer;
}

export class Rc4 implements StreamCipher {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  /** Kept with `processed` so that `handOver` can start OpenSSL's RC4 at the same position. */
  private readonly key: Uint8Array;
  private processed = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`an RC4 key is 1–256 bytes, got ${key.length}`);
    this.key = Uint8Array.from(key);
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
    this.processed += Math.max(0, end - start);
  }

  processCopy(bytes: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(bytes.length);
    out.set(bytes);
    this.process(out);
    return out;
  }

  processOwned(chunk: Buffer): Buffer {
    this.process(chunk);
    return chunk;
  }

  /** Advance the keystream by `n` bytes. */
  discard(n: number): void {
    this.process(new Uint8Array(n));
  }

  /** An independent copy of the current state (to look ahead in the keystream). */
  clone(): Rc4 {
    const c = new Rc4(this.key);
    c.s.set(this.s);
    c.i = this.i;
    c.j = this.j;
    c.processed = this.processed;
    return c;
  }

  /**
   * The cipher for the rest of the stream, at this position: OpenSSL's RC4 when this process
   * has it, else this one. Once it is OpenSSL's, this instance must not be used again.
   */
  handOver(): StreamCipher {
    if (!openSslHasRc4()) return this;
    const cipher = createCipheriv('rc4', this.key, null);
    cipher.update(Buffer.alloc(this.processed));
    return new OpenSslRc4(cipher);
  }
}

/** RC4 from `node:crypto`; its `update` always writes to a new buffer. */
class OpenSslRc4 implements StreamCipher {
  constructor(private readonly cipher: Cipher) {}

  processCopy(bytes: Uint8Array): Buffer {
    return this.cipher.update(bytes);
  }

  processOwned(chunk: Buffer): Buffer {
    return this.cipher.update(chunk);
  }
}

let probed: boolean | undefined;

/**
 * Whether `node:crypto` has a working RC4 in this process, tried once, at first use: without
 * the legacy provider `createCipheriv('rc4', …)` throws, and the JS RC4 serves instead.
 */
export function openSslHasRc4(): boolean {
  if (probed === undefined) {
    try {
      // The first published test vector: key 'Key', plaintext 'Plaintext'.
      const out = createCipheriv('rc4', Buffer.from('Key'), null).update(Buffer.from('Plaintext'));
      probed = out.toString('hex') === 'bbf316e8d940af0ad3';
    } catch {
      probed = false;
    }
  }
  return probed;
}
