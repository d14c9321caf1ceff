import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_ROTATE_MS, TokenIssuer } from '../../src/dht/token.js';

function setup(): { issuer: TokenIssuer; advance: (ms: number) => void } {
  let t = 0;
  let seed = 0;
  const issuer = new TokenIssuer({ now: () => t, random: (n) => new Uint8Array(n).fill(++seed) });
  return { issuer, advance: (ms) => void (t += ms) };
}

describe('TokenIssuer', () => {
  it('accepts its own token for the same IP only', () => {
    const { issuer } = setup();
    const token = issuer.issue('127.0.0.1');
    assert.equal(token.length, 20);
    assert.ok(issuer.verify('127.0.0.1', token));
    assert.ok(!issuer.verify('127.0.0.2', token));
    assert.ok(!issuer.verify('127.0.0.1', token.subarray(0, 19)));
    const forged = new Uint8Array(token);
    forged[0]! ^= 1;
    assert.ok(!issuer.verify('127.0.0.1', forged));
  });

  it('keeps accepting a token after one rotation (previous secret), not after two', () => {
    const { issuer, advance } = setup();
    const token = issuer.issue('10.0.0.1');
    advance(TOKEN_ROTATE_MS);
    assert.ok(issuer.verify('10.0.0.1', token));
    assert.notDeepEqual(issuer.issue('10.0.0.1'), token);
    advance(TOKEN_ROTATE_MS);
    assert.ok(!issuer.verify('10.0.0.1', token));
  });

  it('after a long silence no old token survives', () => {
    const { issuer, advance } = setup();
    const token = issuer.issue('10.0.0.1');
    advance(3 * TOKEN_ROTATE_MS);
    assert.ok(!issuer.verify('10.0.0.1', token));
  });
});
