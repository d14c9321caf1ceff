/**
 * The layers stage of a magnet's metadata phase (BEP 52): with a v2-only torrent's info
 * dictionary verified, its missing piece layers are asked of the phase's peers by hash
 * request (the bookkeeping and the proofs are layer-fetch.ts). A peer whose hashes do not
 * prove to the pieces root is reported as a liar; one that lets `maxTimeouts` requests lapse
 * is closed. The phase owns the connections; this stage only writes hash requests on them.
 */
import type { Metainfo } from '../metainfo/types.js';
import { decodeHashMessage, encodeHashMessage, type HashMessage } from '../wire/index.js';
import { LayerFetch, missingLayers } from './layer-fetch.js';
import type { FetchPeer } from './metadata-types.js';
import { metainfoFromInfoBytes, type ExpectedHashes } from './torrent-file.js';

export interface LayerStageEvents {
  /** Every layer is in: the torrent with its `piece layers`. */
  onComplete(result: { meta: Metainfo; torrentBytes: Buffer }): void;
  onFatal(err: unknown): void;
  onLiar(p: FetchPeer, reason: string): void;
  onProgress(): void;
}

/**
 * A BEP 52 hash message from a peer of the phase; `stage` is undefined outside the layers
 * stage. We have no layers to give before the swarm starts, so requests are rejected; a
 * malformed message closes the peer.
 */
export function onHashMessage(stage: LayerStage | undefined, p: FetchPeer, id: number, payload: Uint8Array, now: number): void {
  let msg: HashMessage;
  try {
    msg = decodeHashMessage(id, payload);
  } catch (err) {
    p.conn.close(err instanceof Error ? err.message : String(err));
    return;
  }
  if (msg.type === 'hash-request') p.conn.write(encodeHashMessage({ ...msg, type: 'hash-reject' }));
  else stage?.onAnswer(p, msg, now);
}

export class LayerStage {
  private readonly fetch: LayerFetch<FetchPeer>;

  /** Undefined when `meta` needs no layer from peers (v1, hybrid, or layers all known). */
  static for(meta: Metainfo, infoBytes: Uint8Array, trackers: readonly string[], expected: ExpectedHashes, events: LayerStageEvents): LayerStage | undefined {
    const missing = meta.v2 !== undefined && !meta.hybrid ? missingLayers(meta.v2, meta.info.pieceLength) : [];
    return missing.length === 0 ? undefined : new LayerStage(new LayerFetch(missing, meta.info.pieceLength), infoBytes, trackers, expected, events);
  }

  private constructor(
    fetch: LayerFetch<FetchPeer>,
    private readonly infoBytes: Uint8Array,
    private readonly trackers: readonly string[],
    private readonly expected: ExpectedHashes,
    private readonly events: LayerStageEvents,
  ) {
    this.fetch = fetch;
  }

  progress(): { done: number; total: number } {
    return this.fetch.progress();
  }

  /**
   * Hash requests to every connected peer with room for more. Every peer of a v2-only swarm
   * speaks v2; the handshake's v2 bit is no test (libtorrent sets it only for hybrids, where it
   * means "upgrade to the v2 hash").
   */
  ask(peers: Iterable<FetchPeer>, now: number): void {
    for (const p of peers) {
      if (!p.conn.isActive || p.conn.remotePeerId === undefined) continue;
      for (const req of this.fetch.requestsFor(p, now)) p.conn.write(encodeHashMessage({ type: 'hash-request', ...req }));
    }
  }

  onAnswer(p: FetchPeer, msg: Exclude<HashMessage, { type: 'hash-request' }>, now: number): void {
    if (msg.type === 'hash-reject') return this.fetch.onReject(p, msg, now);
    const verdict = this.fetch.onHashes(p, msg);
    if (verdict === 'bad-proof') return this.events.onLiar(p, 'sent piece-layer hashes that do not prove to the pieces root');
    if (verdict === 'unrequested') return;
    if (!this.fetch.complete) return this.events.onProgress();
    let result;
    try {
      result = metainfoFromInfoBytes(this.infoBytes, this.trackers, this.expected, this.fetch.layers());
    } catch (err) {
      return this.events.onFatal(err);
    }
    this.events.onComplete(result);
  }

  dropPeer(p: FetchPeer): void {
    this.fetch.dropPeer(p);
  }

  /** Requests unanswered for `timeoutMs` go to other peers; a peer late `maxTimeouts` times is closed. */
  expire(now: number, timeoutMs: number, maxTimeouts: number): void {
    for (const late of this.fetch.expire(now, timeoutMs)) {
      if (++late.timeouts >= maxTimeouts) late.conn.close('hash requests timed out');
    }
  }
}
