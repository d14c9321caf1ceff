/**
 * Whom we upload to: applies the choker's decisions (choker.ts, pure) to the swarm's
 * connections, gives a newly interested peer a free slot at once, and tells the uploader.
 */
import { Choker, type ChokerPeer } from './choker.js';
import type { SwarmPeer } from './swarm-peer.js';
import type { Uploader } from './upload.js';

/** Slots a newly interested peer may take between rechoke rounds. */
const FREE_SLOTS = 4;

export class Choking {
  private readonly choker = new Choker();

  constructor(
    private readonly peers: ReadonlyMap<number, SwarmPeer>,
    private readonly upload: Uploader,
    private readonly seeding: () => boolean,
  ) {}

  /** A newly interested peer gets a free slot at once instead of waiting for the next round. */
  maybeUnchoke(p: SwarmPeer): void {
    if (!p.conn.amChoking) return;
    let unchoked = 0;
    for (const q of this.peers.values()) if (!q.conn.amChoking) unchoked++;
    if (unchoked < FREE_SLOTS) this.setChoke(p, false);
  }

  rechoke(now: number): void {
    const list = [...this.peers.values()].filter((p) => p.registered);
    const decision = this.choker.rechoke(list.map((p) => view(p, now)), now, this.seeding());
    for (const p of list) this.setChoke(p, !decision.unchoke.has(p.key));
  }

  isSnubbed(p: SwarmPeer, now: number): boolean {
    return this.choker.isSnubbed(view(p, now), now);
  }

  private setChoke(p: SwarmPeer, choke: boolean): void {
    if (p.conn.amChoking === choke) return;
    p.conn.amChoking = choke;
    p.conn.send({ type: choke ? 'choke' : 'unchoke' });
    if (choke) this.upload.onChoke(p);
    else this.upload.onUnchoke(p);
  }
}

function view(p: SwarmPeer, now: number): ChokerPeer {
  return {
    key: p.key,
    interested: p.conn.peerInterested,
    amInterested: p.conn.amInterested,
    downloadRate: p.down.rate(now),
    uploadRate: p.up.rate(now),
    lastPieceFrom: Math.max(p.lastBlockAt, p.interestedAt),
    connectedAt: p.connectedAt,
    amChoking: p.conn.amChoking,
  };
}
