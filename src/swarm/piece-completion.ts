/**
 * What happens to a piece once its last block has arrived: storage checks its hash, then it
 * is announced to every peer, or fetched again and its sender blamed. Blame is by IP and a
 * ban closes every connection from it; when several peers sent blocks of a bad piece, the
 * liar is found once the piece verifies (smart-ban.ts) or, for a piece with a v2 half, at
 * once from the piece's merkle leaf hashes, asked of a peer (merkle-blame.ts). Blocks from
 * sources that are not peers (web seeds) carry a tag instead of an IP, and their source takes
 * the blame.
 */
import type { V2File } from '../metainfo/types.js';
import { encodeHashMessage, type HashMessage } from '../wire/index.js';
import type { Bitfield } from '../util/bitfield.js';
import { MerkleBlame } from './merkle-blame.js';
import { SmartBan } from './smart-ban.js';
import { BLOCK_SIZE, type Picker } from './picker.js';
import type { PeerPool } from './peer-pool.js';
import type { SwarmPeer } from './swarm-peer.js';
import type { SwarmEvents, SwarmStorage } from './swarm-types.js';

/** What completion needs from the swarm. */
export interface CompletionHost {
  readonly storage: SwarmStorage;
  readonly picker: Picker;
  readonly have: Bitfield;
  readonly peers: ReadonlyMap<number, SwarmPeer>;
  readonly pool: PeerPool;
  readonly events: SwarmEvents | undefined;
  isStopped(): boolean;
  pieceSize(index: number): number;
  /** A source of blocks that is not a peer sent a bad block under `key`. */
  blameSource(key: number, reason: string): void;
  /** The peer may have become uninteresting (it has nothing more we want). */
  updateInterest(p: SwarmPeer): void;
  /** Blocks went back to "need": give every peer requests again. */
  refillAll(): void;
  /** The picker may be done. */
  checkComplete(): void;
  /** The v2 half's files (BEP 52), for block-level blame by merkle leaf hashes. */
  readonly v2?: { readonly files: readonly V2File[]; readonly pieceLength: number };
}

export class PieceCompletion {
  hashFailures = 0;
  /** Piece buffers handed to storage whose commit has not settled: the pool's share held by storage. */
  committing = 0;
  private readonly host: CompletionHost;
  /** The IP (or source tag) that sent each received block of the pieces in flight. */
  private readonly blockFrom = new Map<number, string[]>();
  private readonly smartBan = new SmartBan(BLOCK_SIZE);
  private readonly merkle: MerkleBlame | undefined;

  constructor(host: CompletionHost) {
    this.host = host;
    this.merkle = host.v2 === undefined ? undefined : new MerkleBlame(host.v2.files, host.v2.pieceLength);
  }

  /** Block `begin` of piece `index` came from `from`. */
  blockReceived(index: number, begin: number, from: string): void {
    let senders = this.blockFrom.get(index);
    if (senders === undefined) this.blockFrom.set(index, (senders = []));
    senders[begin / BLOCK_SIZE] = from;
  }

  /** The piece's last block arrived: `buf` holds it, or null when its blocks were spilled to disk. */
  finish(index: number, buf: Buffer | null): void {
    const from = this.blockFrom.get(index) ?? [];
    this.blockFrom.delete(index);
    // The data may have to be compared later: a piece from several peers may fail, and a piece
    // that failed before may now name the liar. Storage takes the buffer, so keep a copy; a
    // spilled piece is read back, before its blocks can be fetched again.
    const keep = new Set(from).size > 1 || this.smartBan.tracks(index);
    const copy = keep && buf !== null ? Buffer.from(buf) : undefined;
    const { storage } = this.host;
    (buf !== null ? this.commit(index, buf) : storage.verifyStored(index)).then(
      async (result) => {
        const data = copy ?? (keep ? await storage.readBlock(index, 0, this.host.pieceSize(index)).catch(() => undefined) : undefined);
        if (result === 'ok') {
      if (data !== undefined) for (const ip of this.smartBan.verified(index, data)) this.banIp(ip, `sent a block of piece ${index} that differs from the verified one`);
          this.verified(index);
        } else {
          this.failed(index, from, data);
        }
      },
      (err: unknown) => this.host.events?.onDiskError?.(err),
    );
  }

