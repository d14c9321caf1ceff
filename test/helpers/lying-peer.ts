/**
 * A peer that lies: it claims every piece, unchokes at once and answers every request, but
 * the blocks of chosen pieces are corrupted. Its wire framing is written here from BEP 3,
 * independently of the project's codec, so a shared misreading cannot hide a bug. It records
 * every connection and who closed it, so a test can tell that the client banned it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ContentReader, pieceSize, type TorrentMeta } from './torrents.js';

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');
const HANDSHAKE_LENGTH = 68;
const MAX_MESSAGE = (1 << 20) + 13;
const MAX_BLOCK = 128 * 1024;

const enum Id {
  Unchoke = 1,
  Bitfield = 5,
  Request = 6,
  Piece = 7,
}

export interface ConnectionRecord {
  readonly id: number;
  readonly openedAt: number;
  closedAt: number | undefined;
  closedBy: 'remote' | 'local' | undefined;
  handshake: boolean;
  blocksSent: number;
  corruptBlocksSent: number;
}

export interface LyingPeerOptions {
  readonly meta: TorrentMeta;
  /** The torrent's content on disk (see ContentReader). */
  readonly contentRoot: string;
  /** Pieces whose every block is sent corrupted. */
  readonly corrupt: (piece: number) => boolean;
  /**
   * Loopback address to listen on (default 127.0.0.1). Bans are by IP: a liar on an address of
   * its own keeps the ban from reaching honest peers that share 127.0.0.1.
   */
  readonly host?: string;
}

function message(id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head.writeUInt8(id, 4);
  return Buffer.concat([head, payload]);
}

export class LyingPeer {
  readonly connections: ConnectionRecord[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly reader: ContentReader;
  private readonly peerId = Buffer.concat([Buffer.from('-LY0001-'), randomBytes(12)]);

  private constructor(
    private readonly options: LyingPeerOptions,
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {
    this.reader = new ContentReader(options.meta, options.contentRoot);
    server.on('connection', (socket) => this.accept(socket));
  }

  static start(options: LyingPeerOptions): Promise<LyingPeer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      const host = options.host ?? '127.0.0.1';
      server.listen(0, host, () => {
        const address = server.address();
        if (typeof address !== 'object' || address === null) return reject(new Error('lying peer: no address'));
        resolve(new LyingPeer(options, server, host, address.port));
      });
    });
  }

  /** Connections whose other side closed them after receiving corrupt data. */
  get closedAfterCorruption(): ConnectionRecord[] {
    return this.connections.filter((c) => c.closedBy === 'remote' && c.corruptBlocksSent > 0);
  }

  private bitfield(): Buffer {
    const count = this.options.meta.pieceHashes.length;
    const bits = Buffer.alloc(Math.ceil(count / 8));
    for (let i = 0; i < count; i++) bits[i >> 3] = (bits[i >> 3] as number) | (0x80 >> (i & 7));
    return bits;
  }

  private accept(socket: Socket): void {
    const record: ConnectionRecord = {
      id: this.connections.length + 1,
      openedAt: Date.now(),
      closedAt: undefined,
      closedBy: undefined,
      handshake: false,
      blocksSent: 0,
      corruptBlocksSent: 0,
    };
    this.connections.push(record);
    this.sockets.add(socket);
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    const close = (by: 'remote' | 'local'): void => {
      if (record.closedBy === undefined) {
        record.closedBy = by;
        record.closedAt = Date.now();
      }
      if (by === 'local') socket.destroy();
    };
    socket.on('error', () => close('remote'));
    socket.on('end', () => close('remote'));
    socket.on('close', () => {
      close('remote');
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!record.handshake) {
        if (pending.length < HANDSHAKE_LENGTH) return;
        const hs = pending.subarray(0, HANDSHAKE_LENGTH);
        if (!hs.subarray(0, 20).equals(PROTOCOL) || !hs.subarray(28, 48).equals(this.options.meta.infoHash)) return close('local');
        record.handshake = true;
        pending = pending.subarray(HANDSHAKE_LENGTH);
        socket.write(Buffer.concat([PROTOCOL, Buffer.alloc(8), this.options.meta.infoHash, this.peerId]));
        socket.write(message(Id.Bitfield, this.bitfield()));
        socket.write(message(Id.Unchoke));
      }
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (length > MAX_MESSAGE) return close('local');
        if (pending.length < 4 + length) return;
        const body = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        if (length >= 13 && body[0] === Id.Request) {
          const [index, begin, size] = [body.readUInt32BE(1), body.readUInt32BE(5), body.readUInt32BE(9)];
          queue = queue.then(() => this.answer(socket, record, index, begin, size)).catch(() => close('local'));
        }
      }
    });
  }

  private async answer(socket: Socket, record: ConnectionRecord, index: number, begin: number, size: number): Promise<void> {
    const { meta } = this.options;
    if (index >= meta.pieceHashes.length || size === 0 || size > MAX_BLOCK || begin + size > pieceSize(meta, index)) {
      socket.destroy();
      return;
    }
    const block = await this.reader.read(index * meta.pieceLength + begin, size);
    const corrupt = this.options.corrupt(index);
    if (corrupt) for (let i = 0; i < block.length; i++) block[i] = (block[i] as number) ^ 0xff;
    if (socket.destroyed) return;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(index, 0);
    head.writeUInt32BE(begin, 4);
    socket.write(message(Id.Piece, Buffer.concat([head, block])));
    record.blocksSent++;
    if (corrupt) record.corruptBlocksSent++;
  }

  /** Close the listener and every connection (closes recorded as 'local'). */
  async stop(): Promise<void> {
    for (const c of this.connections) {
      if (c.closedBy === undefined) {
        c.closedBy = 'local';
        c.closedAt = Date.now();
      }
    }
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.reader.close();
  }
}
