/**
 * announce_peer tokens (BEP 5, "get_peers"): SHA-1 of a secret and the querier's IP. The
 * secret changes every 5 minutes and the previous one is still accepted, so a token stays
 * valid for 5 to 10 minutes. Rotation is lazy, driven by the injected clock: no timer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RandomBytes } from './node-id.js';

export const TOKEN_ROTATE_MS = 5 * 60 * 1000;
const SECRET_LENGTH = 20;

export interface TokenIssuerOptions {
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly rotateMs?: number;
}

export class TokenIssuer {
  private readonly now: () => number;
  private readonly random: RandomBytes;
  private readonly rotateMs: number;
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(options: TokenIssuerOptions) {
    this.now = options.now;
    this.random = options.random;
    this.rotateMs = options.rotateMs ?? TOKEN_ROTATE_MS;
    this.current = this.random(SECRET_LENGTH);
    this.previous = this.random(SECRET_LENGTH);
    this.rotatedAt = this.now();
  }

  issue(host: string): Uint8Array {
    this.rotate();
    return tokenFor(this.current, host);
  }

  verify(host: string, token: Uint8Array): boolean {
    this.rotate();
    return matches(tokenFor(this.current, host), token) || matches(tokenFor(this.previous, host), token);
  }

  private rotate(): void {
    const elapsed = this.now() - this.rotatedAt;
    if (elapsed < this.rotateMs) return;
    // After two periods of silence both secrets are stale: no old token may survive.
    this.previous = elapsed >= 2 * this.rotateMs ? this.random(SECRET_LENGTH) : this.current;
    this.current = this.random(SECRET_LENGTH);
    this.rotatedAt = this.now();
  }
}

function tokenFor(secret: Uint8Array, host: string): Uint8Array {
  return createHash('sha1').update(secret).update(host, 'latin1').digest();
}

function matches(expected: Uint8Array, token: Uint8Array): boolean {
  return expected.length === token.length && timingSafeEqual(expected, token);
}
