/**
 * The Diffie-Hellman exchange of MSE: a fixed 768-bit prime P, generator 2, and private
 * exponents of 160 bits, as every implementation uses. Public values travel as 96 bytes,
 * big-endian, left-padded with zeros.
 *
 * BigInt arithmetic: one 160-bit modular exponentiation over 768 bits takes well under a
 * millisecond, and OpenSSL 3 may refuse DH groups this small.
 */
export const DH_LENGTH = 96;

/** P from the MSE spec (a 768-bit safe prime, the first Oakley group). */
export const DH_PRIME = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
);
const GENERATOR = 2n;
export const PRIVATE_KEY_BYTES = 20;

export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '0x0';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return BigInt(hex);
}

export function bigIntToBytes(n: bigint, length = DH_LENGTH): Buffer {
  const hex = n.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`${hex.length / 2}-byte value does not fit ${length} bytes`);
  return Buffer.from(hex, 'hex');
}

export interface DhKeyPair {
  readonly privateKey: bigint;
  /** G^X mod P as 96 bytes. */
  readonly publicKey: Buffer;
}

export function dhKeyPair(privateBytes: Uint8Array): DhKeyPair {
  const privateKey = bytesToBigInt(privateBytes);
  return { privateKey, publicKey: bigIntToBytes(modPow(GENERATOR, privateKey, DH_PRIME)) };
}

/**
 * The shared secret S as 96 bytes, or undefined for a degenerate public value (0, 1, P−1 or
 * ≥ P) that would force a known secret.
 */
export function dhSecret(pair: DhKeyPair, remotePublic: Uint8Array): Buffer | undefined {
  const y = bytesToBigInt(remotePublic);
  if (y <= 1n || y >= DH_PRIME - 1n) return undefined;
  return bigIntToBytes(modPow(y, pair.privateKey, DH_PRIME));
}
