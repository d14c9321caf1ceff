/**
 * RC4 from OpenSSL, which the payload stream of an MSE connection uses when the process has it
 * (`Rc4.handOver`). A test process has not (no `--openssl-legacy-provider`), so the fallback is
 * checked here and the fast path in a child started with the flag
 * (test/helpers/rc4-openssl-child.ts): OpenSSL's keystream continues the JS one at any position
 * and chunking, and a handshake between an OpenSSL end (the child) and a JS end (this process)
 * carries data both ways, whichever end initiates.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CRYPTO_RC4, MseInitiator, MseResponder, Rc4, req2Hash, type MseResult, type MseStep } from '../../src/mse/index.js';
import { openSslHasRc4 } from '../../src/mse/rc4.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { seeded } from '../helpers/random.js';

const CHILD = fileURLToPath(new URL('../helpers/rc4-openssl-child.js', import.meta.url));
const INFO_HASH = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
const IA = Buffer.from('IA: inside the third handshake message');
/** Bytes sent through the child's echo after the handshake. */
const DATA_BYTES = 1 << 20;
const DEADLINE_MS = 30_000;

after(stopAll);

function startChild(args: string[]): ReturnType<typeof startProc> {
  return startProc('rc4-openssl-child', process.execPath, ['--openssl-legacy-provider', CHILD, ...args]);
}

function deadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Run the JS end of the handshake on `socket`, then send `data` in random cuts right after it
 * (in the same write as the responder's last handshake message) and collect the echo, in clear.
 * Resolves with this end's handshake result and the echo once as many bytes as sent came back.
 */
function exchange(socket: net.Socket, machine: MseInitiator | MseResponder, data: Buffer, seed: number): Promise<{ done: MseResult; echo: Buffer }> {
  const random = seeded(seed);
  return new Promise((resolve, reject) => {
    let done: MseResult | undefined;
    const echo: Buffer[] = [];
    let echoed = 0;
    let expected = data.length;
    const collect = (clear: Buffer): void => {
      echo.push(clear);
      echoed += clear.length;
      if (echoed >= expected) resolve({ done: done!, echo: Buffer.concat(echo) });
    };
    const send = (): void => {
      for (let at = 0; at < data.length; ) {
        const n = 1 + Math.floor(random() * 40_000);
        socket.write(done!.encrypt!.processCopy(data.subarray(at, at + n)));
        at += n;
      }
    };
    const advance = (step: MseStep): void => {
      socket.cork();
      for (const bytes of step.send) socket.write(bytes);
      if (step.done !== undefined) {
        done = step.done;
        if (machine instanceof MseInitiator) {
          // The child, responding, echoes our IA first: it may have come with its last
          // handshake message, and so be in the payload the handshake decrypted.
          expected += IA.length;
          collect(Buffer.from(done.payload));
        }
        send();
      }
      socket.uncork();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        if (done === undefined) advance(machine.receive(chunk));
        else collect(done.decrypt!.processOwned(chunk));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${echoed} of ${expected} echoed bytes`)));
    if (machine instanceof MseInitiator) socket.write(machine.start());
  });
}

describe('RC4 in a process without OpenSSL’s', { skip: openSslHasRc4() ? 'this process has RC4 from OpenSSL' : false }, () => {
  it('keeps the JS cipher for the payload stream, in place', () => {
    const rc4 = new Rc4(Buffer.from('key'));
    assert.equal(rc4.handOver(), rc4);
    const chunk = Buffer.from('decrypted in place');
    assert.equal(rc4.processOwned(chunk), chunk);
  });
});

describe('RC4 from OpenSSL (in a child run with --openssl-legacy-provider)', () => {
  it('continues the JS keystream exactly, at any position and chunking', { timeout: 2 * DEADLINE_MS }, async () => {
    const child = startChild(['check', '300', String(Date.now() % 100_000)]);
    const exit = await child.waitForExit(DEADLINE_MS).finally(() => child.stop());
    assert.equal(exit.code, 0, child.tail());
    assert.match(child.stdout, /^ok 300$/m);
  });

  for (const childRole of ['initiator', 'responder'] as const) {
    const ours = childRole === 'initiator' ? 'responder' : 'initiator';
    it(`carries data both ways between an OpenSSL ${childRole} and a JS ${ours}`, { timeout: 2 * DEADLINE_MS }, async () => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as net.AddressInfo;
      const accepted = once(server, 'connection') as Promise<[net.Socket]>;
      const child = startChild([childRole, String(port), INFO_HASH.toString('hex'), IA.toString('hex')]);
      const random = seeded(port);
      const data = Buffer.from(Array.from({ length: DATA_BYTES }, () => Math.floor(random() * 256)));
      try {
        const [socket] = await deadline('connection from the child', accepted);
        const machine =
          ours === 'initiator'
            ? new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4, initialPayload: IA })
            : new MseResponder({ accept: CRYPTO_RC4, lookup: (req2) => (req2Hash(INFO_HASH).equals(req2) ? INFO_HASH : undefined) });
        const { done, echo } = await deadline('the echo', exchange(socket, machine, data, port));
        assert.equal(done.method, 'rc4');
        assert.ok(done.encrypt instanceof Rc4 || openSslHasRc4(), 'this end uses the JS cipher');
        if (ours === 'responder') assert.deepEqual(Buffer.from(done.payload), IA, 'the child’s IA arrived in clear');
        // The responder's echo starts with our IA; then our data, whose first bytes crossed
        // the hand-over on both sides.
        assert.ok(echo.equals(ours === 'initiator' ? Buffer.concat([IA, data]) : data), 'the echo is what we sent');
        socket.end();
        const exit = await child.waitForExit(DEADLINE_MS);
        assert.equal(exit.code, 0, child.tail());
        assert.match(child.stdout, /^handed over to OpenSSL$/m);
      } finally {
        server.close();
        await child.stop();
      }
    });
  }
});
