/**
 * A minimal leecher to check a seeder helper without the client under test: it connects,
 * handshakes (no extensions), reads the seeder's bitfield and `have`s, and downloads and
 * hash-checks the pieces asked for. Framing from BEP 3, independent of the project's codec.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { pieceSize, type TorrentMeta } from './torrents.js';

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');
const BLOCK = 16 * 1024;
const MAX_MESSAGE = (1 << 20) + 13;

export interface ProbeResult {
  /** Pieces the seeder announced (bitfield and have messages). */
  readonly has: boolean[];
  /** Pieces downloaded and verified against their hashes. */
  readonly verified: number[];
}

function frame(id: number, ...ints: number[]): Buffer {
  const b = Buffer.alloc(5 + 4 * ints.length);
  b.writeUInt32BE(1 + 4 * ints.length, 0);
  b.writeUInt8(id, 4);
  ints.forEach((v, i) => b.writeUInt32BE(v, 5 + 4 * i));
  return b;
}

/**
 * Connect to 127.0.0.1:`port`, collect what the seeder has, then download `pieces` (those it
 * has) one piece at a time. Rejects on any protocol error or after `timeoutMs`.
 */
export function probeSeeder(port: number, meta: TorrentMeta, pieces: readonly number[], timeoutMs = 30_000): Promise<ProbeResult> {
  const count = meta.pieceHashes.length;
  const has: boolean[] = new Array<boolean>(count).fill(false);
  const verified: number[] = [];
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    let handshaken = false;
    let unchoked = false;
    let todo: number[] | undefined;
    const blocks = new Map<number, Buffer>();
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      clearTimeout(settle);
      socket.destroy();
      if (err === undefined) resolve({ has, verified });
      else reject(err);
    };
    const timer = setTimeout(() => finish(new Error(`probe of port ${port}: timed out after ${timeoutMs} ms (has ${has.filter(Boolean).length} pieces, verified ${verified.length})`)), timeoutMs);
    // Requests start once the seeder has said what it has: 200 ms after its bitfield (for any
    // `have`s that follow), or 5 s after its handshake when it sends no bitfield at all.
    let settle: NodeJS.Timeout | undefined;
    const startRequests = (): void => {
      if (todo !== undefined) return;
      todo = pieces.filter((i) => has[i]);
      requestNext();
      if (todo.length === 0) finish();
    };
    // all blocks of the current piece are requested at once: some seeders (Transmission)
    // answer one batch per bandwidth period, so one request at a time would crawl
    const requestNext = (): void => {
      if (todo === undefined || !unchoked) return;
      const index = todo[0];
      if (index === undefined) return finish();
      const size = pieceSize(meta, index);
      for (let begin = 0; begin < size; begin += BLOCK) if (!blocks.has(begin)) socket.write(frame(6, index, begin, Math.min(BLOCK, size - begin)));
    };
    const onBlock = (index: number, begin: number, data: Buffer): void => {
      if (todo?.[0] !== index || begin % BLOCK !== 0) return;
      blocks.set(begin, Buffer.from(data));
      const size = pieceSize(meta, index);
      if (blocks.size < Math.ceil(size / BLOCK)) return;
      const whole = Buffer.concat([...blocks.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
      const ok = whole.length === size && createHash('sha1').update(whole).digest().equals(meta.pieceHashes[index] as Buffer);
      if (!ok) return finish(new Error(`probe of port ${port}: piece ${index} failed its hash check`));
      verified.push(index);
      todo.shift();
      blocks.clear();
      requestNext();
    };
    const onMessage = (body: Buffer): void => {
      const id = body[0];
      if (id === 1) {
        unchoked = true;
        requestNext();
      } else if (id === 0) unchoked = false;
      else if (id === 4 && body.length === 5) has[body.readUInt32BE(1)] = true;
      else if (id === 5) {
        for (let i = 0; i < count; i++) has[i] = ((body[1 + (i >> 3)] as number) & (0x80 >> (i & 7))) !== 0;
        clearTimeout(settle);
        settle = setTimeout(startRequests, 200);
      }
      else if (id === 7 && body.length > 9) onBlock(body.readUInt32BE(1), body.readUInt32BE(5), body.subarray(9));
    };
    socket.on('error', (e) => finish(new Error(`probe of port ${port}: ${e.message}`)));
    socket.on('close', () => finish(new Error(`probe of port ${port}: the seeder closed the connection (verified ${verified.length})`)));
    socket.on('connect', () => {
      socket.write(Buffer.concat([PROTOCOL, Buffer.alloc(8), meta.infoHash, Buffer.from('-PR0001-'), randomBytes(12)]));
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!handshaken) {
        if (pending.length < 68) return;
        if (!pending.subarray(0, 20).equals(PROTOCOL) || !pending.subarray(28, 48).equals(meta.infoHash)) return finish(new Error(`probe of port ${port}: bad handshake`));
        handshaken = true;
        pending = pending.subarray(68);
        // not before: aria2 drops (and bans) a peer that sends more than its handshake
        // before aria2's own handshake went out ("More than … bytes are buffered")
        socket.write(frame(2));
        settle = setTimeout(startRequests, 5000);
      }
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (length > MAX_MESSAGE) return finish(new Error(`probe of port ${port}: message of ${length} bytes`));
        if (pending.length < 4 + length) return;
        const body = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        if (length > 0) onMessage(body);
      }
    });
  });
}
