/**
 * A swarm's sources of blocks that are not peer connections (web seeds, see src/webseed).
 * Each takes picker keys of its own; the swarm fills them on every refill and tick, blames the
 * one behind a piece that failed its hash, counts their bytes and stops them with itself.
 */
import type { BlockSource } from './swarm-types.js';

export class BlockSources {
  /** Every source once, whatever the number of keys it took. */
  private readonly all = new Set<BlockSource>();
  private readonly byKey = new Map<number, BlockSource>();
  private stopped = false;

  /** Adds `source` under the picker `keys` it took; one added after `stop` is stopped at once. */
  add(source: BlockSource, keys: readonly number[]): void {
    if (this.stopped) {
      source.stop();
      return;
    }
    this.all.add(source);
    for (const k of keys) this.byKey.set(k, source);
  }

  fill(): void {
    for (const s of this.all) s.fill();
  }

  blame(key: number, reason: string): void {
    this.byKey.get(key)?.blame(key, reason);
  }

  /** Bytes received from them all. */
  get bytes(): number {
    let n = 0;
    for (const s of this.all) n += s.bytes;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.all) s.stop();
  }
}
