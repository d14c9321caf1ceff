/**
 * MSE/PE through real PeerConnections on 127.0.0.1: every pairing of the policies, the
 * plaintext redial of 'prefer', the mismatch reports, and messages crossing the RC4 stream
 * in both directions (including a piece written as header + block). The file runs again in a
 * child with `--openssl-legacy-provider`, where the RC4 of the payload stream is OpenSSL's.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EncryptionReport, req2Hash, type EncryptionPolicy, type MismatchNote } from '../../src/mse/index.js';
import { openSslHasRc4 } from '../../src/mse/rc4.js';
import { PeerConnection, type PeerHandler } from '../../src/peer/connection.js';
import { makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { startProc, stopAll } from '../helpers/proc.js';

const infoHash = Buffer.alloc(20, 0xab);
const reserved = makeReserved({ extensionProtocol: true });

interface Side {
  conns: PeerConnection[];
  messages: IncomingMessage[];
  closed: string[];
  notes: MismatchNote[];
  report: EncryptionReport;
  handler: PeerHandler;
  changed: () => Promise<void>;
}

function side(): Side {
  let wake: () => void = () => undefined;
  const s: Side = {
    conns: [],
    messages: [],
    closed: [],
    notes: [],
    report: new EncryptionReport((n) => {
      s.notes.push(n);
      wake();
    }),
    handler: {
      onHandshake: (c) => {
        s.conns.push(c);
        wake();
        return true;
      },
      onMessage: (_c, m) => {
        s.messages.push(m.type === 'piece' ? { ...m, block: Buffer.from(m.block) } : m);
        wake();
      },
      onClose: (_c, reason) => {
        s.closed.push(reason);
        wake();
      },
    },
    changed: () => new Promise<void>((r) => (wake = r)),
  };
  return s;
}

async function until(s: Side, what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Promise.race([s.changed(), new Promise((r) => setTimeout(r, 50))]);
  }
}

const servers: net.Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  await stopAll();
});

/** A listener with `policy` that accepts connections for `infoHash` only. */
async function listen(policy: EncryptionPolicy): Promise<{ port: number; side: Side }> {
  const s = side();
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    PeerConnection.accept(socket, { host: '127.0.0.1', port: socket.remotePort ?? 0 }, (ih) => (Buffer.compare(Buffer.from(ih), infoHash) === 0 ? { identity: { infoHash, peerId: Buffer.alloc(20, 2), reserved }, handler: s.handler, maxBitfield: 4 } : undefined), {
      encryption: { policy, report: s.report, findInfoHash: (req2) => (Buffer.compare(Buffer.from(req2), req2Hash(infoHash)) === 0 ? infoHash : undefined) },
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, side: s };
}

function dial(port: number, policy: EncryptionPolicy): { conn: PeerConnection; side: Side } {
  const s = side();
  const conn = PeerConnection.connect({ host: '127.0.0.1', port }, { infoHash, peerId: Buffer.alloc(20, 1), reserved }, s.handler, {
    maxBitfield: 4,
    encryption: { policy, report: s.report },
  });
  return { conn, side: s };
}

async function connected(dialer: EncryptionPolicy, listener: EncryptionPolicy): Promise<{ out: PeerConnection; inc: PeerConnection; a: Side; b: Side }> {
  const { port, side: b } = await listen(listener);
  const { conn, side: a } = dial(port, dialer);
  await until(a, 'the dialer handshake', () => a.conns.length === 1);
  await until(b, 'the listener handshake', () => b.conns.length === 1);
  return { out: conn, inc: b.conns[0]!, a, b };
}

async function exchange(out: PeerConnection, inc: PeerConnection, a: Side, b: Side): Promise<void> {
  const block = Buffer.from(Array.from({ length: 16_384 }, (_, i) => (i * 31) & 0xff));
  out.send({ type: 'have', index: 3 });
  out.sendPiece(1, 0, block);
  inc.send({ type: 'unchoke' });
  await until(b, `have and piece (closed: ${b.closed.join(', ')})`, () => b.messages.length === 2);
  await until(a, 'unchoke', () => a.messages.length === 1);
  assert.deepEqual(b.messages[0], { type: 'have', index: 3 });
  assert.deepEqual(b.messages[1], { type: 'piece', index: 1, begin: 0, block });
  assert.equal(block[1], 31, 'the caller’s block is not encrypted in place');
  assert.deepEqual(a.messages[0], { type: 'unchoke' });
  out.close('done');
}

describe('PeerConnection with MSE/PE', () => {
  test('prefer to prefer: RC4 both ways', async () => {
    const { out, inc, a, b } = await connected('prefer', 'prefer');
    assert.equal(out.encryption, 'mse-rc4');
    assert.equal(inc.encryption, 'mse-rc4');
    await exchange(out, inc, a, b);
  });

  test('require to prefer: RC4', async () => {
    const { out, inc, a, b } = await connected('require', 'prefer');
    assert.equal(out.encryption, 'mse-rc4');
    await exchange(out, inc, a, b);
  });

  test('off to prefer: the listener tells a plaintext handshake from MSE and takes it', async () => {
    const { out, inc, a, b } = await connected('off', 'prefer');
    assert.equal(out.encryption, 'plaintext');
    assert.equal(inc.encryption, 'plaintext');
    await exchange(out, inc, a, b);
  });

  test('prefer to off: the listener drops MSE (and says the peer wanted it), the dialer redials in plaintext', async () => {
    const { out, inc, a, b } = await connected('prefer', 'off');
    assert.equal(out.encryption, 'plaintext');
    assert.equal(b.notes.length, 1);
    assert.equal(b.notes[0]!.kind, 'requires-encryption');
    assert.deepEqual(a.notes, [], 'a successful redial is no mismatch');
    assert.deepEqual(a.closed, [], 'the swarm sees one connection, never closed');
    await exchange(out, inc, a, b);
  });

  test('off to require: both sides name the mismatch', async () => {
    const { port, side: b } = await listen('require');
    const { side: a } = dial(port, 'off');
    await until(a, 'the dialer to close', () => a.closed.length === 1);
    await until(b, 'the listener note', () => b.notes.length === 1);
    assert.equal(a.notes[0]?.kind, 'requires-encryption');
    assert.equal(b.notes[0]?.kind, 'refuses-encryption');
    assert.equal(b.conns.length, 0);
  });

  test('require to off: the dialer names the peer that refused encryption', async () => {
    const { port, side: b } = await listen('off');
    const { side: a } = dial(port, 'require');
    await until(a, 'the dialer to close', () => a.closed.length === 1);
    assert.match(a.closed[0]!, /^encrypted handshake failed/);
    assert.equal(a.notes[0]?.kind, 'refuses-encryption');
    assert.equal(a.report.describe(), '1 peer refused encryption (try --encryption prefer)');
    assert.equal(b.conns.length, 0);
  });
});

describe('PeerConnection with MSE/PE, RC4 from OpenSSL', { skip: openSslHasRc4() ? 'this is the run with RC4 from OpenSSL' : false }, () => {
  test('every test above passes in a child run with --openssl-legacy-provider', { timeout: 60_000 }, async () => {
    // Without NODE_TEST_CONTEXT, which would make the child report to our runner in its protocol.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = startProc('connection-mse with OpenSSL RC4', process.execPath, ['--openssl-legacy-provider', '--test-reporter=tap', fileURLToPath(import.meta.url)], { env });
    const exit = await child.waitForExit(30_000).finally(() => child.stop());
    assert.equal(exit.code, 0, child.tail());
    assert.match(child.stdout, /^# pass [1-9]/m, child.tail());
  });
});
