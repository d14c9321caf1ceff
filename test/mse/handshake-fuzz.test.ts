/**
 * Properties of the MSE handshake parsers (fast-check): hostile or random bytes only ever
 * produce MseError or a request for more bytes, the search for a synchronisation marker
 * gives up within the spec's 512 bytes of padding, and any one corrupted byte of a real
 * handshake either fails cleanly or is in padding the spec tells us to skip.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseError, MseInitiator, MseResponder, req2Hash, type MseStep } from '../../src/mse/index.js';

const INFO_HASH = Buffer.alloc(20, 0x42);
const lookup = (req2: Uint8Array): Uint8Array | undefined => (Buffer.compare(Buffer.from(req2), req2Hash(INFO_HASH)) === 0 ? INFO_HASH : undefined);
const fixedRandom =
  (seed: number) =>
  (n: number): Uint8Array =>
    Uint8Array.from({ length: n }, (_, i) => (seed * 131 + i * 17) & 0xff);

/** Feed `data` in chunks of the given sizes; returns the error thrown, or undefined. */
function feed(receive: (c: Uint8Array) => MseStep, data: Uint8Array, cuts: number[]): { error: unknown; done: boolean } {
  let at = 0;
  let k = 0;
  try {
    while (at < data.length) {
      const n = Math.max(1, cuts[k++ % Math.max(cuts.length, 1)] ?? data.length);
      const step = receive(data.subarray(at, at + n));
      at += n;
      if (step.done !== undefined) return { error: undefined, done: true };
    }
  } catch (error) {
    return { error, done: false };
  }
  return { error: undefined, done: false };
}

const isMseError = (e: unknown): boolean => e instanceof MseError;

describe('MSE handshake fuzzing', () => {
  it('random bytes to a responder: only MseError, and never more than Ya + 512 + 20 bytes buffered while searching', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1200 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 }), (data, cuts) => {
        const b = new MseResponder({ lookup, accept: CRYPTO_RC4 | CRYPTO_PLAINTEXT, random: fixedRandom(1) });
        const { error, done } = feed((c) => b.receive(c), data, cuts);
        assert.equal(done, false, 'random bytes cannot complete a handshake');
        if (error !== undefined) assert.ok(isMseError(error), String(error));
        else assert.ok(data.length < 96 + 512 + 20 + 300, `still searching after ${data.length} bytes`);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes to an initiator: only MseError, bounded search for ENCRYPT(VC)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1200 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 }), (data, cuts) => {
        const a = new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4, random: fixedRandom(2) });
        a.start();
        const { error, done } = feed((c) => a.receive(c), data, cuts);
        assert.equal(done, false);
        if (error !== undefined) assert.ok(isMseError(error), String(error));
        else assert.ok(data.length < 96 + 512 + 8 + 300, `still searching after ${data.length} bytes`);
      }),
      { numRuns: 200 },
    );
  });

  it('one corrupted byte of a real step 3 fails with MseError or lands in padding/IA', () => {
    const seedA = fixedRandom(3);
    const a = new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4, initialPayload: Buffer.from('payload'), random: seedA });
    const step1 = a.start();
    const probe = new MseResponder({ lookup, accept: CRYPTO_RC4, random: fixedRandom(4) });
    const step2 = Buffer.concat(probe.receive(step1).send);
    const step3 = Buffer.concat(a.receive(step2).send);
    const transcript = Buffer.concat([step1, step3]);
    fc.assert(
      fc.property(fc.nat({ max: transcript.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, flip) => {
        const bad = Buffer.from(transcript);
        bad[pos]! ^= flip;
        const b = new MseResponder({ lookup, accept: CRYPTO_RC4, random: fixedRandom(4) });
        const { error, done } = feed((c) => b.receive(c), bad, [bad.length]);
        if (error !== undefined) assert.ok(isMseError(error), String(error));
        else if (!done) assert.ok(pos < 96 + 512, 'only a change in Ya or PadA can leave the search going');
      }),
      { numRuns: 300 },
    );
  });

  it('a real handshake completes under any chunking and randomness', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }), (seed, cuts) => {
        const a = new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4 | CRYPTO_PLAINTEXT, random: fixedRandom(seed) });
        const b = new MseResponder({ lookup, accept: CRYPTO_RC4, random: fixedRandom(seed + 1) });
        /** Deliver `data` to one side in `cuts`; returns what it sent back and whether it finished. */
        const pump = (receive: (c: Uint8Array) => MseStep, data: Uint8Array): { out: Buffer; done: boolean } => {
          const out: Uint8Array[] = [];
          let done = false;
          const r = feed(
            (c) => {
              const step = receive(c);
              out.push(...step.send);
              done ||= step.done !== undefined;
              return step;
            },
            data,
            cuts,
          );
          assert.equal(r.error, undefined);
          return { out: Buffer.concat(out), done };
        };
        const step2 = pump((c) => b.receive(c), a.start());
        const step3 = pump((c) => a.receive(c), step2.out);
        const step4 = pump((c) => b.receive(c), step3.out);
        assert.ok(step4.done, 'the responder finished');
        assert.ok(pump((c) => a.receive(c), step4.out).done, 'the initiator finished');
      }),
      { numRuns: 60 },
    );
  });
});
