/**
 * BEP 12 multitracker: tiers of announce URLs. Each tier is shuffled once; URLs are tried
 * in order, tier by tier, and the URL that answers moves to the front of its tier so the
 * next announce starts there. The set also remembers each tracker's `tracker id` and uses
 * one random `key` for all of them.
 */
import { announce, type TrackerOptions } from './announce.js';
import { TrackerError } from './errors.js';
import type { AnnounceParams, AnnounceResult } from './types.js';

export interface TrackerSetOptions extends TrackerOptions {
  /** Uniform in [0, 1): shuffles the tiers and draws the key (default Math.random). */
  readonly random?: () => number;
}

export type AnnounceOutcome = { readonly url: string; readonly result: AnnounceResult } | { readonly url: string; readonly error: TrackerError };

/** Every tracker of a set failed; `failures` has each one, in the order they were tried. */
export class TrackerSetError extends TrackerError {
  readonly failures: readonly { readonly url: string; readonly error: TrackerError }[];
  constructor(failures: readonly { url: string; error: TrackerError }[]) {
    const list = failures.map((f) => `${f.url}: ${f.error.message}`).join('; ');
    super('tracker-all-failed', failures.length === 0 ? 'no trackers' : `all ${failures.length} trackers failed: ${list}`);
    this.failures = failures;
  }
}

export class TrackerSet {
  private readonly tierList: string[][];
  private readonly opts: TrackerOptions;
  private readonly key: number;
  private readonly trackerIds = new Map<string, string>();

  constructor(tiers: readonly (readonly string[])[], opts: TrackerSetOptions = {}) {
    const random = opts.random ?? Math.random;
    const seen = new Set<string>();
    this.tierList = [];
    for (const tier of tiers) {
      const urls = tier.filter((u) => {
        if (u === '' || seen.has(u)) return false;
        seen.add(u);
        return true;
      });
      if (urls.length > 0) this.tierList.push(shuffle(urls, random));
    }
    this.key = Math.floor(random() * 0x1_0000_0000) >>> 0;
    this.opts = opts;
  }

  /** The current order, tier by tier (a copy). */
  get tiers(): string[][] {
    return this.tierList.map((t) => [...t]);
  }

  get urls(): string[] {
    return this.tierList.flat();
  }

  /** BEP 12 order: the first tracker that answers wins; throws `TrackerSetError` when none does. */
  async announce(params: AnnounceParams): Promise<{ url: string; result: AnnounceResult }> {
    const failures: { url: string; error: TrackerError }[] = [];
    for (const tier of this.tierList) {
      for (let i = 0; i < tier.length; i++) {
        const url = tier[i]!;
        if (params.signal?.aborted === true) throw new TrackerError('tracker-aborted', 'announce aborted');
        const outcome = await this.announceTo(url, params);
        if ('result' in outcome) return { url, result: outcome.result };
        if (outcome.error.code === 'tracker-aborted') throw outcome.error;
        failures.push({ url, error: outcome.error });
      }
    }
    throw new TrackerSetError(failures);
  }

  /**
   * One tracker of the set, with its `tracker id` and the set's key; never throws. A tracker
   * that answers moves to the front of its tier, so the next BEP 12 walk starts there.
   */
  async announceTo(url: string, params: AnnounceParams): Promise<AnnounceOutcome> {
    const outcome = await this.one(url, params);
    if ('result' in outcome) {
      const tier = this.tierList.find((t) => t.includes(url));
      if (tier !== undefined) tier.unshift(...tier.splice(tier.indexOf(url), 1));
    }
    return outcome;
  }

  /** Every tracker (or the `only` ones) at once, each with its result or its error (for `tessera peers`). */
  announceAll(params: AnnounceParams, only: readonly string[] = this.urls): Promise<AnnounceOutcome[]> {
    return Promise.all(only.map((url) => this.one(url, params)));
  }

  private async one(url: string, params: AnnounceParams): Promise<AnnounceOutcome> {
    const trackerId = this.trackerIds.get(url);
    try {
      const result = await announce(
        url,
        { ...params, key: params.key ?? this.key, ...(trackerId === undefined ? {} : { trackerId }) },
        this.opts,
      );
      if (result.trackerId !== undefined) this.trackerIds.set(url, result.trackerId);
      return { url, result };
    } catch (err) {
      const error = err instanceof TrackerError ? err : new TrackerError('tracker-network', err instanceof Error ? err.message : String(err), { cause: err });
      return { url, error };
    }
  }
}

/** Fisher–Yates, as BEP 12 asks: "shuffled randomly" within each tier. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
