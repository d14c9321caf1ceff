/**
 * The piece picker: which blocks to request from which peer (BEP 3 "piece selection").
 *
 * Pure bookkeeping, no I/O, no clock; randomness is injected. The swarm drives it with what
 * peers announce and what arrives, and sends whatever `pick` returns.
 *
 * Every block of the torrent is in exactly one state (STYLE.md §7, rqbit's PieceTracker):
 *   need      - not verified and nobody is asked for it (all blocks of a candidate piece,
 *               or a `NEED` block of a started piece);
 *   requested - asked from 1..maxRequestersPerBlock peers (more than one only in endgame);
 *   received  - its data arrived; waits for the whole piece to be hashed;
 *   verified  - the piece passed its hash.
 * `checkInvariants()` verifies this and every index below; tests call it after every step.
 *
 * Order of `pick` (each step only for pieces the peer has):
 *  1. the piece this peer is already filling, lowest block first, so one peer's blocks are
 *     contiguous and a piece is fetched whole from one peer when possible;
 *  2. a started piece nobody is filling (released by a choke, timeout or hash failure):
 *     finishing partial pieces first bounds the number of pieces held in memory
 *     (BEP 3 "strict priority", libtorrent `prioritize_partials`);
 *  3. a new piece, in the order of piece-order.ts: urgent, then by priority level rarest
 *     first (random first, or sequential). Skipped when `newPieces` is false (the caller is
 *     out of piece buffers);
 *  4. still-needed blocks of pieces other peers are filling, taken from the top end so the
 *     two peers do not interleave, and only by a peer that will deliver them no later than
 *     the piece's filler (`holderWait`; piece affinity: a fast peer keeps whole pieces, a slow
 *     one never holds the last blocks others wait for). Not a piece that failed its hash: its
 *     retry comes from one peer, so a second failure has one culprit; neither in step 5;
 *  5. endgame (every needed block is requested): blocks already requested from others, at
 *     most `maxRequestersPerBlock` peers per block, least-duplicated first, then those of the
 *     slowest holder (`holderWait`; only holders slower than this peer), then the last
 *     requested (newest piece, top block: the last its holder will send); `onBlock` then says
 *     whom to cancel (BEP 3 "end game"). Only while the peer has fewer than `endgameDepth`
 *     requests outstanding, up to that many: a duplicate is usually already on its way from
 *     its holder (in the holder's socket or ours), and when each peer asked for a fifth of a
 *     second of its rate, twenty peers received 22-40 MiB of a 256 MiB download twice.
 *     libtorrent asks a peer for one such block, and only when it has none outstanding.
 *
 * A piece already started when its priority drops to `skip` is finished, not abandoned: its
 * blocks are in flight or in a buffer, and at most a few pieces per peer are started at once.
 * "Done" means every wanted piece is verified.
 *
 * Cost: steps 1 and 2 are O(1) per block; a step 3 walk is O(candidates skipped because the
 * peer lacks them), once per started piece, and a walk that finds nothing is not repeated
 * until the peer announces a new piece. Steps 4-5 scan started pieces and only run when no
 * new piece can be started for this peer (near the end or under back-pressure).
 *
 * Over 500 lines because `checkInvariants`, used by the tests, must read every private index,
 * and the priority counts (`setPriorities`) must stay in step with the same indices; types and
 * per-piece records live in picker-types.ts and picker-state.ts, levels in piece-priority.ts,
 * the order of new pieces in piece-order.ts, endgame's order in endgame-order.ts.
 */
import { Bitfield } from '../util/bitfield.js';
import { bestCandidates, rankByWait } from './endgame-order.js';
import { NORMAL, SKIP } from './piece-priority.js';
import { MAX_URGENT, PieceOrder } from './piece-order.js';
import { RarityOrder } from './rarity.js';
import { Download, forEachSet, NEED, NONE, RECEIVED, REQUESTED, type PeerEntry } from './picker-state.js';
import {
  BLOCK_SIZE,
  PickerError,
  type BlockRequest,
  type BlockResult,
  type BlockState,
  type PeerKey,
  type PickerOptions,
  type PickOptions,
} from './picker-types.js';

