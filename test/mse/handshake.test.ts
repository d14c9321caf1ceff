import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseError, MseInitiator, MseResponder, req2Hash, type MseResult } from '../../src/mse/index.js';
import { seeded } from '../helpers/random.js';

const INFO_HASH = Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex');
const OTHER_HASH = Buffer.from('ffeeddccbbaa99887766554433221100ffeeddcc', 'hex');

/** Reproducible randomness for both sides. */
function seededRandom(seed: number): (n: number) => Uint8Array {
  const next = seeded(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

function lookupOf(...hashes: Buffer[]): (req2: Uint8Array) => Uint8Array | undefined {
  const byReq2 = new Map(hashes.map((h) => [req2Hash(h).toString('hex'), h]));
  return (req2) => byReq2.get(Buffer.from(req2).toString('hex'));
}

interface Run {
  a: MseResult;
  b: MseResult;
}

/**
 * Run both machines against each other, delivering every message cut at `split` (a byte count
 * per delivery, 0 = whole messages) to exercise the need-more-bytes paths.
 */
function handshake(opts: { provide: number; accept: number; ia?: Uint8Array; split?: number; seed?: number; extraFromA?: Uint8Array }): Run {
  const a = new MseInitiator({ infoHash: INFO_HASH, provide: opts.provide, random: seededRandom(opts.seed ?? 1), ...(opts.ia ? { initialPayload: opts.ia } : {}) });
  const b = new MseResponder({ lookup: lookupOf(OTHER_HASH, INFO_HASH), accept: opts.accept, random: seededRandom((opts.seed ?? 1) + 100) });
  let toB: Uint8Array[] = [a.start()];
  let toA: Uint8Array[] = [];
  let doneA: MseResult | undefined;
  let doneB: MseResult | undefined;
  const deliver = (chunks: Uint8Array[], into: (c: Uint8Array) => void): void => {
    const all = Buffer.concat(chunks);
    const n = opts.split !== undefined && opts.split > 0 ? opts.split : Math.max(all.length, 1);
    for (let at = 0; at < all.length; at += n) into(all.subarray(at, at + n));
  };
  for (let round = 0; round < 10 && (doneA === undefined || doneB === undefined); round++) {
    const bIn = toB;
    toB = [];
    if (doneB === undefined) {
      deliver(bIn, (c) => {
        const step = doneB === undefined ? b.receive(c) : undefined;
        if (step !== undefined) {
          toA.push(...step.send);
          if (step.done) doneB = step.done;
        }
      });
    }
    const aIn = toA;
    toA = [];
    deliver(aIn, (c) => {
      const step = doneA === undefined ? a.receive(c) : undefined;
      if (step !== undefined) {
        toB.push(...step.send);
        if (step.done) doneA = step.done;
      }
    });
  }
  assert.ok(doneA && doneB, 'both sides finish');
  return { a: doneA, b: doneB };
}

describe('MSE handshake', () => {
  it('agrees on RC4 when both allow it, and the payload streams decrypt on the other side', () => {
    const { a, b } = handshake({ provide: CRYPTO_RC4 | CRYPTO_PLAINTEXT, accept: CRYPTO_RC4 | CRYPTO_PLAINTEXT });
    assert.equal(a.method, 'rc4');
    assert.equal(b.method, 'rc4');
    assert.deepEqual(b.infoHash, INFO_HASH, 'the responder found the torrent from the obfuscated hash');
    const msg = Buffer.from('hello from A, encrypted');
    const wire = a.encrypt!.processCopy(msg);
    assert.notDeepEqual(wire, msg);
    assert.deepEqual(b.decrypt!.processOwned(wire), msg);
    const back = b.encrypt!.processCopy(Buffer.from('and back'));
    assert.equal(a.decrypt!.processOwned(back).toString(), 'and back');
  });

  it('selects plaintext when that is all the initiator provides', () => {
    const { a, b } = handshake({ provide: CRYPTO_PLAINTEXT, accept: CRYPTO_RC4 | CRYPTO_PLAINTEXT });
    assert.equal(a.method, 'plaintext');
    assert.equal(b.method, 'plaintext');
    assert.equal(a.encrypt, undefined);
    assert.equal(b.decrypt, undefined);
  });

  it('hands the initial payload (IA) to the responder in clear', () => {
    const ia = Buffer.from('\x13BitTorrent protocol and the rest of a handshake');
    const { b } = handshake({ provide: CRYPTO_RC4, accept: CRYPTO_RC4, ia });
    assert.deepEqual(Buffer.from(b.payload), ia);
  });

  it('completes whatever the delivery is cut into, for many paddings', () => {
    for (const split of [1, 3, 7, 20, 96, 97, 500]) {
      for (const seed of [1, 2, 3]) {
        const { a, b } = handshake({ provide: CRYPTO_RC4 | CRYPTO_PLAINTEXT, accept: CRYPTO_RC4, split, seed, ia: Buffer.from('ia') });
        assert.equal(a.method, 'rc4', `split ${split} seed ${seed}`);
        assert.equal(Buffer.from(b.payload).toString(), 'ia');
      }
    }
  });

  it('fails when the policies have no method in common', () => {
    assert.throws(
      () => handshake({ provide: CRYPTO_PLAINTEXT, accept: CRYPTO_RC4 }),
      (e: unknown) => e instanceof MseError && e.code === 'no-common-method',
    );
  });

  it('fails on a torrent the responder does not have', () => {
    const a = new MseInitiator({ infoHash: Buffer.alloc(20, 9), provide: CRYPTO_RC4, random: seededRandom(5) });
    const b = new MseResponder({ lookup: lookupOf(INFO_HASH), accept: CRYPTO_RC4, random: seededRandom(6) });
    const step2 = b.receive(a.start());
    const step3 = a.receive(Buffer.concat(step2.send));
    assert.throws(() => b.receive(Buffer.concat(step3.send)), (e: unknown) => e instanceof MseError && e.code === 'unknown-torrent');
  });

  it('gives up after 512 bytes of padding without the synchronisation marker, on either side', () => {
    const b = new MseResponder({ lookup: lookupOf(INFO_HASH), accept: CRYPTO_RC4, random: seededRandom(7) });
    const a = new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4, random: seededRandom(8) });
    const ya = a.start().subarray(0, 96);
    b.receive(ya);
    b.receive(Buffer.alloc(531, 0x55));
    assert.throws(() => b.receive(Buffer.alloc(1, 0x55)), (e: unknown) => e instanceof MseError && e.code === 'no-sync');

    const yb = new MseResponder({ lookup: lookupOf(INFO_HASH), accept: CRYPTO_RC4, random: seededRandom(9) }).receive(ya).send[0]!;
    a.receive(yb);
    a.receive(Buffer.alloc(519, 0x55));
    assert.throws(() => a.receive(Buffer.alloc(1, 0x55)), (e: unknown) => e instanceof MseError && e.code === 'no-sync');
  });

  it('refuses a degenerate public key', () => {
    const b = new MseResponder({ lookup: lookupOf(INFO_HASH), accept: CRYPTO_RC4, random: seededRandom(10) });
    const one = Buffer.alloc(96);
    one[95] = 1;
    assert.throws(() => b.receive(one), (e: unknown) => e instanceof MseError && e.code === 'bad-key');
  });
});