  private commit(index: number, buf: Buffer): Promise<'ok' | 'hash-mismatch'> {
    this.committing++;
    return this.host.storage.commitPiece(index, buf).finally(() => this.committing--);
  }

  private verified(index: number): void {
    const host = this.host;
    if (host.isStopped()) return;
    const bored = host.picker.pieceVerified(index);
    host.have.set(index);
    host.events?.onPieceVerified?.(index);
    // A peer that has the piece already learns nothing from a `have` (BEP 3 lets us skip it).
    for (const p of host.peers.values()) {
      if (p.registered && !p.has.has(index)) p.conn.send({ type: 'have', index });
    }
    for (const key of bored) {
      const p = host.peers.get(key);
      if (p !== undefined) host.updateInterest(p);
    }
    host.checkComplete();
  }

  /**
   * A peer that sent every block of a bad piece lied. When several did, which one is learnt
   * once the piece verifies (smart-ban.ts); the picker fetches the retry from one peer only.
   */
  private failed(index: number, from: readonly string[], data: Buffer | undefined): void {
    const host = this.host;
    if (host.isStopped()) return;
    this.hashFailures++;
    host.picker.pieceFailed(index);
    host.events?.onPieceFailed?.(index);
    const senders = new Set(from);
    if (senders.size === 1) this.banIp([...senders][0]!, `sent data that failed the hash check of piece ${index}`);
    else if (data !== undefined) {
      this.smartBan.failed(index, from, data);
      if (this.merkle?.failed(index, from, data) !== undefined) this.askLeaves(index);
    }
    host.refillAll();
  }

  /** Ask the next peer that has the piece for its leaf hashes; none left: smart ban alone. */
  private askLeaves(index: number): void {
    for (const p of this.host.peers.values()) {
      if (!p.registered || !p.has.has(index) || this.host.pool.isBanned(p.conn.address)) continue;
      const req = this.merkle!.askOf(index, p.key);
      if (req === undefined) continue;
      p.conn.write(encodeHashMessage({ type: 'hash-request', ...req }));
      return;
    }
    this.merkle!.giveUp(index);
  }

  /** A peer's answer to a hash request (BEP 52): leaf hashes that name liars, or a refusal. */
  onHashAnswer(p: SwarmPeer | undefined, msg: Exclude<HashMessage, { type: 'hash-request' }>): void {
    if (this.merkle === undefined || p === undefined) return;
    if (msg.type === 'hash-reject') {
      const piece = this.merkle.pieceOf(p.key, msg);
      if (piece !== undefined) this.askLeaves(piece);
      return;
    }
    const verdict = this.merkle.onHashes(p.key, msg);
    if (verdict.kind === 'bad-proof') {
      this.banIp(p.ip, `sent leaf hashes of piece ${verdict.piece} that do not hash to its merkle piece hash`);
      this.askLeaves(verdict.piece);
    } else if (verdict.kind === 'liars') {
      for (const ip of verdict.liars) this.banIp(ip, `sent a block of piece ${verdict.piece} that fails its merkle leaf hash`);
    }
  }

  /** Bans are by IP: every connection from it is closed and it is never dialled or accepted again. */
  private banIp(ip: string, reason: string): void {
    const host = this.host;
    const source = sourceKey(ip);
    if (source !== undefined) return host.blameSource(source, reason);
    if (host.pool.isBanned({ host: ip, port: 0 })) return;
    const conns = [...host.peers.values()].filter((p) => p.ip === ip).map((p) => p.conn);
    host.pool.ban({ host: ip, port: 0 });
    host.events?.onPeerBanned?.(conns[0]?.address ?? { host: ip, port: 0 }, reason);
    for (const c of conns) c.close(`banned: ${reason}`);
  }
}

/** How blocks from a source that is not a peer are tagged for blame (an IP never looks so). */
export function sourceTag(key: number): string {
  return `source:${key}`;
}

function sourceKey(tag: string): number | undefined {
  return tag.startsWith('source:') ? Number(tag.slice(7)) : undefined;
}
