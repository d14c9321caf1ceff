/**
 * The OpenSSL side of test/mse/rc4-openssl.test.ts, run by it as
 * `node --openssl-legacy-provider`, since a test process has no RC4 in `node:crypto`:
 *
 *   node --openssl-legacy-provider rc4-openssl-child.js check <runs> <seed>
 *     fast-check: the cipher `Rc4.handOver()` gives continues the JS keystream exactly, for
 *     random keys, positions and chunk splits; prints `ok <runs>`.
 *   node --openssl-legacy-provider rc4-openssl-child.js initiator|responder <port> <info hash> <IA>
 *     connects to 127.0.0.1:<port>, runs that end of an MSE handshake for the info hash (hex;
 *     RC4 only; the initiator sends IA, hex, as its initial payload), then echoes every clear
 *     byte it receives, IA included, encrypted, until the other end closes. Prints `handed
 *     over to OpenSSL` once the handshake is done.
 *
 * Exits 1 with the error on stderr when anything fails, including when the process turns out
 * to have no RC4 from OpenSSL (the fast path would not be tested).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { CRYPTO_RC4, MseInitiator, MseResponder, req2Hash, Rc4, type MseResult, type MseStep } from '../../src/mse/index.js';
import { openSslHasRc4 } from '../../src/mse/rc4.js';

function check(runs: number, seed: number): void {
  assert.ok(openSslHasRc4(), 'this process has RC4 from OpenSSL');
  assert.ok(!(new Rc4(Buffer.from('k')).handOver() instanceof Rc4), 'handOver gives OpenSSL’s RC4');
  const chunk = fc.record({ bytes: fc.uint8Array({ maxLength: 700 }), owned: fc.boolean() });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat({ max: 5000 }), fc.array(chunk, { maxLength: 12 }), (key, position, chunks) => {
      const js = new Rc4(key);
      js.discard(position);
      const reference = js.clone();
      const fast = js.handOver();
      for (const { bytes, owned } of chunks) {
        const before = Buffer.from(bytes);
        const expected = reference.processCopy(bytes);
        const got = owned ? fast.processOwned(Buffer.from(bytes)) : fast.processCopy(bytes);
        assert.deepEqual(got, expected);
        assert.deepEqual(Buffer.from(bytes), before, 'the input is left alone');
      }
    }),
    { numRuns: runs, seed },
  );
  process.stdout.write(`ok ${runs}\n`);
}

function end(role: 'initiator' | 'responder', port: number, infoHash: Buffer, initialPayload: Buffer): void {
  assert.ok(openSslHasRc4(), 'this process has RC4 from OpenSSL');
  const socket = net.connect({ host: '127.0.0.1', port });
  const machine =
    role === 'initiator'
      ? new MseInitiator({ infoHash, provide: CRYPTO_RC4, initialPayload })
      : new MseResponder({ accept: CRYPTO_RC4, lookup: (req2) => (req2Hash(infoHash).equals(req2) ? infoHash : undefined) });
  let done: MseResult | undefined;
  const echo = (clear: Uint8Array): void => {
    if (clear.length > 0) socket.write(done!.encrypt!.processCopy(clear));
  };
  const advance = (step: MseStep): void => {
    for (const bytes of step.send) socket.write(bytes);
    if (step.done === undefined) return;
    done = step.done;
    assert.equal(done.method, 'rc4');
    assert.ok(!(done.encrypt instanceof Rc4) && !(done.decrypt instanceof Rc4), 'the payload ciphers are OpenSSL’s');
    process.stdout.write('handed over to OpenSSL\n');
    echo(done.payload);
  };
  socket.on('connect', () => {
    if (machine instanceof MseInitiator) socket.write(machine.start());
  });
  socket.on('data', (chunk: Buffer) => {
    if (done === undefined) advance(machine.receive(chunk));
    else echo(done.decrypt!.processOwned(chunk));
  });
  socket.on('end', () => socket.end());
  socket.on('error', (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  });
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'check') check(Number(a ?? 100), Number(b ?? 1));
else if (mode === 'initiator' || mode === 'responder') end(mode, Number(a), Buffer.from(b ?? '', 'hex'), Buffer.from(c ?? '', 'hex'));
else {
  process.stderr.write('usage: rc4-openssl-child check <runs> <seed> | initiator|responder <port> <info hash> <IA>\n');
  process.exitCode = 2;
}