export * from './picker-types.js';

export { MAX_URGENT };

/**
 * `onBlock`'s answers that name no peer to cancel, made once: the answer is per block, and
 * three objects per block were a tenth of a download's garbage.
 */
const NOT_ASKED: BlockResult = Object.freeze({ accepted: false, pieceComplete: false, cancelFrom: [] });
const ACCEPTED: BlockResult = Object.freeze({ accepted: true, pieceComplete: false, cancelFrom: [] });
const COMPLETED: BlockResult = Object.freeze({ accepted: true, pieceComplete: true, cancelFrom: [] });

export class Picker {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  private readonly blocksPerPiece: number;
  private readonly lastPieceLength: number;
  private readonly maxRequesters: number;
  private readonly endgameDepth: number;
  private readonly ours: Bitfield;
  private readonly rarity: RarityOrder;
  private readonly peers = new Map<PeerKey, PeerEntry>();
  private seeds = 0;
  private readonly active = new Map<number, Download>();
  /** Started pieces with at least one `NEED` block. */
  private readonly open = new Set<number>();
  /** The subset of `open` nobody is filling (step 2). */
  private readonly orphans = new Set<number>();
  /** Requesters beyond `Download.who`, by global block id (endgame only). */
  private readonly extra = new Map<number, PeerKey[]>();
  /**
   * Endgame's candidates, reused from call to call (`duplicate`): each one's piece (its place
   * in the scan's list), block, requester count and holder. Never longer than the blocks of
   * the started pieces.
   */
  private readonly dupPiece: number[] = [];
  private readonly dupBlock: number[] = [];
  private readonly dupRequesters: number[] = [];
  /** The holder while scanning, then its rank by wait (`rankByWait`). */
  private readonly dupRank: number[] = [];
  private readonly order: PieceOrder;
  /** Level of each piece (piece-priority.ts); undefined while every piece is normal. */
  private prio: Uint8Array | undefined;
  /** Wanted pieces not verified yet. */
  private wantedLeft: number;
  /** Wanted pieces among the started ones. */
  private activeWanted = 0;
  /** Blocks received of started pieces (not verified yet). */
  private receivedBlocks = 0;

  constructor(opts: PickerOptions) {
    const { pieceCount, pieceLength, totalLength, have } = opts;
    const ok =
      Number.isSafeInteger(pieceCount) && pieceCount >= 1 &&
      Number.isSafeInteger(pieceLength) && pieceLength >= 1 &&
      Number.isSafeInteger(totalLength) &&
      totalLength > (pieceCount - 1) * pieceLength && totalLength <= pieceCount * pieceLength;
    if (!ok) throw new PickerError('picker-options', `inconsistent geometry: ${pieceCount} pieces of ${pieceLength}, ${totalLength} bytes`);
    if (have.size !== pieceCount) throw new PickerError('picker-options', `have has ${have.size} bits, expected ${pieceCount}`);
    this.pieceCount = pieceCount;
    this.pieceLength = pieceLength;
    this.totalLength = totalLength;
    this.blocksPerPiece = Math.ceil(pieceLength / BLOCK_SIZE);
    this.lastPieceLength = totalLength - (pieceCount - 1) * pieceLength;
    const rng = opts.rng ?? Math.random;
    this.maxRequesters = opts.maxRequestersPerBlock ?? 3;
    if (!(this.maxRequesters >= 1)) throw new PickerError('picker-options', 'maxRequestersPerBlock must be >= 1');
    this.endgameDepth = opts.endgameDepth ?? 4;
    if (!(this.endgameDepth >= 1)) throw new PickerError('picker-options', 'endgameDepth must be >= 1');
    this.ours = new Bitfield(pieceCount, have.bytes);
    this.rarity = new RarityOrder(pieceCount, (p) => !this.ours.has(p), rng);
    this.order = new PieceOrder(pieceCount, this.rarity, this.ours, rng, opts.randomFirst ?? 4);
    this.wantedLeft = pieceCount - this.ours.count;
  }

