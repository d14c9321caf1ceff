/**
 * 160-bit ids and the XOR metric of BEP 5 ("Overview": distance(A,B) = |A xor B| read as an
 * unsigned integer). Ids are handled as bigint so bucket ranges and comparisons are exact.
 */
import { NODE_ID_LENGTH } from './compact.js';

export const ID_SPACE = 1n << 160n;

/** A source of random bytes, injected so tests are deterministic. */
export type RandomBytes = (n: number) => Uint8Array;

export function idToBigInt(id: Uint8Array): bigint {
  let v = 0n;
  for (const b of id) v = (v << 8n) | BigInt(b);
  return v;
}

export function bigIntToId(v: bigint): Uint8Array {
  const out = new Uint8Array(NODE_ID_LENGTH);
  let x = v;
  for (let i = NODE_ID_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function distance(a: Uint8Array, b: Uint8Array): bigint {
  return idToBigInt(a) ^ idToBigInt(b);
}

/** A uniformly random id in [lo, hi), used to refresh a bucket (BEP 5, "Routing Table"). */
export function randomIdInRange(lo: bigint, hi: bigint, random: RandomBytes): Uint8Array {
  const span = hi - lo;
  // 32 extra bits make the modulo bias negligible for any span up to 2^160.
  const r = idToBigInt(random(NODE_ID_LENGTH + 4));
  return bigIntToId(lo + (r % span));
}
