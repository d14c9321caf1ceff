/**
 * A string DSL for picker tests, after libtorrent's `setup_picker("1111111", ...)`:
 * `setup({ have: '0010', avail: ['1111', '0110'] })` builds a picker whose own pieces are
 * `have` and adds one peer per `avail` string (keys 0, 1, ...). The returned picker checks
 * every invariant after each method call (STYLE.md §7).
 */
import { Bitfield } from '../../src/util/bitfield.js';
import { BLOCK_SIZE, Picker } from '../../src/swarm/picker.js';
import { seeded } from '../helpers/random.js';

export { seeded };

export function bf(bits: string): Bitfield {
  const b = new Bitfield(bits.length);
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') b.set(i);
  return b;
}

/** Wraps a picker so that every method call is followed by `checkInvariants()`. */
export function checked(p: Picker): Picker {
  return new Proxy(p, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function' || prop === 'checkInvariants') return v;
      const fn = v as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const r = fn.apply(target, args);
        target.checkInvariants();
        return r;
      };
    },
  });
}

export interface Setup {
  have: string;
  avail?: string[];
  /** Blocks per piece (default 1); the last piece may be shorter via `lastPieceBytes`. */
  blocks?: number;
  lastPieceBytes?: number;
  seed?: number;
  randomFirst?: number;
  maxRequestersPerBlock?: number;
  endgameDepth?: number;
}

export function setup(s: Setup): Picker {
  const pieceCount = s.have.length;
  const pieceLength = (s.blocks ?? 1) * BLOCK_SIZE;
  const totalLength = (pieceCount - 1) * pieceLength + (s.lastPieceBytes ?? pieceLength);
  const p = checked(
    new Picker({
      pieceCount,
      pieceLength,
      totalLength,
      have: bf(s.have),
      rng: seeded(s.seed ?? 1),
      randomFirst: s.randomFirst ?? 0,
      maxRequestersPerBlock: s.maxRequestersPerBlock ?? 3,
      ...(s.endgameDepth === undefined ? {} : { endgameDepth: s.endgameDepth }),
    }),
  );
  (s.avail ?? []).forEach((bits, key) => p.addPeer(key, bf(bits)));
  return p;
}

/** `piece/block` labels of requests, e.g. `['3/0', '3/1']`. */
export function labels(reqs: readonly { piece: number; begin: number }[]): string[] {
  return reqs.map((r) => `${r.piece}/${r.begin / BLOCK_SIZE}`);
}

/** Delivers every request as if the peer answered it; returns the completed pieces. */
export function deliver(p: Picker, peer: number, reqs: readonly { piece: number; begin: number; length: number }[]): number[] {
  const done: number[] = [];
  for (const r of reqs) {
    const res = p.onBlock(peer, r.piece, r.begin, r.length);
    if (res.pieceComplete) done.push(r.piece);
  }
  return done;
}