  /** Every wanted piece is verified (every piece, without priorities). */
  get done(): boolean {
    return this.wantedLeft === 0;
  }

  /** Every block still needed is requested or received (BEP 3 "end game"). */
  get endgame(): boolean {
    return !this.done && this.wantedLeft === this.activeWanted && this.open.size === 0;
  }

  /** Wanted pieces not verified yet. */
  get remaining(): number {
    return this.wantedLeft;
  }

  /** About how many blocks are still to arrive: of the wanted pieces not verified, those not received. */
  get blocksLeft(): number {
    return Math.max(0, this.wantedLeft * this.blocksPerPiece - this.receivedBlocks);
  }

  /** The piece's priority is not `skip`. */
  isWanted(piece: number): boolean {
    return this.prio === undefined || this.prio[piece]! !== SKIP;
  }

  get verifiedCount(): number {
    return this.ours.count;
  }

  // ---- priorities ----

  /**
   * Pieces to start before any other, most urgent first: a stream's read position and the
   * pieces after it (libtorrent's piece deadlines, WebTorrent's critical selections). Replaces
   * the previous list; indices out of range are ignored, and at most `MAX_URGENT` are kept.
   */
  setUrgent(pieces: readonly number[]): void {
    this.order.setUrgent(pieces);
    // A peer found to have nothing new may have an urgent piece now that was not a candidate before.
    for (const e of this.peers.values()) e.stale = false;
  }

  /**
   * One level per piece (`piecePriorities`), or undefined for all normal. Copied. Peers'
   * interest changes with it: the caller re-evaluates every peer (`isInteresting`).
   * O(pieces × peers / 8).
   */
  setPriorities(levels: Uint8Array | undefined): void {
    if (levels !== undefined && levels.length !== this.pieceCount) {
      throw new PickerError('picker-options', `${levels.length} piece priorities for ${this.pieceCount} pieces`);
    }
    this.prio = levels === undefined ? undefined : new Uint8Array(levels);
    const present = new Set<number>();
    if (levels === undefined) present.add(NORMAL);
    else for (const l of levels) if (l !== SKIP) present.add(l);
    this.order.setLevels(this.prio, [...present].sort((a, b) => b - a));
    this.wantedLeft = 0;
    for (let p = 0; p < this.pieceCount; p++) if (!this.ours.has(p) && this.isWanted(p)) this.wantedLeft++;
    this.activeWanted = 0;
    for (const p of this.active.keys()) if (this.isWanted(p)) this.activeWanted++;
    for (const e of this.peers.values()) {
      e.stale = false;
      if (e.seed) continue;
      e.wanted = 0;
      forEachSet(e.has, (p) => { if (!this.ours.has(p) && this.isWanted(p)) e.wanted++; });
    }
  }

  /** `--sequential`: start new pieces in index order instead of rarest first. */
  setSequential(on: boolean): void {
    this.order.setSequential(on);
  }

  // ---- peers and availability ----

  /**
   * Registers a peer with what it has (its bitfield, all for have_all, empty for have_none or
   * no bitfield). `has` is copied. Returns whether the peer is interesting. O(pieces it has).
   */
  addPeer(peer: PeerKey, has: Bitfield): boolean {
    if (!Number.isInteger(peer) || peer < 0 || peer > 0x7fffffff) throw new PickerError('picker-peer', `bad peer key ${peer}`);
    if (this.peers.has(peer)) throw new PickerError('picker-peer', `peer ${peer} added twice`);
    if (has.size !== this.pieceCount) throw new PickerError('picker-peer', `peer bitfield has ${has.size} bits, expected ${this.pieceCount}`);
    const seed = has.complete;
    const e: PeerEntry = {
      key: peer, has: seed ? has : new Bitfield(this.pieceCount, has.bytes), seed,
      wanted: 0, current: NONE, outstanding: new Set(), stale: false,
    };
    this.peers.set(peer, e);
    if (seed) this.seeds++;
    else forEachSet(e.has, (p) => this.countHave(e, p));
    return this.isInteresting(peer);
  }

