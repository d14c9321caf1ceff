import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedFastSet, WireError } from '../../src/wire/index.js';

const INFO_HASH = Buffer.alloc(20, 0xaa);

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

describe('allowed-fast set (BEP 6)', () => {
  it('matches the BEP 6 vector for k = 7', () => {
    assert.deepEqual(allowedFastSet('80.4.4.200', INFO_HASH, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
  });

  it('matches the BEP 6 vector for k = 9', () => {
    assert.deepEqual(allowedFastSet('80.4.4.200', INFO_HASH, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
  });

  it('depends on the /24 only', () => {
    assert.deepEqual(allowedFastSet('80.4.4.1', INFO_HASH, 1313, 7), allowedFastSet('80.4.4.200', INFO_HASH, 1313, 7));
    assert.notDeepEqual(allowedFastSet('80.4.5.200', INFO_HASH, 1313, 7), allowedFastSet('80.4.4.200', INFO_HASH, 1313, 7));
  });

  it('caps k at the piece count and returns distinct indices', () => {
    const set = allowedFastSet('10.1.2.3', INFO_HASH, 5, 10);
    assert.deepEqual([...set].sort(), [0, 1, 2, 3, 4]);
    assert.deepEqual(allowedFastSet('10.1.2.3', INFO_HASH, 0, 10), []);
    assert.deepEqual(allowedFastSet('10.1.2.3', INFO_HASH, 100, 0), []);
  });

  it('is defined for IPv4 only and checks its arguments', () => {
    rejects(() => allowedFastSet('::1', INFO_HASH, 10, 1), 'invalid-argument');
    rejects(() => allowedFastSet('80.4.4.200', Buffer.alloc(19), 10, 1), 'invalid-argument');
    rejects(() => allowedFastSet('80.4.4.200', INFO_HASH, -1, 1), 'invalid-argument');
    rejects(() => allowedFastSet('80.4.4.200', INFO_HASH, 10, 1.5), 'invalid-argument');
  });
});
