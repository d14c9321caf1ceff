import { randomBytes } from 'node:crypto';

/** Azureus-style client prefix: `-TS` + version `0001` + `-`. */
export const PEER_ID_PREFIX = '-TS0001-';

/** A fresh 20-byte peer id: the client prefix and 12 random bytes. */
export function generatePeerId(): Buffer {
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX, 'latin1'), randomBytes(12)]);
}