  /** A `have` message. Returns true when it made the peer interesting. O(1). */
  peerHave(peer: PeerKey, piece: number): boolean {
    const e = this.entry(peer);
    this.checkPiece(piece);
    if (e.seed || !e.has.set(piece)) return false;
    this.countHave(e, piece);
    if (this.rarity.contains(piece)) e.stale = false;
    return e.wanted === 1 && !this.ours.has(piece) && this.isWanted(piece);
  }

  /** BEP 6 `have_all`. Returns true when it made the peer interesting. */
  peerHaveAll(peer: PeerKey): boolean {
    const e = this.entry(peer);
    if (e.seed) return false;
    const was = e.wanted > 0;
    forEachSet(e.has, (p) => this.rarity.decrement(p));
    e.seed = true;
    e.stale = false;
    this.seeds++;
    return !was && !this.done;
  }

  /** Forgets a peer and returns its outstanding blocks to "need". O(pieces it has). */
  removePeer(peer: PeerKey): void {
    const e = this.peers.get(peer);
    if (e === undefined) return;
    this.releaseAll(peer);
    if (e.seed) this.seeds--;
    else forEachSet(e.has, (p) => this.rarity.decrement(p));
    this.peers.delete(peer);
  }

  /** The peer has a wanted piece we have not verified. O(1). */
  isInteresting(peer: PeerKey): boolean {
    const e = this.entry(peer);
    return e.seed ? !this.done : e.wanted > 0;
  }

  /** Peers known to have `piece`, seeds included. */
  availability(piece: number): number {
    this.checkPiece(piece);
    return this.rarity.availability(piece) + this.seeds;
  }

  outstanding(peer: PeerKey): number {
    return this.peers.get(peer)?.outstanding.size ?? 0;
  }

  // ---- requests ----

  /** Up to `max` new requests for `peer`, in the order to send them (see the header). */
  pick(peer: PeerKey, max: number, opts?: PickOptions): BlockRequest[] {
    const e = this.entry(peer);
    const out: BlockRequest[] = [];
    // Also spares an uninteresting peer the walk over every candidate.
    if (max <= 0 || !this.isInteresting(peer)) return out;
    const newPieces = opts?.newPieces ?? true;
    let near = opts?.near;
    for (;;) {
      if (e.current !== NONE) {
        const d = this.active.get(e.current)!;
        this.takeUp(e, d, out, max);
        if (out.length >= max) return out;
        this.disown(d);
      }
      const next = this.findOrphan(e) ?? (newPieces ? this.startNew(e, near) : undefined);
      if (next === undefined) break;
      if (near !== undefined) near = next.piece + 1;
      next.owner = peer;
      e.current = next.piece;
      this.sync(next);
    }
    for (const p of this.open) {
      if (out.length >= max) return out;
      const d = this.active.get(p)!;
      if (this.peerHas(e, p) && !d.exclusive) this.takeDown(e, d, out, max, opts?.holderWait);
    }
    const room = this.endgameDepth - e.outstanding.size;
    if (this.endgame && room > 0) this.duplicate(e, out, Math.min(max, out.length + room), opts?.holderWait);
    return out;
  }

  /** A `piece` message arrived from `peer`. */
  onBlock(peer: PeerKey, piece: number, begin: number, length: number): BlockResult {
    const e = this.peers.get(peer);
    const d = this.active.get(piece);
    const b = begin / BLOCK_SIZE;
    if (e === undefined || d === undefined || !Number.isInteger(b) || b < 0 || b >= d.blocks || length !== this.blockLength(piece, b)) {
      return NOT_ASKED;
    }
    const id = this.blockId(piece, b);
    if (!e.outstanding.has(id)) return NOT_ASKED;
    // The block's requesters (`requesters`), walked without making their list.
    let cancelFrom: PeerKey[] | undefined;
    const first = d.who[b]!;
    const more = first === NONE ? undefined : this.extra.get(id);
    for (let k = first === NONE ? 0 : -1; k < (more?.length ?? 0); k++) {
      const r = k < 0 ? first : more![k]!;
      this.peers.get(r)!.outstanding.delete(id);
      if (r !== peer) (cancelFrom ??= []).push(r);
    }
    this.extra.delete(id);
    d.state[b] = RECEIVED;
    d.who[b] = peer;
    d.received++;
    this.receivedBlocks++;
    const pieceComplete = d.received === d.blocks;
    if (cancelFrom !== undefined) return { accepted: true, pieceComplete, cancelFrom };
    return pieceComplete ? COMPLETED : ACCEPTED;
  }

