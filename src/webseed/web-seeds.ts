/**
 * The web seeds of one torrent, as one block source of its swarm: each URL is a `WebSeed`
 * with its own picker key, requests and back-off; the swarm fills them on every refill and
 * tick and blames one when its bytes fail a hash.
 */
import type { BlockSource, BlockSourceHost } from '../swarm/swarm-types.js';
import { RangePlanner } from './plan.js';
import { WebSeed, type WebSeedOptions, type WebSeedStats, type WebSeedTorrent } from './seed.js';
import { parseWebSeedUrl } from './url.js';

/** Web seeds used at once per torrent; the rest of a longer list is ignored. */
export const MAX_WEB_SEEDS = 16;

export class WebSeeds implements BlockSource {
  private readonly seeds: WebSeed[] = [];

  /** URLs that are not http(s) are skipped (`skipped` says which, for a warning). */
  readonly skipped: string[] = [];

  constructor(urls: readonly string[], torrent: WebSeedTorrent, host: BlockSourceHost, opts: WebSeedOptions) {
    const planner = new RangePlanner(torrent.files);
    const seen = new Set<string>();
    for (const raw of urls) {
      let url: URL;
      try {
        url = parseWebSeedUrl(raw);
      } catch {
        this.skipped.push(raw);
        continue;
      }
      if (seen.has(url.href) || seen.size >= MAX_WEB_SEEDS) continue;
      seen.add(url.href);
      this.seeds.push(new WebSeed(url, torrent, host, planner, opts));
    }
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.seeds) n += s.stats.bytes;
    return n;
  }

  get stats(): WebSeedStats[] {
    return this.seeds.map((s) => s.stats);
  }

  fill(): void {
    for (const s of this.seeds) s.fill();
  }

  blame(key: number, reason: string): void {
    this.seeds.find((s) => s.key === key)?.blame(reason);
  }

  stop(): void {
    for (const s of this.seeds) s.stop();
  }
}
