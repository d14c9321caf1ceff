/**
 * An in-process swarm for tests: a Client listening on 127.0.0.1 and one Swarm over torrent
 * content held in memory, so a test can look at the swarm's peers while real sockets run.
 */
import { createHash } from 'node:crypto';
import { encode } from '../../src/bencode/index.js';
import type { EncryptionPolicy } from '../../src/mse/index.js';
import { Client } from '../../src/session/client.js';
import { Swarm } from '../../src/swarm/swarm.js';
import type { SwarmOptions, SwarmStorage } from '../../src/swarm/swarm-types.js';
import { Bitfield } from '../../src/util/bitfield.js';

export interface MemoryTorrent {
  readonly data: Buffer;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly info: Buffer;
  readonly infoHash: Buffer;
  readonly torrent: Buffer;
}

/** A single-file torrent of `data`; `announce` is written when given. */
export function memoryTorrent(data: Buffer, pieceLength: number, name = 'memory.bin', announce?: string): MemoryTorrent {
  const pieceCount = Math.ceil(data.length / pieceLength);
  const hashes: Buffer[] = [];
  for (let i = 0; i < pieceCount; i++) hashes.push(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest());
  const info = encode({ length: data.length, name, 'piece length': pieceLength, pieces: Buffer.concat(hashes) });
  const head = encode(announce !== undefined ? { announce } : {});
  const torrent = Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), info, Buffer.from('e')]);
  return { data, pieceLength, pieceCount, info, infoHash: createHash('sha1').update(info).digest(), torrent };
}

/**
 * Storage over a Buffer. `complete` holds every piece; otherwise pieces are written as they
 * verify. `canDownload: false` never hands out a piece buffer nor lets a piece spill, so the
 * swarm requests nothing.
 */
export class MemoryStorage implements SwarmStorage {
  readonly written: Buffer;
  constructor(
    private readonly t: MemoryTorrent,
    complete: boolean,
    private readonly canDownload = true,
  ) {
    this.written = complete ? Buffer.from(t.data) : Buffer.alloc(t.data.length);
  }

  get freeBuffers(): number {
    return this.canDownload ? 64 : 0;
  }

  acquirePieceBuffer(index: number): Buffer | undefined {
    if (!this.canDownload) return undefined;
    const size = Math.min(this.t.pieceLength, this.t.data.length - index * this.t.pieceLength);
    return Buffer.alloc(size);
  }

  setBufferDemand(_buffers: number): void {
    // Buffers are not pooled here.
  }

  releasePieceBuffer(): void {
    // Buffers are not pooled here.
  }

  async commitPiece(index: number, buf: Buffer): Promise<'ok' | 'hash-mismatch'> {
    const start = index * this.t.pieceLength;
    if (!buf.equals(this.t.data.subarray(start, start + buf.length))) return 'hash-mismatch';
    buf.copy(this.written, start);
    return 'ok';
  }

  /** Never spills when it cannot download. */
  get spillBacklog(): number {
    return this.canDownload ? 0 : Infinity;
  }

  /** Writes are instant here: the queue never fills. */
  get writeQueueFull(): boolean {
    return false;
  }

  onWriteQueueDrained(_cb: () => void): void {
    // Never full, so never drained.
  }

  writeBlock(index: number, begin: number, data: Uint8Array): void {
    this.written.set(data, index * this.t.pieceLength + begin);
  }

  async verifyStored(index: number): Promise<'ok' | 'hash-mismatch'> {
    const start = index * this.t.pieceLength;
    const end = Math.min(start + this.t.pieceLength, this.t.data.length);
    return this.written.subarray(start, end).equals(this.t.data.subarray(start, end)) ? 'ok' : 'hash-mismatch';
  }

  async readBlock(index: number, begin: number, length: number): Promise<Buffer> {
    const start = index * this.t.pieceLength + begin;
    return Buffer.from(this.written.subarray(start, start + length));
  }

  onPoolAvailable(): void {
    // Buffers are allocated per piece here: the pool never runs dry.
  }
}

export interface RunningSwarm {
  readonly client: Client;
  readonly swarm: Swarm;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startMemorySwarm(
  t: MemoryTorrent,
  opts: { complete: boolean; canDownload?: boolean; encryption?: EncryptionPolicy } & Partial<Pick<SwarmOptions, 'pex' | 'maxConnections' | 'maxHalfOpen' | 'maxPeersPerIp' | 'events' | 'clock' | 'storage' | 'v2'>>,
): Promise<RunningSwarm> {
  const client = new Client({
    host: '127.0.0.1',
    port: 0,
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    ...(opts.encryption !== undefined ? { encryption: opts.encryption } : {}),
  });
  const port = await client.listen();
  const have = new Bitfield(t.pieceCount);
  if (opts.complete) for (let i = 0; i < t.pieceCount; i++) have.set(i);
  const swarm = new Swarm({
    infoHash: t.infoHash,
    peerId: client.peerId,
    pieceCount: t.pieceCount,
    pieceLength: t.pieceLength,
    totalLength: t.data.length,
    have,
    storage: opts.storage ?? new MemoryStorage(t, opts.complete, opts.canDownload ?? true),
    infoBytes: t.info,
    listenPort: port,
    ...(opts.pex !== undefined ? { pex: opts.pex } : {}),
    ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    ...(opts.maxHalfOpen !== undefined ? { maxHalfOpen: opts.maxHalfOpen } : {}),
    ...(opts.maxPeersPerIp !== undefined ? { maxPeersPerIp: opts.maxPeersPerIp } : {}),
    ...(opts.events !== undefined ? { events: opts.events } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    ...(opts.v2 !== undefined ? { v2: opts.v2 } : {}),
  });
  client.register(t.infoHash, { identity: swarm.localIdentity, handler: swarm, maxBitfield: swarm.maxBitfieldBytes });
  swarm.start();
  return {
    client,
    swarm,
    port,
    stop: async () => {
      swarm.stop();
      await client.close();
    },
  };
}