  /** Requests that will not be answered (choke, reject, timeout): their blocks go back to "need". */
  release(peer: PeerKey, reqs: Iterable<BlockRequest>): void {
    const e = this.peers.get(peer);
    if (e === undefined) return;
    for (const r of reqs) {
      const d = this.active.get(r.piece);
      const b = r.begin / BLOCK_SIZE;
      if (d === undefined || !Number.isInteger(b) || b < 0 || b >= d.blocks) continue;
      if (e.outstanding.has(this.blockId(r.piece, b))) this.releaseBlock(e, d, b);
    }
  }

  /** Releases every request of `peer` (it choked us without BEP 6). */
  releaseAll(peer: PeerKey): void {
    const e = this.peers.get(peer);
    if (e === undefined) return;
    for (const id of [...e.outstanding]) {
      const piece = Math.floor(id / this.blocksPerPiece);
      this.releaseBlock(e, this.active.get(piece)!, id - piece * this.blocksPerPiece);
    }
    if (e.current !== NONE) this.disown(this.active.get(e.current)!);
  }

  /**
   * The piece passed its hash (or was found complete on disk). Returns the peers that are no
   * longer interesting because of it, so the caller can send `not interested`. O(peers).
   */
  pieceVerified(piece: number): PeerKey[] {
    this.checkPiece(piece);
    if (this.ours.has(piece)) return [];
    const d = this.active.get(piece);
    if (d !== undefined) {
      if (d.received !== d.blocks) throw new PickerError('picker-state', `piece ${piece} verified before all blocks arrived`);
      this.receivedBlocks -= d.received;
      this.disown(d);
      this.active.delete(piece);
      this.open.delete(piece);
      this.orphans.delete(piece);
    } else {
      this.rarity.remove(piece);
    }
    this.ours.set(piece);
    const wanted = this.isWanted(piece);
    if (wanted) {
      this.wantedLeft--;
      if (d !== undefined) this.activeWanted--;
    }
    const bored: PeerKey[] = [];
    for (const e of this.peers.values()) {
      if (e.seed) {
        if (this.done) bored.push(e.key);
      } else if (wanted && e.has.has(piece) && --e.wanted === 0) {
        bored.push(e.key);
      }
    }
    return bored;
  }

  /**
   * The piece failed its hash: every block goes back to "need" and the piece is fetched
   * again before new ones, by one peer alone (no step 4 or endgame help), so that a second
   * failure has a single culprit. Returns the peers that sent its blocks.
   */
  pieceFailed(piece: number): PeerKey[] {
    this.checkPiece(piece);
    const d = this.active.get(piece);
    if (d === undefined || d.received !== d.blocks) throw new PickerError('picker-state', `piece ${piece} failed before all blocks arrived`);
    const senders = new Set<PeerKey>(d.who);
    d.state.fill(NEED);
    d.who.fill(NONE);
    d.need = d.blocks;
    this.receivedBlocks -= d.received;
    d.received = 0;
    d.cursor = 0;
    d.exclusive = true;
    this.sync(d);
    return [...senders];
  }

  // ---- introspection (tests, status) ----

  blockState(piece: number, block: number): BlockState {
    this.checkPiece(piece);
    if (this.ours.has(piece)) return 'verified';
    const d = this.active.get(piece);
    if (d === undefined) return 'need';
    if (!Number.isInteger(block) || block < 0 || block >= d.blocks) throw new PickerError('picker-range', `block ${block} out of range`);
    return (['need', 'requested', 'received'] as const)[d.state[block]!]!;
  }

