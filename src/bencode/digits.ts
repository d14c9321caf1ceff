/** The bytes bencode is made of, and the one reading of a run of decimal digits (integers and string lengths alike). */
export const C_0 = 0x30;
export const C_9 = 0x39;
export const C_COLON = 0x3a;
export const C_MINUS = 0x2d;
export const C_D = 0x64;
export const C_E = 0x65;
export const C_I = 0x69;
export const C_L = 0x6c;
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The value of the decimal digits `buf[from, to)`, or Infinity past 15 digits: below 10^15 a
 * double is exact, and a longer length prefix must never become an imprecise number.
 */
export function digitsValue(buf: Uint8Array, from: number, to: number): number {
  if (to - from > 15) return Infinity;
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (buf[i]! - C_0);
  return n;
}

/** An integer of more than 15 digits: a number when it is a safe integer, else a bigint. */
export function bigDigits(buf: Buffer, from: number, to: number, negative: boolean): number | bigint {
  const big = BigInt(buf.toString('latin1', from, to));
  const v = negative ? -big : big;
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}