  /** Peers the block is requested from. */
  requestersOf(piece: number, block: number): PeerKey[] {
    const d = this.active.get(piece);
    return d === undefined || d.state[block] !== REQUESTED ? [] : this.requesters(d, block);
  }

  /** Throws if any bookkeeping disagrees with any other. O(everything); for tests. */
  checkInvariants(): void {
    const fail = (msg: string): never => {
      throw new PickerError('picker-invariant', msg);
    };
    this.rarity.check();
    const avail = new Int32Array(this.pieceCount);
    let seeds = 0;
    const ids = new Map<number, number>();
    for (const e of this.peers.values()) {
      if (e.seed) seeds++;
      let wanted = 0;
      if (!e.seed) forEachSet(e.has, (p) => { avail[p]!++; if (!this.ours.has(p) && this.isWanted(p)) wanted++; });
      if (!e.seed && wanted !== e.wanted) fail(`peer ${e.key}: wanted ${e.wanted}, counted ${wanted}`);
      if (e.current !== NONE && this.active.get(e.current)?.owner !== e.key) fail(`peer ${e.key}: current ${e.current} not owned`);
      for (const id of e.outstanding) {
        const piece = Math.floor(id / this.blocksPerPiece);
        const b = id - piece * this.blocksPerPiece;
        const d = this.active.get(piece);
        if (d === undefined || d.state[b] !== REQUESTED) fail(`peer ${e.key}: outstanding ${piece}/${b} not requested`);
        if (!this.requesters(d!, b).includes(e.key)) fail(`peer ${e.key}: outstanding ${piece}/${b} not in requesters`);
        if (!this.peerHas(e, piece)) fail(`peer ${e.key}: requested piece ${piece} it lacks`);
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    if (seeds !== this.seeds) fail(`seeds ${this.seeds}, counted ${seeds}`);
    for (let p = 0; p < this.pieceCount; p++) {
      if (avail[p] !== this.rarity.availability(p)) fail(`piece ${p}: availability ${this.rarity.availability(p)}, counted ${avail[p]}`);
      const states = Number(this.ours.has(p)) + Number(this.active.has(p)) + Number(this.rarity.contains(p));
      if (states !== 1) fail(`piece ${p} is in ${states} of verified/started/candidate`);
    }
    for (const d of this.active.values()) {
      let need = 0;
      let received = 0;
      for (let b = 0; b < d.blocks; b++) {
        const id = this.blockId(d.piece, b);
        const n = d.state[b] === REQUESTED ? this.requesters(d, b).length : 0;
        if (d.state[b] === NEED) { need++; if (b < d.cursor) fail(`piece ${d.piece}: need block ${b} below cursor`); }
        if (d.state[b] === RECEIVED) received++;
        if (n !== (ids.get(id) ?? 0)) fail(`piece ${d.piece}/${b}: ${n} requesters, ${ids.get(id) ?? 0} outstanding`);
        if (d.state[b] === REQUESTED && (n < 1 || n > this.maxRequesters)) fail(`piece ${d.piece}/${b}: ${n} requesters`);
        if (d.state[b] !== REQUESTED && this.extra.has(id)) fail(`piece ${d.piece}/${b}: stale extra requesters`);
      }
      if (need !== d.need || received !== d.received) fail(`piece ${d.piece}: counts ${d.need}/${d.received}, counted ${need}/${received}`);
      if (this.open.has(d.piece) !== need > 0) fail(`piece ${d.piece}: open set disagrees`);
      if (this.orphans.has(d.piece) !== (need > 0 && d.owner === NONE)) fail(`piece ${d.piece}: orphan set disagrees`);
      if (d.owner !== NONE && this.peers.get(d.owner)?.current !== d.piece) fail(`piece ${d.piece}: owner ${d.owner} does not fill it`);
    }
    let receivedBlocks = 0;
    for (const d of this.active.values()) receivedBlocks += d.received;
    if (receivedBlocks !== this.receivedBlocks) fail(`received blocks ${this.receivedBlocks}, counted ${receivedBlocks}`);
    for (const p of this.open) if (!this.active.has(p)) fail(`open piece ${p} not started`);
    let left = 0;
    for (let p = 0; p < this.pieceCount; p++) if (!this.ours.has(p) && this.isWanted(p)) left++;
    if (left !== this.wantedLeft) fail(`wanted left ${this.wantedLeft}, counted ${left}`);
    const activeWanted = [...this.active.keys()].filter((p) => this.isWanted(p)).length;
    if (activeWanted !== this.activeWanted) fail(`wanted started ${this.activeWanted}, counted ${activeWanted}`);
  }

  // ---- internals ----

  private entry(peer: PeerKey): PeerEntry {
    const e = this.peers.get(peer);
    if (e === undefined) throw new PickerError('picker-peer', `unknown peer ${peer}`);
    return e;
  }

  private checkPiece(piece: number): void {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) throw new PickerError('picker-range', `piece ${piece} out of range`);
  }

  private countHave(e: PeerEntry, piece: number): void {
    this.rarity.increment(piece);
    if (!this.ours.has(piece) && this.isWanted(piece)) e.wanted++;
  }

  private peerHas(e: PeerEntry, piece: number): boolean {
    return e.seed || e.has.has(piece);
  }

  private blockId(piece: number, block: number): number {
    return piece * this.blocksPerPiece + block;
  }

  private blockLength(piece: number, block: number): number {
    const len = piece === this.pieceCount - 1 ? this.lastPieceLength : this.pieceLength;
    return Math.min(BLOCK_SIZE, len - block * BLOCK_SIZE);
  }

  private requesters(d: Download, b: number): PeerKey[] {
    if (d.who[b] === NONE) return [];
    const more = this.extra.get(this.blockId(d.piece, b));
    return more === undefined ? [d.who[b]!] : [d.who[b]!, ...more];
  }

  /** Keeps `open` and `orphans` in step with a piece's counts and owner. */
  private sync(d: Download): void {
    if (d.need > 0) {
      this.open.add(d.piece);
      if (d.owner === NONE) this.orphans.add(d.piece);
      else this.orphans.delete(d.piece);
    } else {
      this.open.delete(d.piece);
      this.orphans.delete(d.piece);
    }
  }

  private disown(d: Download): void {
    if (d.owner === NONE) return;
    this.peers.get(d.owner)!.current = NONE;
    d.owner = NONE;
    this.sync(d);
  }

  private findOrphan(e: PeerEntry): Download | undefined {
    for (const p of this.orphans) if (this.peerHas(e, p)) return this.active.get(p);
    return undefined;
  }

  private startNew(e: PeerEntry, near: number | undefined): Download | undefined {
    if (e.stale) return undefined;
    const p = this.order.next({ seed: e.seed, has: (q) => this.peerHas(e, q) }, near, (q) => this.isWanted(q));
    if (p === NONE) {
      e.stale = true;
      return undefined;
    }
    this.rarity.remove(p);
    if (this.isWanted(p)) this.activeWanted++;
    const d = new Download(p, p === this.pieceCount - 1 ? Math.ceil(this.lastPieceLength / BLOCK_SIZE) : this.blocksPerPiece);
    this.active.set(p, d);
    return d;
  }

  /** Step 1: this peer's own piece, ascending. */
  private takeUp(e: PeerEntry, d: Download, out: BlockRequest[], max: number): void {
    while (out.length < max && d.need > 0) {
      while (d.state[d.cursor] !== NEED) d.cursor++;
      this.request(e, d, d.cursor, out);
    }
    this.sync(d);
  }

  /**
   * Step 4: someone else's piece, from the top end. With `wait`, only while this peer will
   * have sent what it is asked no later than the piece's filler will (piece affinity): a
   * slower peer never takes the last blocks of a piece a faster one is filling, which would
   * then wait for it. A source whose wait is unknown (a web seed) helps as before.
   */
  private takeDown(e: PeerEntry, d: Download, out: BlockRequest[], max: number, wait: ((peer: PeerKey) => number) | undefined): void {
    const filler = d.owner;
    const inTime =
      wait === undefined || filler === NONE
        ? (): boolean => true
        : (): boolean => {
            const own = wait(e.key);
            return own <= wait(filler) || own === Number.MAX_SAFE_INTEGER;
          };
    for (let b = d.blocks - 1; b >= d.cursor && out.length < max && d.need > 0 && inTime(); b--) {
      if (d.state[b] === NEED) this.request(e, d, b, out);
    }
    this.sync(d);
  }

  private request(e: PeerEntry, d: Download, b: number, out: BlockRequest[]): void {
    d.state[b] = REQUESTED;
    d.who[b] = e.key;
    d.need--;
    e.outstanding.add(this.blockId(d.piece, b));
    out.push({ piece: d.piece, begin: b * BLOCK_SIZE, length: this.blockLength(d.piece, b) });
  }

  /**
   * Step 5: endgame duplicates, in the order of the header: blocks with the fewest requesters
   * first, then the longest wait for their holder, then the newest piece's top block. One
   * pass over the pieces finds them all: the block taken at one count is this peer's then, so
   * it is not a candidate at the next, and a scan per count found the same blocks again.
   */
  private duplicate(e: PeerEntry, out: BlockRequest[], max: number, wait: ((peer: PeerKey) => number) | undefined): void {
    const own = wait === undefined ? 0 : wait(e.key);
    // A holder's wait, asked once per call: the scan meets each holder at every block it
    // holds, and with twenty peers in endgame the asking was a third of this step's time.
    const waits = new Map<PeerKey, number>();
    const holderWait = (peer: PeerKey): number => {
      let w = waits.get(peer);
      if (w === undefined) waits.set(peer, (w = wait!(peer)));
      return w;
    };
    const pieces = [...this.active.values()];
    const { dupPiece, dupBlock, dupRequesters, dupRank } = this;
    let n = 0;
    for (let i = pieces.length - 1; i >= 0; i--) {
      const d = pieces[i]!;
      if (!this.peerHas(e, d.piece) || d.exclusive) continue;
      for (let b = d.blocks - 1; b >= 0; b--) {
        if (d.state[b] !== REQUESTED) continue;
        const id = this.blockId(d.piece, b);
        const requesters = (this.extra.get(id)?.length ?? 0) + 1;
        if (requesters >= this.maxRequesters || e.outstanding.has(id)) continue;
        if (wait !== undefined && !(holderWait(d.who[b]!) > own)) continue;
        dupPiece[n] = i;
        dupBlock[n] = b;
        dupRequesters[n] = requesters;
        dupRank[n++] = d.who[b]!;
      }
    }
    const ranks = rankByWait(waits);
    for (let c = 0; c < n; c++) dupRank[c] = ranks.get(dupRank[c]!) ?? 0;
    for (const c of bestCandidates(dupRequesters, dupRank, n, max - out.length)) {
      const d = pieces[dupPiece[c]!]!;
      const b = dupBlock[c]!;
      const id = this.blockId(d.piece, b);
      const more = this.extra.get(id);
      if (more === undefined) this.extra.set(id, [e.key]);
      else more.push(e.key);
      e.outstanding.add(id);
      out.push({ piece: d.piece, begin: b * BLOCK_SIZE, length: this.blockLength(d.piece, b) });
    }
  }

  private releaseBlock(e: PeerEntry, d: Download, b: number): void {
    const id = this.blockId(d.piece, b);
    e.outstanding.delete(id);
    const more = this.extra.get(id);
    if (d.who[b] === e.key) d.who[b] = more?.shift() ?? NONE;
    else if (more !== undefined && more.includes(e.key)) more.splice(more.indexOf(e.key), 1);
    if (more !== undefined && more.length === 0) this.extra.delete(id);
    if (d.who[b] === NONE) {
      d.state[b] = NEED;
      d.need++;
      if (b < d.cursor) d.cursor = b;
    }
    // A peer that drops a request gives up the piece it was filling; whoever picks next
    // finishes it (step 2).
    if (d.owner === e.key) this.disown(d);
    this.sync(d);
  }
}
